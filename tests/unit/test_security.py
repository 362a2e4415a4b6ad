"""Attacks from the security review (issue 16), each replayed against the handlers on moto.

Every attack of the review's table that the code let through fails on the code before the fixes;
a test name says what an attacker tried, its assertions what must hold instead. Two kinds of case
passed before as well and stay as guards: tenant isolation between users (it held in the review),
and the controls beside an attack (a lapsed claim, a valid token) that show a fix refuses only
what it must. Direct uploads, the operator and the local key fallback (M1, L1) are in
test_security_identity.py.
"""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
import requests
from support import (
    BUCKET,
    JOBS_TABLE,
    MP4_HEAD,
    USER_A,
    USER_B,
    api_event,
    call_api,
    make_result,
    notification_event,
    upload_event,
)

from vs_common import aws
from vs_common.pagination import TokenSigner
from vs_common.settings import SettingsError


def _job_event(name: str, job_id: str, key: str = USER_A) -> dict[str, Any]:
    return api_event(name, path=f"/jobs/{job_id}", path_params={"job_id": job_id}, owner=key)


def _create(api: Any, context: Any, content_type: str = "video/mp4", **extra: Any) -> Any:
    body = {"filename": "clip.mp4", "content_type": content_type, **extra}
    return call_api(api, context, api_event("api_create_upload", body=body))


# ---------------------------------------------------------------- tenant isolation (guards)


def test_another_user_can_neither_read_nor_find_nor_delete_a_job(stack, load_function, context):
    api = load_function("api")
    _, created = _create(api, context)
    job_id, key = created["job_id"], created["key"]
    stack.put_video(key, owner=USER_A)

    reads = [
        call_api(api, context, _job_event("api_get_job", job_id, USER_B)),
        call_api(api, context, api_event("api_list_jobs", query={"key": key}, owner=USER_B)),
        call_api(api, context, _job_event("api_delete_job", job_id, USER_B)),
    ]
    _, listing = call_api(api, context, api_event("api_list_jobs", owner=USER_B))

    assert [(status, body["error"]["code"]) for status, body in reads] == [(404, "not_found")] * 3
    assert listing["jobs"] == []
    assert stack.item(job_id)["owner"] == USER_A
    assert stack.keys(f"uploads/{job_id}/") == [key]


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
    assert fields["x-amz-meta-owner"] == USER_A


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


def _list(api: Any, context: Any, query: dict[str, str], key: str = USER_A) -> tuple[int, Any]:
    return call_api(api, context, api_event("api_list_jobs", query=query, owner=key))


def _forgeries(real: str) -> list[str]:
    payload, _, signature = real.partition(".")
    mine = {"job_id": "0" * 32, "owner": USER_A, "created_at": "2026-01-01T00:00:00.000000Z"}
    flipped = ("A" if signature[0] != "A" else "B") + signature[1:]
    return [
        "",  # empty: not "start from the beginning"
        payload,  # the signature cut off
        _b64(mine),  # the unsigned format tokens used to have
        _b64({**mine, "job_id": ""}) + "." + signature,  # an empty job id under a stolen signature
        _b64({**mine, "owner": USER_B}) + "." + signature,  # another key's listing
        f"{payload}.{flipped}",  # a signature with one character changed
        f"{payload}.{signature}.x",
        "%%%.%%%",
    ]


def test_forged_tampered_and_empty_tokens_are_refused(stack, load_function, context):
    api = load_function("api")
    _own_jobs(stack, USER_A, 3)
    status, first = _list(api, context, {"limit": "2"})
    assert status == 200 and first["next_token"]

    for forged in _forgeries(first["next_token"]):
        status, body = _list(api, context, {"limit": "2", "next_token": forged})
        assert (status, body["error"]["code"]) == (400, "invalid_next_token"), forged


def test_a_token_signed_with_another_secret_is_refused(stack, env, load_function, context):
    _own_jobs(stack, USER_A, 3)
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
    _own_jobs(stack, USER_A, 3)

    _, first = _list(api, context, {"limit": "2"})
    status, second = _list(api, context, {"limit": "2", "next_token": first["next_token"]})

    assert status == 200
    assert [job["job_id"] for job in second["jobs"]] == [f"{0:032x}"]
    assert TokenSigner("k" * 64).decode(first["next_token"], USER_A)["owner"] == USER_A


def test_the_api_refuses_to_start_without_a_signing_key(stack, env, load_function):
    env.delenv("PAGINATION_SECRET")
    with pytest.raises(SettingsError, match="PAGINATION_SECRET"):
        load_function("api")


