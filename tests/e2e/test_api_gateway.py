"""The local API Gateway refuses what API Gateway refuses, in the template's response shapes."""

from __future__ import annotations

import uuid

import pytest
import requests

from vsent.client.api import ApiClient, ApiError
from vsent.local_info import StackInfo


def test_requests_without_a_valid_key_or_token_are_unauthorized(stack: StackInfo) -> None:
    for headers in (
        {},
        {"x-api-key": "not-a-key"},
        {"Authorization": "Bearer not.a.token"},
        {"Authorization": f"Bearer {stack.api_key}"},
    ):
        response = requests.get(f"{stack.api_url}/jobs/{uuid.uuid4().hex}", headers=headers)
        assert response.status_code == 401, headers
        assert response.json()["error"]["code"] == "unauthorized"


def test_unknown_route_answers_like_the_gateway(stack: StackInfo) -> None:
    response = requests.get(f"{stack.api_url}/nowhere", headers={"x-api-key": stack.api_key})
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


def test_a_job_that_does_not_exist_is_not_found(client: ApiClient) -> None:
    with pytest.raises(ApiError) as raised:
        client.get_job(uuid.uuid4().hex)
    assert raised.value.status == 404
