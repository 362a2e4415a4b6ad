"""Attacks on identity (issue 16, M1 and L1): a tenant reaching the jobs of direct uploads (the
API showed them to every key), a forged operator, a spoofed x-api-key taken as the owner under
`sam local` (the raw header was the owner, stored in rows, metadata and tokens)."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
from identity_support import authorizer_event
from support import ACCOUNT, USER_A, api_event, call_api, operator_event

from vs_common.identity import hash_key

DIRECT_JOB = "d" * 32
DIRECT_KEY = "uploads/board-meeting-q3.mp4"


@pytest.fixture
def api(load_function):
    return load_function("api")


def _direct_job(stack) -> None:
    stack.table.put_item(
        Item={
            "job_id": DIRECT_JOB,
            "owner": "direct",
            "status": "COMPLETED",
            "created_at": "2026-01-01T00:00:00.000000Z",
            "updated_at": "2026-01-01T00:00:00.000000Z",
            "object_key": DIRECT_KEY,
            "filename": "board-meeting-q3.mp4",
            "result_json": json.dumps({"utterances": [{"text": "the merger is off"}]}),
        }
    )


def _by_id(name: str = "api_get_job") -> dict[str, Any]:
    return {"path": f"/jobs/{DIRECT_JOB}", "path_params": {"job_id": DIRECT_JOB}, "name": name}


@pytest.mark.parametrize("auth", ["token", "key"])
def test_m1_a_tenant_never_reaches_a_direct_upload(stack, api, context, auth):
    _direct_job(stack)
    events = [
        api_event("api_find_job_by_key", query={"key": DIRECT_KEY}),
        api_event("api_get_job", path=f"/jobs/{DIRECT_JOB}", path_params={"job_id": DIRECT_JOB}),
        api_event("api_delete_job", path=f"/jobs/{DIRECT_JOB}", path_params={"job_id": DIRECT_JOB}),
    ]
    for event in events:
        event["requestContext"]["authorizer"]["auth"] = auth
        status, body = call_api(api, context, event)
        assert status == 404, (event["httpMethod"], body)
        assert "merger" not in json.dumps(body)
    listed = call_api(api, context, api_event("api_list_jobs"))[1]
    assert DIRECT_JOB not in json.dumps(listed)
    assert stack.item(DIRECT_JOB) is not None


def test_m1_the_owner_direct_is_no_identity_a_tenant_can_claim(stack, api, context):
    _direct_job(stack)
    spoofed = api_event("api_get_job", owner="direct", **{k: v for k, v in _by_id().items()
                                                         if k != "name"})  # fmt: skip
    spoofed["requestContext"]["authorizer"]["auth"] = "operator"

    status, _ = call_api(api, context, spoofed)

    assert status == 401


def test_m1_operator_routes_need_the_verified_signer_of_this_account(stack, api, context):
    _direct_job(stack)
    own = operator_event("api_get_job", path=f"/jobs/{DIRECT_JOB}",
                         path_params={"job_id": DIRECT_JOB})  # fmt: skip
    foreign = operator_event("api_get_job", account="210987654321", path=f"/jobs/{DIRECT_JOB}",
                             path_params={"job_id": DIRECT_JOB})  # fmt: skip
    with_token = operator_event("api_get_job", path=f"/jobs/{DIRECT_JOB}",
                                path_params={"job_id": DIRECT_JOB})  # fmt: skip
    with_token["requestContext"]["identity"].update(userArn=None, accountId=None)
    with_token["requestContext"]["authorizer"] = {"owner": USER_A, "auth": "token"}

    assert call_api(api, context, own)[0] == 200
    assert call_api(api, context, foreign)[0] == 401
    assert call_api(api, context, with_token)[0] == 401
    assert own["requestContext"]["identity"]["accountId"] == ACCOUNT


def test_m1_the_operator_sees_direct_uploads_only(stack, api, context):
    stack.table.put_item(
        Item={
            "job_id": "a" * 32,
            "owner": USER_A,
            "status": "QUEUED",
            "created_at": "2026-01-01T00:00:00.000000Z",
            "updated_at": "2026-01-01T00:00:00.000000Z",
            "object_key": f"uploads/{'a' * 32}/clip.mp4",
            "filename": "clip.mp4",
        }
    )
    event = operator_event("api_get_job", path=f"/jobs/{'a' * 32}",
                           path_params={"job_id": "a" * 32})  # fmt: skip

    assert call_api(api, context, event)[0] == 404


def _spoofed(key: str = "direct") -> dict[str, Any]:
    """GET /jobs under `sam local start-api --disable-authorizer`: a bare x-api-key header."""
    event = api_event("api_list_jobs", owner=None)
    event["headers"]["x-api-key"] = key
    event["multiValueHeaders"]["x-api-key"] = [key]
    return event


def test_l1_a_spoofed_key_is_refused_under_sam_local_without_the_flag(
    stack, env, load_function, context
):
    _direct_job(stack)
    env.setenv("AWS_SAM_LOCAL", "true")

    status, body = call_api(load_function("api"), context, _spoofed())

    assert status == 401
    assert DIRECT_JOB not in json.dumps(body)


def test_l1_with_the_flag_the_local_key_stands_for_its_hash_only(
    stack, env, load_function, context
):
    _direct_job(stack)
    env.setenv("AWS_SAM_LOCAL", "true")
    env.setenv("VS_LOCAL_KEY_FALLBACK", "true")
    api = load_function("api")
    secret = "my-local-secret-key"
    create = _spoofed(secret)
    create.update(httpMethod="POST", resource="/uploads", path="/uploads")
    create["requestContext"].update(httpMethod="POST", resourcePath="/uploads")
    create["body"] = json.dumps({"filename": "clip.mp4", "content_type": "video/mp4"})

    listed = call_api(api, context, _spoofed())
    status, created = call_api(api, context, create)

    assert listed == (200, {"jobs": [], "next_token": None})
    assert status == 201
    row = stack.item(created["job_id"])
    assert row["owner"] == "local:" + hash_key(secret)
    assert created["upload"]["fields"]["x-amz-meta-owner"] == "local:" + hash_key(secret)
    assert secret not in json.dumps(row, default=str) + json.dumps(created)
    policy = base64.b64decode(created["upload"]["fields"]["policy"]).decode()
    assert secret not in policy


def test_l1_the_flag_means_nothing_outside_sam_local(stack, env, load_function, context):
    env.setenv("VS_LOCAL_KEY_FALLBACK", "true")

    assert call_api(load_function("api"), context, _spoofed("anything"))[0] == 401


def test_l1_the_authorizer_refuses_an_unknown_key_unless_local_and_flagged(
    pool,
    env,
    load_function,
    context,
):
    event = authorizer_event({"x-api-key": "direct"})
    env.setenv("AWS_SAM_LOCAL", "true")
    with pytest.raises(Exception, match=r"^Unauthorized$"):
        load_function("authorizer").lambda_handler(event, context)

    env.setenv("VS_LOCAL_KEY_FALLBACK", "true")
    response = load_function("authorizer").lambda_handler(event, context)

    assert response["context"]["owner"] == "local:" + hash_key("direct")
    assert response["context"]["auth"] == "local"
    assert "usageIdentifierKey" not in response