# ---------------------------------------------------------------- L2, L3, L4: deletion and versions


def _post_form(upload: dict[str, Any], body: bytes) -> None:
    """What a browser does with a presigned POST: every field, then the file."""
    posted = requests.post(
        upload["url"], data=upload["fields"], files={"file": ("clip.mp4", body)}, timeout=10
    )
    assert posted.status_code in {200, 204}, posted.text


def _submit(submit: Any, context: Any, stack: Any, key: str) -> dict[str, Any]:
    version = stack.s3.head_object(Bucket=BUCKET, Key=key)["VersionId"]
    return submit.lambda_handler(upload_event(key, version_id=version), context)


def test_a_presigned_post_used_again_after_delete_does_not_bring_the_job_back(
    stack, load_function, context
):
    api, submit = load_function("api"), load_function("submit")
    _, created = _create(api, context)
    job_id, key = created["job_id"], created["key"]
    deleted, _ = call_api(api, context, _job_event("api_delete_job", job_id))
    assert deleted == 204

    _post_form(created["upload"], MP4_HEAD + b"\x00" * 256)  # still within its 15 minutes
    assert _submit(submit, context, stack, key) == {"batchItemFailures": []}

    status, _ = call_api(api, context, _job_event("api_get_job", job_id))
    assert status == 404
    assert stack.item(job_id) is None
    assert stack.invocations == []
    assert stack.s3.list_object_versions(Bucket=BUCKET, Prefix=key).get("Versions") is None


def test_an_upload_for_a_job_that_never_existed_is_not_processed(stack, load_function, context):
    key = f"uploads/{'e' * 32}/clip.mp4"
    stack.put_video(key, owner=USER_A)

    assert _submit(load_function("submit"), context, stack, key) == {"batchItemFailures": []}

    assert stack.item("e" * 32) is None
    assert stack.invocations == []


def test_the_manifest_pins_the_version_submit_checked(stack, load_function, context):
    api, submit = load_function("api"), load_function("submit")
    _, created = _create(api, context)
    key = created["key"]
    _post_form(created["upload"], MP4_HEAD + b"\x00" * 256)
    checked = stack.s3.head_object(Bucket=BUCKET, Key=key)["VersionId"]
    _submit(submit, context, stack, key)

    # The same presigned POST again, with something else, after the check.
    _post_form(created["upload"], b"#!/bin/sh\nnot a video\n" * 20)

    request = stack.s3.get_object(Bucket=BUCKET, Key=f"requests/{created['job_id']}.json")
    manifest = json.loads(request["Body"].read())
    assert manifest["video_version_id"] == checked
    pinned = stack.s3.get_object(Bucket=BUCKET, Key=key, VersionId=checked)["Body"].read()
    assert pinned.startswith(MP4_HEAD)


def test_delete_cannot_race_a_submit_into_removing_a_video_mid_inference(
    stack, load_function, context
):
    api = load_function("api")
    _, created = _create(api, context)
    job_id, key = created["job_id"], created["key"]
    stack.put_video(key, owner=USER_A)
    stack.table.update_item(
        Key={"job_id": job_id},
        UpdateExpression="SET #s = :q",
        ExpressionAttributeNames={"#s": "status"},
        ExpressionAttributeValues={":q": "QUEUED"},
    )

    def submit_wins_the_race(**_: Any) -> None:
        # Between DELETE's read of the row (QUEUED) and its write, submit invokes the endpoint.
        stack.table.update_item(
            Key={"job_id": job_id},
            UpdateExpression="SET #s = :p",
            ExpressionAttributeNames={"#s": "status"},
            ExpressionAttributeValues={":p": "IN_PROGRESS"},
        )

    events = aws.table(JOBS_TABLE).meta.client.meta.events
    events.register_first("before-call.dynamodb.DeleteItem", submit_wins_the_race)
    status, body = call_api(api, context, _job_event("api_delete_job", job_id))
    events.unregister("before-call.dynamodb.DeleteItem", submit_wins_the_race)

    assert (status, body["error"]["code"]) == (409, "in_progress")
    assert stack.item(job_id)["status"] == "IN_PROGRESS"
    assert stack.keys(f"uploads/{job_id}/") == [key]


