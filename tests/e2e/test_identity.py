"""Users on the local stack, as on AWS: sign up and in with Cognito (moto), API keys of their own
made with a token, each user's jobs theirs alone, revocation at once, and the operator (SigV4)
alone seeing the jobs of videos put straight into the bucket."""

from __future__ import annotations

import base64
import json
import time
import uuid
from collections.abc import Callable
from typing import Any

import boto3
import pytest
import requests

from vsent.client.api import ApiClient, ApiError
from vsent.client.auth import BearerAuth, CognitoConfig, SigV4RequestAuth, confirm, sign_in, sign_up
from vsent.client.settings import ClientSettings
from vsent.local_info import LOCAL_CREDENTIALS, StackInfo

PASSWORD = "Correct-Horse-42-battery"


@pytest.fixture(scope="module")
def cognito(stack: StackInfo) -> CognitoConfig:
    return CognitoConfig(stack.user_pool_client_id, stack.region, stack.cognito_endpoint_url)


@pytest.fixture(scope="module")
def new_user(stack: StackInfo, cognito: CognitoConfig) -> Callable[[], ApiClient]:
    """A fresh user, signed up, confirmed and signed in; their client acts with their token."""

    def make() -> ApiClient:
        email = f"user-{uuid.uuid4().hex[:8]}@example.com"
        sign_up(cognito, email, PASSWORD)
        confirm(cognito, email, "123456")  # moto accepts any code; Cognito e-mails one
        session = sign_in(cognito, email, PASSWORD)
        return ApiClient(stack.api_url, auth=BearerAuth(stack.api_url, session))

    return make


def _created_job(client: ApiClient) -> dict[str, Any]:
    return client.create_upload("talk.mp4", "video/mp4", 1024)


def test_a_user_signs_up_makes_a_key_and_both_act_for_the_same_user(
    stack: StackInfo, new_user: Callable[[], ApiClient]
) -> None:
    user = new_user()
    created = user.create_key("batch")
    by_key = ApiClient(stack.api_url, created["value"])

    job = _created_job(by_key)

    assert created["value"].startswith("vsk_")
    assert [key["key_id"] for key in user.list_keys()] == [created["key_id"]]
    assert "value" not in user.list_keys()[0]
    assert user.get_job(job["job_id"])["status"] == "AWAITING_UPLOAD"
    assert job["job_id"] in {j["job_id"] for j in by_key.list_jobs()}
    usage = user.usage()
    metered = {row["key_id"]: row["used"] for row in usage["keys"]}
    assert metered[created["key_id"]] >= 1
    assert usage["token_requests"]["used"] >= 1
    assert usage["quota"]["period"] == "MONTH"


def test_two_users_never_see_each_others_jobs(new_user: Callable[[], ApiClient]) -> None:
    alice, bob = new_user(), new_user()
    job = _created_job(alice)

    with pytest.raises(ApiError) as by_id:
        bob.get_job(job["job_id"])
    with pytest.raises(ApiError) as by_key:
        bob.find_by_key(job["key"])
    with pytest.raises(ApiError) as deleted:
        bob.delete_job(job["job_id"])

    assert by_id.value.status == by_key.value.status == deleted.value.status == 404
    assert job["job_id"] not in {j["job_id"] for j in bob.list_jobs()}
    assert alice.get_job(job["job_id"])["job_id"] == job["job_id"]


def test_a_revoked_key_stops_at_once_and_the_users_jobs_stay(
    stack: StackInfo, new_user: Callable[[], ApiClient]
) -> None:
    user = new_user()
    first, second = user.create_key("first"), user.create_key("second")
    job = _created_job(ApiClient(stack.api_url, first["value"]))

    user.revoke_key(first["key_id"])

    with pytest.raises(ApiError) as refused:
        ApiClient(stack.api_url, first["value"]).list_keys()
    assert refused.value.status == 401
    assert ApiClient(stack.api_url, second["value"]).get_job(job["job_id"])["job_id"]
    assert user.get_job(job["job_id"])["job_id"] == job["job_id"]
    assert [key["key_id"] for key in user.list_keys()] == [second["key_id"]]


def test_keys_are_managed_with_a_token_only(
    stack: StackInfo, new_user: Callable[[], ApiClient]
) -> None:
    user = new_user()
    key = ApiClient(stack.api_url, user.create_key("script")["value"])

    with pytest.raises(ApiError) as minted:
        key.create_key("another")
    with pytest.raises(ApiError) as revoked:
        key.revoke_key(user.list_keys()[0]["key_id"])

    assert minted.value.status == revoked.value.status == 403


def test_a_token_with_a_forged_subject_is_refused(stack: StackInfo, cognito: CognitoConfig) -> None:
    email = f"user-{uuid.uuid4().hex[:8]}@example.com"
    sign_up(cognito, email, PASSWORD)
    confirm(cognito, email, "123456")
    header, payload, signature = sign_in(cognito, email, PASSWORD).id_token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims["sub"] = str(uuid.uuid4())
    forged = base64.urlsafe_b64encode(json.dumps(claims).encode()).decode().rstrip("=")

    response = requests.get(
        f"{stack.api_url}/jobs",
        headers={"Authorization": f"Bearer {header}.{forged}.{signature}"},
        timeout=30,
    )

    assert response.status_code == 401


def _direct_job(stack: StackInfo, operator: ApiClient, key: str) -> dict[str, Any]:
    deadline = time.monotonic() + 60
    while True:
        try:
            return operator.find_by_key(key)[0]
        except ApiError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.5)


def test_only_the_operator_sees_a_video_put_straight_into_the_bucket(
    stack: StackInfo, settings: ClientSettings, client: ApiClient
) -> None:
    key = f"uploads/board-meeting-{uuid.uuid4().hex[:6]}.mp4"
    s3 = stack.aws_client("s3")
    s3.put_object(Bucket=stack.bucket, Key=key, Body=b"not really a video")
    operator = settings.client(operator=True)

    job = _direct_job(stack, operator, key)

    assert operator.get_job(job["job_id"])["key"] == key
    assert job["job_id"] in {j["job_id"] for j in operator.list_jobs()}
    for attempt in (lambda: client.find_by_key(key), lambda: client.get_job(job["job_id"])):
        with pytest.raises(ApiError) as hidden:
            attempt()
        assert hidden.value.status == 404
    # The operator routes take no key or token, and no signature of an unknown secret.
    url = f"{stack.api_url}/operator/jobs/{job['job_id']}"
    assert requests.get(url, headers={"x-api-key": stack.api_key}, timeout=30).status_code == 404
    forged = SigV4RequestAuth(
        boto3.session.Session(
            aws_access_key_id=LOCAL_CREDENTIALS["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key="not-the-secret",
        )
        .get_credentials()
        .get_frozen_credentials(),
        stack.region,
    )
    assert requests.get(url, auth=forged, timeout=30).status_code == 403
