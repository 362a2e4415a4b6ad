"""The submit function: S3 upload notifications (through SQS) become endpoint invocations."""

from __future__ import annotations

import json

import pytest
from support import BUCKET, ENDPOINT_NAME, MP4_HEAD, load_event, upload_event

from vs_common.keys import derived_job_id

JOB = "5d0c4e7a9b8f4a1c9e2d3b4a5c6d7e8f"


def _job_id(stack, key: str, sequencer: str = "0067A1B2C3D4E5F601") -> str:
    return derived_job_id(BUCKET, key, sequencer)


def _awaiting(stack, key: str, owner: str = "2f5b7c1e-8d4a-4e3b-9a6f-1c0d2e3f4a5b") -> None:
    """The row POST /uploads makes before it hands out the presigned POST for `key`."""
    stack.table.put_item(
        Item={
            "job_id": JOB,
            "owner": owner,
            "status": "AWAITING_UPLOAD",
            "created_at": "2026-01-01T00:00:00.000000Z",
            "updated_at": "2026-01-01T00:00:00.000000Z",
            "object_key": key,
            "filename": key.rsplit("/", 1)[-1],
        }
    )


def test_event_file_upload_is_queued_then_in_progress_with_one_invocation(
    stack, load_function, context
):
    submit = load_function("submit")
    event = load_event("submit_upload")
    body = json.loads(event["Records"][0]["body"])
    body["Records"][0]["s3"]["object"].pop("versionId")
    event["Records"][0]["body"] = json.dumps(body)
    key = f"uploads/{JOB}/clip.mp4"
    _awaiting(stack, key)
    stored = stack.put_video(key, owner="2f5b7c1e-8d4a-4e3b-9a6f-1c0d2e3f4a5b")

    response = submit.lambda_handler(event, context)

    assert response == {"batchItemFailures": []}
    item = stack.item(JOB)
    assert item["status"] == "IN_PROGRESS"
    assert item["owner"] == "2f5b7c1e-8d4a-4e3b-9a6f-1c0d2e3f4a5b"
    assert item["inference_id"] == JOB
    assert item["output_location"].startswith("s3://")
    assert len(stack.invocations) == 1
    call = stack.invocations[0]
    assert call["EndpointName"] == ENDPOINT_NAME
    assert call["InferenceId"] == JOB
    assert call["ContentType"] == "application/json"
    assert call["InvocationTimeoutSeconds"] == 3600
    assert call["InputLocation"] == f"s3://{BUCKET}/requests/{JOB}.json"
    manifest = json.loads(
        stack.s3.get_object(Bucket=BUCKET, Key=f"requests/{JOB}.json")["Body"].read()
    )
    assert manifest == {
        "video": f"s3://{BUCKET}/{key}",
        "video_version_id": stored["VersionId"],
        "job_id": JOB,
        "options": {},
    }


def test_transcript_sidecar_with_the_same_stem_goes_into_the_manifest(
    stack, load_function, context
):
    submit = load_function("submit")
    key = f"uploads/{JOB}/talk.mov"
    _awaiting(stack, key)
    stack.s3.put_object(Bucket=BUCKET, Key=f"uploads/{JOB}/talk.srt", Body=b"1\n")
    stack.put_video(key)

    submit.lambda_handler(upload_event(key), context)

    manifest = json.loads(
        stack.s3.get_object(Bucket=BUCKET, Key=f"requests/{JOB}.json")["Body"].read()
    )
    assert manifest["transcript"] == f"s3://{BUCKET}/uploads/{JOB}/talk.srt"


@pytest.mark.parametrize(
    "key",
    [
        "uploads/my holiday clip.mp4",
        "uploads/a+b=c&d.mp4",
        "uploads/vidéo/überraschung 😀 ünïcode.webm",
        "uploads/100% real (final).mkv",
    ],
)
def test_event_keys_are_url_decoded(stack, load_function, context, key):
    submit = load_function("submit")
    body = MP4_HEAD if not key.endswith((".webm", ".mkv")) else b"\x1a\x45\xdf\xa3" + b"\0" * 60
    stack.put_video(key, body=body)

    response = submit.lambda_handler(upload_event(key), context)

    assert response == {"batchItemFailures": []}
    item = stack.item(_job_id(stack, key))
    assert item["status"] == "IN_PROGRESS"
    assert item["object_key"] == key
    assert item["owner"] == "direct"
    assert stack.invocations[0]["InferenceId"] == item["job_id"]


@pytest.mark.parametrize(
    ("key", "body", "reason"),
    [
        ("uploads/notes.txt", b"hello there", "not a video: 'notes.txt' does not end in a video"),
        ("uploads/fake.mp4", b"<html>not a video</html>" * 4, "not a video: the content of"),
        ("uploads/empty.mp4", b"", "the file is empty (0 bytes)"),
        ("uploads/huge.mp4", MP4_HEAD + b"\0" * (1024 * 1024), "over the limit of 1.0 MiB"),
    ],
)
def test_bad_uploads_fail_with_a_readable_reason(stack, load_function, context, key, body, reason):
    submit = load_function("submit")
    stack.s3.put_object(Bucket=BUCKET, Key=key, Body=body)

    response = submit.lambda_handler(upload_event(key), context)

    assert response == {"batchItemFailures": []}
    item = stack.item(_job_id(stack, key))
    assert item["status"] == "FAILED"
    assert reason in item["reason"]
    assert stack.invocations == []
    assert stack.keys("requests/") == []