@pytest.mark.parametrize(("claim_until", "status"), [(4102444800, 409), (1, 204)])
def test_delete_leaves_a_queued_job_alone_while_submit_holds_its_claim(
    stack, load_function, context, claim_until, status
):
    # Submit claims a QUEUED row, then invokes the endpoint, then marks it IN_PROGRESS: while
    # the claim is live, the video is about to be read. A lapsed claim holds nothing.
    api = load_function("api")
    _, created = _create(api, context)
    job_id, key = created["job_id"], created["key"]
    stack.put_video(key, owner=USER_A)
    stack.table.update_item(
        Key={"job_id": job_id},
        UpdateExpression="SET #s = :q, claim_token = :t, claim_until = :u",
        ExpressionAttributeNames={"#s": "status"},
        ExpressionAttributeValues={":q": "QUEUED", ":t": "submit-1", ":u": claim_until},
    )

    got, _ = call_api(api, context, _job_event("api_delete_job", job_id))

    assert got == status
    assert (stack.item(job_id) is not None) == (status == 409)
    assert (stack.keys(f"uploads/{job_id}/") == [key]) == (status == 409)


# ---------------------------------------------------------------- L7: notifications


@pytest.mark.parametrize(
    ("name", "field", "location"),
    [
        ("complete_success", "outputLocation", "s3://attacker-bucket/results/forged.out"),
        ("complete_success", "outputLocation", f"s3://{BUCKET}/uploads/{'b' * 32}/clip.mp4"),
        ("complete_success", "outputLocation", f"s3://{BUCKET}/results/"),
        ("complete_failure", "failureLocation", f"s3://{BUCKET}/results/x-error.out"),
        ("complete_failure", "failureLocation", "https://example.com/failures/x.out"),
    ],
)
def test_a_notification_pointing_outside_the_stacks_folders_changes_nothing(
    stack, load_function, context, name, field, location
):
    job_id = "c" * 32
    stack.table.put_item(
        Item={
            "job_id": job_id,
            "owner": USER_A,
            "status": "IN_PROGRESS",
            "created_at": "2026-01-01T00:00:00.000000Z",
            "updated_at": "2026-01-01T00:00:00.000000Z",
            "object_key": f"uploads/{job_id}/clip.mp4",
            "filename": "clip.mp4",
        }
    )
    # A valid result for the job, where the forged notification points: only the location is wrong.
    bucket, _, key = location.removeprefix("s3://").partition("/")
    if location.startswith("s3://") and key:
        if bucket != BUCKET:
            stack.s3.create_bucket(Bucket=bucket)
        stack.s3.put_object(Bucket=bucket, Key=key, Body=json.dumps(make_result(job_id)))
    event = notification_event(name, job_id, **{f"responseParameters__{field}": location})

    response = load_function("complete").lambda_handler(event, context)

    assert response == {"batchItemFailures": [{"itemIdentifier": event["Records"][0]["messageId"]}]}
    assert stack.item(job_id)["status"] == "IN_PROGRESS"


# ---------------------------------------------------------------- L11: failure reasons


def test_a_failed_inference_tells_the_caller_a_code_and_a_sentence_not_internals(
    stack, load_function, context
):
    job_id = "d" * 32
    stack.table.put_item(
        Item={
            "job_id": job_id,
            "owner": USER_A,
            "status": "IN_PROGRESS",
            "created_at": "2026-01-01T00:00:00.000000Z",
            "updated_at": "2026-01-01T00:00:00.000000Z",
            "object_key": f"uploads/{job_id}/clip.mp4",
            "filename": "clip.mp4",
        }
    )
    internals = (
        "ModelError: Received server error (500) from primary with message "
        '"Traceback (most recent call last):\\n  File \\"/opt/ml/model/code/vs_model/media.py\\", '
        "line 88, in decode\\nOSError: [Errno 28] No space left on device: "
        "'/tmp/vs-video-k2j3.mp4' (http://10.0.3.7:8080/invocations)\". See "
        "https://us-east-1.console.aws.amazon.com/cloudwatch/home?region=us-east-1#logEventViewer:"
        "group=/aws/sagemaker/Endpoints/vs in account 123456789012 for more information."
    )
    event = notification_event("complete_failure", job_id, failureReason=internals)
    assert load_function("complete").lambda_handler(event, context) == {"batchItemFailures": []}

    status, body = call_api(load_function("api"), context, _job_event("api_get_job", job_id))

    assert (status, body["status"]) == (200, "FAILED")
    assert body["reason_code"]
    for leak in ("Traceback", "/opt/ml", "/tmp/", "10.0.3.7", "123456789012", "OSError", "http"):
        assert leak not in body["reason"], leak
