"""The API function: each route, its errors, pagination, ownership and deletion."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
from support import BUCKET, USER_A, USER_B, api_event, call_api, make_result, operator_event

JOB = "5d0c4e7a9b8f4a1c9e2d3b4a5c6d7e8f"


@pytest.fixture
def api(load_function):
    return load_function("api")


def _job_item(job_id: str = JOB, owner: str = USER_A, **fields: Any) -> dict[str, Any]:
    return {
        "job_id": job_id,
        "owner": owner,
        "status": "QUEUED",
        "created_at": "2026-01-01T00:00:00.000000Z",
        "updated_at": "2026-01-01T00:00:00.000000Z",
        "object_key": f"uploads/{job_id}/clip.mp4",
        "filename": "clip.mp4",
        **fields,
    }


def test_create_upload_from_the_event_file(stack, api, context):
    status, body = call_api(api, context, api_event("api_create_upload"))

    assert status == 201
    job_id = body["job_id"]
    assert body["key"] == f"uploads/{job_id}/clip.mp4"
    assert body["expires_in"] == 900
    fields = body["upload"]["fields"]
    assert fields["key"] == body["key"]
    assert fields["x-amz-meta-owner"] == USER_A
    assert fields["Content-Type"] == "video/mp4"
    policy = json.loads(base64.b64decode(fields["policy"]))
    conditions = policy["conditions"]
    assert ["content-length-range", 1, 1024 * 1024] in conditions
    assert {"Content-Type": "video/mp4"} in conditions
    assert not [c for c in conditions if isinstance(c, list) and c[0] == "starts-with"]
    assert {"key": body["key"]} in conditions
    assert {"x-amz-meta-owner": USER_A} in conditions
    assert "transcript_upload" not in body
    item = stack.item(job_id)
    assert item["status"] == "AWAITING_UPLOAD"
    assert item["owner"] == USER_A


@pytest.mark.parametrize(
    ("transcript", "sidecar", "content_type"),
    [
        ("C:\\subs\\Talk.SRT", "talk.srt", "application/x-subrip"),
        ("talk.vtt", "talk.vtt", "text/vtt"),
        ("words.Json", "talk.json", "application/json"),
    ],
)
def test_create_upload_with_a_transcript_binds_a_second_post_to_the_sidecar_key(
    stack, api, context, transcript, sidecar, content_type
):
    event = api_event(
        "api_create_upload",
        body={
            "filename": "talk.mp4",
            "content_type": "video/mp4",
            "transcript_filename": transcript,
        },
    )

    status, body = call_api(api, context, event)

    assert status == 201
    key = f"uploads/{body['job_id']}/{sidecar}"
    upload = body["transcript_upload"]
    assert upload["key"] == key
    assert upload["url"] == body["upload"]["url"]
    fields = upload["fields"]
    assert fields["key"] == key
    assert fields["Content-Type"] == content_type
    assert fields["x-amz-meta-owner"] == USER_A
    conditions = json.loads(base64.b64decode(fields["policy"]))["conditions"]
    assert ["content-length-range", 1, 10 * 1024 * 1024] in conditions
    assert {"Content-Type": content_type} in conditions
    assert {"key": key} in conditions
    assert {"x-amz-meta-owner": USER_A} in conditions
    assert body["upload"]["fields"]["key"] == f"uploads/{body['job_id']}/talk.mp4"


def test_create_upload_keeps_a_unicode_file_name_and_drops_its_path(stack, api, context):
    event = api_event(
        "api_create_upload",
        body={"filename": "C:\\clips\\Überraschung 1.mov", "content_type": "video/quicktime"},
    )

    status, body = call_api(api, context, event)

    assert status == 201
    assert body["key"].endswith("/Überraschung 1.mov")


@pytest.mark.parametrize(
    ("body", "status", "code", "message"),
    [
        ("{not json", 400, "invalid_json", "not valid JSON"),
        ({"content_type": "video/mp4"}, 422, "validation_error", "filename: Field required"),
        ({"filename": "notes.txt", "content_type": "video/mp4"}, 422, "validation_error",
         "not a video"),
        ({"filename": "clip.mp4", "content_type": "image/png"}, 422, "validation_error",
         "content_type must be one of"),
        ({"filename": "clip.mp4", "content_type": "video/mp4", "size_bytes": 0}, 422,
         "validation_error", "size_bytes"),
        ({"filename": "clip.mp4", "content_type": "video/mp4", "size_bytes": 10**9}, 422,
         "too_large", "over the limit"),
        ({"filename": "clip.mp4", "content_type": "video/mp4", "extra": 1}, 422,
         "validation_error", "extra"),
        ({"filename": "clip.mp4", "content_type": "video/mp4", "transcript_filename": "a.txt"},
         422, "validation_error", "transcript_filename: not a transcript"),
        ({"filename": "clip.mp4", "content_type": "video/mp4", "transcript_filename": "/x/"},
         422, "validation_error", "transcript_filename: not a transcript"),
        ({"filename": "clip.mp4", "content_type": "video/mp4", "transcript_filename": "a\x07.srt"},
         422, "validation_error", "control characters"),
    ],
)  # fmt: skip
def test_create_upload_rejects_bad_requests(stack, api, context, body, status, code, message):
    got_status, got = call_api(api, context, api_event("api_create_upload", body=body))

    assert got_status == status
    assert got["error"]["code"] == code
    assert message in got["error"]["message"]
    assert stack.table.scan()["Items"] == []


def test_a_request_without_a_caller_is_unauthorized(stack, api, context):
    for name in ("api_get_job", "api_list_jobs", "api_create_upload"):
        status, body = call_api(api, context, api_event(name, owner=None))
        assert status == 401
        assert body["error"]["code"] == "unauthorized"
    status, _ = call_api(api, context, api_event("api_create_upload", body="{", owner=None))
    assert status == 401


def test_get_job_with_inline_result(stack, api, context):
    document = make_result(JOB)
    stack.table.put_item(
        Item=_job_item(status="COMPLETED", result_json=json.dumps(document), size_bytes=1234)
    )

    status, body = call_api(api, context, api_event("api_get_job"))

    assert status == 200
    assert body["status"] == "COMPLETED"
    assert body["result"] == document
    assert body["size_bytes"] == 1234


def test_get_job_with_large_result_gives_a_presigned_link(stack, api, context):
    stack.table.put_item(Item=_job_item(status="COMPLETED", result_key="results/abc.out"))

    status, body = call_api(api, context, api_event("api_get_job"))

    assert status == 200
    assert "result" not in body
    assert "results/abc.out" in body["result_url"]
    assert "Signature" in body["result_url"] or "X-Amz-Signature" in body["result_url"]


def test_failed_job_shows_its_reason(stack, api, context):
    stack.table.put_item(Item=_job_item(status="FAILED", reason="the file is empty (0 bytes)"))

    _, body = call_api(api, context, api_event("api_get_job"))

    assert body["reason"] == "the file is empty (0 bytes)"


def test_another_keys_job_is_404_like_a_missing_one(stack, api, context):
    stack.table.put_item(Item=_job_item())
    other = api_event("api_get_job", owner=USER_B)
    missing = api_event("api_get_job", path=f"/jobs/{'0' * 32}", path_params={"job_id": "0" * 32})
    malformed = api_event("api_get_job", path="/jobs/..%2F", path_params={"job_id": "..%2F"})

    answers = [call_api(api, context, event) for event in (other, missing, malformed)]

    assert [status for status, _ in answers] == [404, 404, 404]
    assert all(body["error"]["code"] == "not_found" for _, body in answers)
    status, _ = call_api(api, context, api_event("api_delete_job", owner=USER_B))
    assert status == 404
    assert stack.item(JOB) is not None


def test_list_jobs_is_newest_first_and_paginates(stack, api, context):
    ids = [f"{i:032x}" for i in range(5)]
    for i, job_id in enumerate(ids):
        stack.table.put_item(
            Item=_job_item(job_id, created_at=f"2026-01-0{i + 1}T00:00:00.000000Z")
        )
    stack.table.put_item(Item=_job_item("f" * 32, owner=USER_B))

    seen: list[str] = []
    token = None
    pages = 0
    while True:
        query = {"limit": "2"} | ({"next_token": token} if token else {})
        status, body = call_api(api, context, api_event("api_list_jobs", query=query))
        assert status == 200
        assert all("result" not in job for job in body["jobs"])
        seen += [job["job_id"] for job in body["jobs"]]
        pages += 1
        token = body["next_token"]
        if not token:
            break

    assert seen == list(reversed(ids))
    assert pages >= 3


def test_list_jobs_from_the_event_file(stack, api, context):
    stack.table.put_item(Item=_job_item())

    status, body = call_api(api, context, api_event("api_list_jobs"))

    assert status == 200
    assert [job["job_id"] for job in body["jobs"]] == [JOB]
    assert body["next_token"] is None


@pytest.mark.parametrize(
    ("query", "fragment"),
    [
        ({"limit": "0"}, "limit"),
        ({"limit": "many"}, "limit"),
        ({"next_token": "!!!not-base64"}, "next_token"),
    ],
)
def test_list_jobs_rejects_bad_parameters(stack, api, context, query, fragment):
    status, body = call_api(api, context, api_event("api_list_jobs", query=query))

    assert status in {400, 422}
    assert fragment in body["error"]["message"] or fragment in body["error"]["code"]


def test_a_next_token_of_another_key_is_refused(stack, api, context):
    for i in range(3):
        stack.table.put_item(Item=_job_item(f"{i:032x}"))
    _, body = call_api(api, context, api_event("api_list_jobs", query={"limit": "1"}))

    status, other = call_api(
        api,
        context,
        api_event("api_list_jobs", query={"next_token": body["next_token"]}, owner=USER_B),
    )

    assert status == 400
    assert other["error"]["code"] == "invalid_next_token"


def test_find_job_by_key(stack, api, context):
    stack.table.put_item(Item=_job_item())

    status, body = call_api(api, context, api_event("api_find_job_by_key"))
    other_status, _ = call_api(api, context, api_event("api_find_job_by_key", owner=USER_B))

    assert status == 200
    assert [job["job_id"] for job in body["jobs"]] == [JOB]
    assert other_status == 404


def test_the_operator_finds_direct_uploads_by_key_by_id_and_in_a_list(stack, api, context):
    key = "uploads/camera 1/take 2.mp4"
    stack.table.put_item(Item=_job_item("d" * 32, owner="direct", object_key=key))
    stack.table.put_item(Item=_job_item())

    by_key = call_api(api, context, operator_event("api_find_job_by_key", query={"key": key}))
    by_id = call_api(
        api,
        context,
        operator_event("api_get_job", path=f"/jobs/{'d' * 32}", path_params={"job_id": "d" * 32}),
    )
    listed = call_api(api, context, operator_event("api_list_jobs", query={"limit": "10"}))
    users_job = call_api(api, context, operator_event("api_get_job"))

    assert by_key[0] == 200 and by_key[1]["jobs"][0]["key"] == key
    assert by_id[0] == 200 and by_id[1]["job_id"] == "d" * 32
    assert [job["job_id"] for job in listed[1]["jobs"]] == ["d" * 32]
    assert users_job[0] == 404


def test_delete_removes_every_version_the_manifest_the_result_and_the_row(stack, api, context):
    folder = f"uploads/{JOB}/"
    stack.put_video(folder + "clip.mp4")
    stack.put_video(folder + "clip.mp4")  # a second version
    stack.s3.put_object(Bucket=BUCKET, Key=folder + "clip.srt", Body=b"1\n")
    stack.s3.put_object(Bucket=BUCKET, Key=f"requests/{JOB}.json", Body=b"{}")
    stack.s3.put_object(Bucket=BUCKET, Key="results/r1.out", Body=b"{}")
    stack.s3.put_object(Bucket=BUCKET, Key="uploads/unrelated.mp4", Body=b"x")
    stack.table.put_item(
        Item=_job_item(
            status="COMPLETED",
            manifest_key=f"requests/{JOB}.json",
            output_location=f"s3://{BUCKET}/results/r1.out",
        )
    )

    status, body = call_api(api, context, api_event("api_delete_job"))

    assert status == 204
    assert body is None
    assert stack.item(JOB) is None
    versions = stack.s3.list_object_versions(Bucket=BUCKET)
    remaining = {v["Key"] for v in versions.get("Versions", []) + versions.get("DeleteMarkers", [])}
    assert remaining == {"uploads/unrelated.mp4"}


def test_delete_while_in_progress_is_a_conflict(stack, api, context):
    stack.table.put_item(Item=_job_item(status="IN_PROGRESS"))

    status, body = call_api(api, context, api_event("api_delete_job"))

    assert status == 409
    assert body["error"]["code"] == "in_progress"
    assert stack.item(JOB) is not None


def test_unknown_route_is_a_json_404(stack, api, context):
    status, body = call_api(api, context, api_event("api_list_jobs", path="/nothing-here"))

    assert status == 404
    assert body["error"]["code"] == "not_found"


def test_unexpected_errors_are_a_500_without_a_stack_trace(stack, api, context, monkeypatch):
    def explode(job_id: str) -> None:
        raise RuntimeError("secret internals at line 42")

    monkeypatch.setattr(api.store, "get", explode)

    status, body = call_api(api, context, api_event("api_get_job"))

    assert status == 500
    assert body == {
        "error": {
            "code": "internal_error",
            "message": "something went wrong on our side; try again later",
        }
    }
