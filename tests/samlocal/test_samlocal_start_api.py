"""`sam local start-api`: the API's routes answered over HTTP on 127.0.0.1 by the api function in
its Lambda container, behind the authorizer function (SAM local runs Lambda authorizers), which
finds the seeded user's key in the keys table in moto."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest
from samlocal_stack import EVENT_FILENAME, START_API_KEY, Tier, new_job_id, upload_key


@pytest.fixture(scope="module")
def api_url(tier: Tier) -> Iterator[str]:
    """The base URL of `sam local start-api`, stopped after this module."""
    with tier.sam.start_api(tier.env_vars) as url:
        yield url


def _request(
    url: str, method: str = "GET", body: Any = None, key: str = START_API_KEY
) -> tuple[int, Any]:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(
        url,
        data=data,
        method=method,
        headers={"x-api-key": key, "Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=120) as response:
            status, raw = response.status, response.read()
    except urllib.error.HTTPError as exc:
        status, raw = exc.code, exc.read()
    return status, json.loads(raw) if raw else None


def test_post_uploads_then_get_the_job(api_url: str) -> None:
    status, created = _request(
        f"{api_url}/uploads",
        "POST",
        {"filename": EVENT_FILENAME, "content_type": "video/mp4", "size_bytes": 2048},
    )
    assert status == 201, f"POST /uploads answered {status} {created}"
    job_id = created["job_id"]
    assert created["key"] == upload_key(job_id)

    status, job = _request(f"{api_url}/jobs/{job_id}")

    assert status == 200, job
    assert job["job_id"] == job_id
    assert job["status"] == "AWAITING_UPLOAD"


def test_get_an_unknown_job_is_404(api_url: str) -> None:
    status, body = _request(f"{api_url}/jobs/{new_job_id()}")

    assert status == 404, body
    assert body["error"]["code"] == "not_found"


def test_an_unknown_key_is_refused_by_the_authorizer(api_url: str) -> None:
    status, body = _request(f"{api_url}/jobs", key="not-a-key-of-anyone")

    # API Gateway answers the authorizer's "Unauthorized" with 401; SAM local with 502. Either
    # way the api function never runs.
    assert status == 502, body
