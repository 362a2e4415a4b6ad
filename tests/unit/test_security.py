"""Attacks from the security review (issue 16), each replayed against the handlers on moto.

Every test here failed on the code before the review's fixes: a test name says what an attacker
tried, its assertions what must hold instead.
"""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
from support import API_KEY_A, API_KEY_B, api_event

from vs_common import aws
from vs_common.pagination import TokenSigner
from vs_common.settings import SettingsError


def _call(handler: Any, context: Any, event: dict[str, Any]) -> tuple[int, Any]:
    response = handler.lambda_handler(event, context)
    body = json.loads(response["body"]) if response.get("body") else None
    return response["statusCode"], body


def _create(api: Any, context: Any, content_type: str = "video/mp4", **extra: Any) -> Any:
    body = {"filename": "clip.mp4", "content_type": content_type, **extra}
    return _call(api, context, api_event("api_create_upload", body=body))


# ---------------------------------------------------------------- L5: content types


@pytest.mark.parametrize(
    "content_type",
    [
        "video/mp4\r\nX-Evil: 1",
        "video/mp4\nx-amz-meta-owner: someone-else",
        "video/mp4; codecs=avc1",
        "video/x-evil",
        "video/",
        "Video/Anything",
    ],
)
def test_content_types_outside_the_allowlist_are_refused(
    stack, load_function, context, content_type
):
    status, body = _create(load_function("api"), context, content_type)

    assert status == 422
    assert body["error"]["code"] == "validation_error"
    assert "content_type" in body["error"]["message"]
    assert stack.table.scan()["Items"] == []


def test_the_post_policy_binds_the_exact_declared_type(stack, load_function, context):
    status, body = _create(load_function("api"), context, "Video/QuickTime")

    assert status == 201
    fields = body["upload"]["fields"]
    assert fields["Content-Type"] == "video/quicktime"
    conditions = json.loads(base64.b64decode(fields["policy"]))["conditions"]
    type_conditions = [c for c in conditions if "Content-Type" in c or "$Content-Type" in c]
    assert type_conditions == [{"Content-Type": "video/quicktime"}]
    assert stack.item(body["job_id"])["content_type"] == "video/quicktime"
    assert fields["x-amz-meta-owner"] == API_KEY_A


# ---------------------------------------------------------------- L10: pagination tokens


def _own_jobs(stack: Any, owner: str, count: int) -> None:
    for i in range(count):
        job_id = f"{i:032x}"
        stack.table.put_item(
            Item={
                "job_id": job_id,
                "owner": owner,
                "status": "QUEUED",
                "created_at": f"2026-01-01T00:00:{i:02d}.000000Z",
                "updated_at": f"2026-01-01T00:00:{i:02d}.000000Z",
                "object_key": f"uploads/{job_id}/clip.mp4",
                "filename": "clip.mp4",
            }
        )


def _b64(document: Any) -> str:
    raw = json.dumps(document).encode("utf-8")
    return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


def _list(api: Any, context: Any, query: dict[str, str], key: str = API_KEY_A) -> tuple[int, Any]:
    return _call(api, context, api_event("api_list_jobs", query=query, api_key_id=key))


def _forgeries(real: str) -> list[str]:
    payload, _, signature = real.partition(".")
    mine = {"job_id": "0" * 32, "owner": API_KEY_A, "created_at": "2026-01-01T00:00:00.000000Z"}
    flipped = ("A" if signature[0] != "A" else "B") + signature[1:]
    return [
        "",  # empty: not "start from the beginning"
        payload,  # the signature cut off
        _b64(mine),  # the unsigned format tokens used to have
        _b64({**mine, "job_id": ""}) + "." + signature,  # an empty job id under a stolen signature
        _b64({**mine, "owner": API_KEY_B}) + "." + signature,  # another key's listing
        f"{payload}.{flipped}",  # a signature with one character changed
        f"{payload}.{signature}.x",
        "%%%.%%%",
    ]


def test_forged_tampered_and_empty_tokens_are_refused(stack, load_function, context):
    api = load_function("api")
    _own_jobs(stack, API_KEY_A, 3)
    status, first = _list(api, context, {"limit": "2"})
    assert status == 200 and first["next_token"]

    for forged in _forgeries(first["next_token"]):
        status, body = _list(api, context, {"limit": "2", "next_token": forged})
        assert (status, body["error"]["code"]) == (400, "invalid_next_token"), forged


def test_a_token_signed_with_another_secret_is_refused(stack, env, load_function, context):
    _own_jobs(stack, API_KEY_A, 3)
    _, first = _list(load_function("api"), context, {"limit": "2"})
    env.setenv("PAGINATION_SECRET", "another-stack-entirely-0123456789abcdef")

    status, body = _list(load_function("api"), context, {"next_token": first["next_token"]})

    assert (status, body["error"]["code"]) == (400, "invalid_next_token")


def test_the_signing_key_comes_from_secrets_manager_on_aws(stack, env, load_function, context):
    secret = aws.client("secretsmanager").create_secret(
        Name="video-sentiment-pagination", SecretString="k" * 64
    )
    env.delenv("PAGINATION_SECRET")
    env.setenv("PAGINATION_SECRET_ARN", secret["ARN"])
    api = load_function("api")
    _own_jobs(stack, API_KEY_A, 3)

    _, first = _list(api, context, {"limit": "2"})
    status, second = _list(api, context, {"limit": "2", "next_token": first["next_token"]})

    assert status == 200
    assert [job["job_id"] for job in second["jobs"]] == [f"{0:032x}"]
    assert TokenSigner("k" * 64).decode(first["next_token"], API_KEY_A)["owner"] == API_KEY_A


def test_the_api_refuses_to_start_without_a_signing_key(stack, env, load_function):
    env.delenv("PAGINATION_SECRET")
    with pytest.raises(SettingsError, match="PAGINATION_SECRET"):
        load_function("api")
