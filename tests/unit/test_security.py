"""Attacks from the security review (issue 16), each replayed against the handlers on moto.

Every test here failed on the code before the review's fixes: a test name says what an attacker
tried, its assertions what must hold instead.
"""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
from support import API_KEY_A, api_event


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