def test_objects_outside_uploads_and_sidecars_and_test_events_are_skipped(
    stack, load_function, context
):
    submit = load_function("submit")
    stack.put_video("results/elsewhere.mp4")
    stack.s3.put_object(Bucket=BUCKET, Key="uploads/talk.vtt", Body=b"WEBVTT\n")
    event = upload_event("results/elsewhere.mp4")
    event["Records"].append(upload_event("uploads/talk.vtt")["Records"][0])
    test_event = {
        "Service": "Amazon S3",
        "Event": "s3:TestEvent",
        "Time": "2026-01-01T00:00:00.000Z",
        "Bucket": BUCKET,
        "RequestId": "5582815E1AEA5ADF",
        "HostId": "8cLeGAmw098X5cv4Zkwcmo8vvZa3eH3eKxsPzbB9wrR+YstdA6Knx4Ip8EXAMPLE",
    }
    extra = dict(event["Records"][0], messageId="test-event", body=json.dumps(test_event))
    event["Records"].append(extra)

    response = submit.lambda_handler(event, context)

    assert response == {"batchItemFailures": []}
    assert stack.table.scan()["Items"] == []
    assert stack.invocations == []


def test_no_endpoint_returns_the_record_to_the_queue_and_keeps_the_job_queued(
    stack, env, load_function, context
):
    env.setenv("ENDPOINT_NAME", "")
    submit = load_function("submit")
    key = f"uploads/{JOB}/clip.mp4"
    _awaiting(stack, key)
    stack.put_video(key)
    event = upload_event(key)

    first = submit.lambda_handler(event, context)
    second = submit.lambda_handler(event, context)

    message_id = event["Records"][0]["messageId"]
    assert first == second == {"batchItemFailures": [{"itemIdentifier": message_id}]}
    assert stack.item(JOB)["status"] == "QUEUED"
    assert stack.invocations == []

    env.setenv("ENDPOINT_NAME", ENDPOINT_NAME)
    retried = load_function("submit").lambda_handler(event, context)

    assert retried == {"batchItemFailures": []}
    assert stack.item(JOB)["status"] == "IN_PROGRESS"
    assert len(stack.invocations) == 1


def test_throttling_returns_the_record_to_the_queue(stack, load_function, context):
    from botocore.exceptions import ClientError

    submit = load_function("submit")
    key = f"uploads/{JOB}/clip.mp4"
    _awaiting(stack, key)
    stack.put_video(key)

    def throttle(**_):
        raise ClientError(
            {"Error": {"Code": "ThrottlingException", "Message": "Rate exceeded"}},
            "InvokeEndpointAsync",
        )

    runtime = submit.aws.client("sagemaker-runtime")
    runtime.meta.events.register("before-call.sagemaker-runtime.InvokeEndpointAsync", throttle)
    response = submit.lambda_handler(upload_event(key), context)

    assert len(response["batchItemFailures"]) == 1
    assert stack.item(JOB)["status"] == "QUEUED"


def test_the_same_event_twice_makes_one_job_and_one_invocation(stack, load_function, context):
    submit = load_function("submit")
    key = "uploads/direct upload.mp4"
    stack.put_video(key)
    event = upload_event(key, sequencer="00AA")
    duplicate = upload_event(key, sequencer="00AA")

    submit.lambda_handler(event, context)
    load_function("submit").lambda_handler(duplicate, context)

    assert len(stack.table.scan()["Items"]) == 1
    assert len(stack.invocations) == 1


def test_duplicate_past_the_idempotency_record_changes_nothing(stack, load_function, context):
    submit = load_function("submit")
    key = f"uploads/{JOB}/clip.mp4"
    _awaiting(stack, key)
    stack.put_video(key)
    submit.lambda_handler(upload_event(key, sequencer="01"), context)
    before = stack.item(JOB)

    # Another sequencer defeats the idempotency key; the state machine still refuses.
    submit.lambda_handler(upload_event(key, sequencer="02"), context)

    assert stack.item(JOB) == before
    assert len(stack.invocations) == 1


def test_api_job_keeps_its_owner_and_creation_time(stack, load_function, context):
    submit = load_function("submit")
    stack.table.put_item(
        Item={
            "job_id": JOB,
            "owner": "2f5b7c1e-8d4a-4e3b-9a6f-1c0d2e3f4a5b",
            "status": "AWAITING_UPLOAD",
            "created_at": "2026-01-01T00:00:00.000000Z",
            "updated_at": "2026-01-01T00:00:00.000000Z",
            "object_key": f"uploads/{JOB}/clip.mp4",
            "filename": "clip.mp4",
        }
    )
    stack.put_video(f"uploads/{JOB}/clip.mp4", owner="2f5b7c1e-8d4a-4e3b-9a6f-1c0d2e3f4a5b")

    submit.lambda_handler(upload_event(f"uploads/{JOB}/clip.mp4"), context)

    item = stack.item(JOB)
    assert item["status"] == "IN_PROGRESS"
    assert item["created_at"] == "2026-01-01T00:00:00.000000Z"
    assert item["owner"] == "2f5b7c1e-8d4a-4e3b-9a6f-1c0d2e3f4a5b"


def test_object_deleted_before_processing_is_skipped(stack, load_function, context):
    submit = load_function("submit")

    response = submit.lambda_handler(upload_event("uploads/gone.mp4"), context)

    assert response == {"batchItemFailures": []}
    assert stack.table.scan()["Items"] == []


def test_malformed_record_fails_alone(stack, load_function, context):
    submit = load_function("submit")
    key = f"uploads/{JOB}/clip.mp4"
    _awaiting(stack, key)
    stack.put_video(key)
    event = upload_event(key)
    broken = dict(event["Records"][0], messageId="broken", body="{not json")
    event["Records"].append(broken)

    response = submit.lambda_handler(event, context)

    assert response == {"batchItemFailures": [{"itemIdentifier": "broken"}]}
    assert stack.item(JOB)["status"] == "IN_PROGRESS"
