"""The submit function: S3 upload notifications (through SQS) become endpoint invocations."""

from __future__ import annotations

import json

import pytest
from support import (
    BUCKET,
    ENDPOINT_NAME,
    IDEMPOTENCY_TABLE,
    MP4_HEAD,
    SPEC,
    load_event,
    upload_event,
)

from vs_common.keys import derived_job_id

JOB = "5d0c4e7a9b8f4a1c9e2d3b4a5c6d7e8f"


def _job_id(stack, key: str, sequencer: str = "0067A1B2C3D4E5F601") -> str:
    return derived_job_id(BUCKET, key, sequencer)


def _awaiting(stack, key: str, owner: str = "2f5b7c1e-8d4a-4e3b-9a6f-1c0d2e3f4a5b") -> None:
    """The row POST /uploads makes before it hands out the presigned POST for `key`."""
    stack.table.put_item(
        Item={
            "job_id": key.split("/")[1],
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
    ("key", "body", "code", "reason"),
    [
        (
            "uploads/notes.txt",
            b"hello there",
            "not_a_video",
            "'notes.txt' is not a video: its name does not end in a video extension",
        ),
        (
            "uploads/fake.mp4",
            b"<html>not a video</html>" * 4,
            "not_a_video",
            "'fake.mp4' is not a video: its content is not an MP4/MOV",
        ),
        ("uploads/empty.mp4", b"", "empty_file", "'empty.mp4' is empty (0 bytes)."),
        (
            "uploads/huge.mp4",
            MP4_HEAD + b"\0" * (1024 * 1024),
            "too_large",
            "'huge.mp4' is 1.0 MiB, over the limit of 1.0 MiB.",
        ),
    ],
)
def test_bad_uploads_fail_with_a_code_and_a_sentence(
    stack, load_function, context, key, body, code, reason
):
    submit = load_function("submit")
    stack.s3.put_object(Bucket=BUCKET, Key=key, Body=body)

    response = submit.lambda_handler(upload_event(key), context)

    assert response == {"batchItemFailures": []}
    item = stack.item(_job_id(stack, key))
    assert item["status"] == "FAILED"
    assert item["reason_code"] == code
    assert item["reason"].startswith(reason)
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


def _hook_once(submit, action):
    """Run `action` once, at the moment submit calls InvokeEndpointAsync."""
    runtime = submit.aws.client("sagemaker-runtime")
    fired = []

    def during_invoke(**_):
        if not fired:
            fired.append(True)
            action()

    runtime.meta.events.register("before-call.sagemaker-runtime.InvokeEndpointAsync", during_invoke)


@pytest.mark.parametrize("same_event", [True, False], ids=["exact-duplicate", "new-sequencer"])
def test_a_duplicate_arriving_mid_invocation_does_not_invoke_again(
    stack, load_function, context, same_event
):
    # Two copies of the module, as the local stack's pool (or two Lambda environments) has them.
    first, second = load_function("submit"), load_function("submit")
    key = f"uploads/{JOB}/clip.mp4"
    _awaiting(stack, key)
    stack.put_video(key)
    event = upload_event(key, sequencer="00AA")
    duplicate = upload_event(key, sequencer="00AA" if same_event else "00AB")
    answers = []
    _hook_once(first, lambda: answers.append(second.lambda_handler(duplicate, context)))

    assert first.lambda_handler(event, context) == {"batchItemFailures": []}

    assert len(stack.invocations) == 1
    assert stack.item(JOB)["status"] == "IN_PROGRESS"
    assert "claim_token" not in stack.item(JOB)
    if same_event:
        # The idempotency record is in progress: the copy returns its record to the queue.
        assert len(answers[0]["batchItemFailures"]) == 1
        assert second.lambda_handler(duplicate, context) == {"batchItemFailures": []}
        assert len(stack.invocations) == 1
    else:
        # The claim stops it; its message is done.
        assert answers == [{"batchItemFailures": []}]


def test_many_duplicate_races_invoke_once_per_job(stack, load_function, context):
    copies = [load_function("submit") for _ in range(3)]
    jobs = [f"{JOB[:-2]}{index:02x}" for index in range(12)]
    for index, job in enumerate(jobs):
        key = f"uploads/{job}/clip.mp4"
        _awaiting(stack, key)
        stack.put_video(key)
        holder, *others = copies[index % 3 :] + copies[: index % 3]
        events = [upload_event(key, sequencer=f"{index:02X}{n}") for n in range(3)]
        _hook_once(
            holder,
            lambda others=others, events=events: [
                copy.lambda_handler(dup, context)
                for copy, dup in zip(others, events[1:], strict=True)
            ],
        )
        holder.lambda_handler(events[0], context)
        for copy, dup in zip(others, events[1:], strict=True):
            assert copy.lambda_handler(dup, context) == {"batchItemFailures": []}
        holder.aws.client("sagemaker-runtime").meta.events.unregister(
            "before-call.sagemaker-runtime.InvokeEndpointAsync"
        )

    invoked = [call["InferenceId"] for call in stack.invocations]
    assert sorted(invoked) == sorted(jobs)
    assert all(stack.item(job)["status"] == "IN_PROGRESS" for job in jobs)


def test_a_failed_invocation_releases_the_claim_for_the_retry(stack, load_function, context):
    from botocore.exceptions import ClientError

    submit = load_function("submit")
    key = f"uploads/{JOB}/clip.mp4"
    _awaiting(stack, key)
    stack.put_video(key)

    def server_error(**_):
        raise ClientError(
            {"Error": {"Code": "ServiceUnavailable", "Message": "try later"}},
            "InvokeEndpointAsync",
        )

    runtime = submit.aws.client("sagemaker-runtime")
    runtime.meta.events.register("before-call.sagemaker-runtime.InvokeEndpointAsync", server_error)
    assert len(submit.lambda_handler(upload_event(key), context)["batchItemFailures"]) == 1
    assert stack.item(JOB)["status"] == "QUEUED"
    assert "claim_token" not in stack.item(JOB)

    runtime.meta.events.unregister(
        "before-call.sagemaker-runtime.InvokeEndpointAsync", server_error
    )
    assert submit.lambda_handler(upload_event(key), context) == {"batchItemFailures": []}
    assert stack.item(JOB)["status"] == "IN_PROGRESS"
    # Two calls were attempted; the endpoint accepted the second only.
    assert len(stack.invocations) == 2


def test_a_claim_that_outlived_its_holder_lapses(stack, load_function, context):
    submit = load_function("submit")
    key = f"uploads/{JOB}/clip.mp4"
    stack.put_video(key)
    stack.table.put_item(
        Item={
            "job_id": JOB,
            "owner": "direct",
            "status": "QUEUED",
            "created_at": "2026-01-01T00:00:00.000000Z",
            "updated_at": "2026-01-01T00:00:00.000000Z",
            "object_key": key,
            "filename": "clip.mp4",
            "claim_token": "a-holder-that-died",
            "claim_until": 1,
        }
    )

    assert submit.lambda_handler(upload_event(key), context) == {"batchItemFailures": []}

    assert stack.item(JOB)["status"] == "IN_PROGRESS"
    assert len(stack.invocations) == 1


def test_the_idempotency_key_ignores_the_module_name(stack, load_function, context):
    first, second = load_function("submit"), load_function("submit")
    assert first.__name__ != second.__name__
    key = "uploads/direct upload.mp4"
    stack.put_video(key)
    first.lambda_handler(upload_event(key, sequencer="00AA"), context)

    second.lambda_handler(upload_event(key, sequencer="00AA"), context)

    ddb = first.aws.client("dynamodb")
    ids = [item["id"]["S"] for item in ddb.scan(TableName=IDEMPOTENCY_TABLE)["Items"]]
    assert len(ids) == 1
    assert ids[0].startswith("video-sentiment.submit.submit_upload#")


def test_a_transient_failure_is_retried_later_and_later(stack, env, load_function, context):
    import time

    from moto.sqs.models import sqs_backends

    from vs_common.invocation import retry_delay_s

    env.setenv("ENDPOINT_NAME", "")
    submit = load_function("submit")
    key = f"uploads/{JOB}/clip.mp4"
    _awaiting(stack, key)
    stack.put_video(key)
    queue_name = SPEC.names["UploadsQueue"]
    queue_url = stack.sqs.get_queue_url(QueueName=queue_name)["QueueUrl"]
    stack.sqs.send_message(QueueUrl=queue_url, MessageBody=upload_event(key)["Records"][0]["body"])
    queue = sqs_backends["123456789012"]["us-east-1"].queues[queue_name]
    for receive in (1, 2):
        message = queue._messages[0]
        message.visible_at = 0.0
        received = stack.sqs.receive_message(QueueUrl=queue_url, AttributeNames=["All"])
        record = dict(upload_event(key)["Records"][0])
        record.update(
            messageId=received["Messages"][0]["MessageId"],
            receiptHandle=received["Messages"][0]["ReceiptHandle"],
            attributes={**record["attributes"], "ApproximateReceiveCount": str(receive)},
            eventSourceARN=f"arn:aws:sqs:us-east-1:123456789012:{queue_name}",
        )

        response = submit.lambda_handler({"Records": [record]}, context)

        assert len(response["batchItemFailures"]) == 1
        hidden_for = message.visible_at / 1000 - time.time()
        assert retry_delay_s(receive) - 5 < hidden_for <= retry_delay_s(receive)
    assert [retry_delay_s(n) for n in (1, 2, 3, 4, 10)] == [30, 60, 120, 240, 900]
    assert stack.item(JOB)["status"] == "QUEUED"


def test_log_lines_carry_their_own_invocations_request_and_job(stack, env, load_function):
    import io
    import threading

    from support import LambdaContext

    env.setenv("LOG_LEVEL", "INFO")
    env.setenv("POWERTOOLS_LOG_LEVEL", "INFO")
    copies = [load_function("submit"), load_function("submit")]
    # The handler keeps whichever stdout it first saw (an earlier test's capture in a full
    # run), so the lines are read from a stream of this test's own.
    out = io.StringIO()
    for copy in copies:
        copy.logger.setLevel("INFO")
        env.setattr(copy.logger.registered_handler, "stream", out)
    keys = [f"uploads/notes-{n}.txt" for n in range(6)]
    for key in keys:
        stack.s3.put_object(Bucket=BUCKET, Key=key, Body=b"hello")
    expected = {}
    start = threading.Barrier(2)

    def run(copy, key):
        context = LambdaContext()
        expected[context.aws_request_id] = _job_id(stack, key)
        start.wait()
        copy.lambda_handler(upload_event(key), context)

    for first, second in zip(keys[::2], keys[1::2], strict=True):
        threads = [
            threading.Thread(target=run, args=(copy, key))
            for copy, key in zip(copies, (first, second), strict=True)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

    lines = [json.loads(line) for line in out.getvalue().splitlines() if '"level"' in line]
    rejected = [line for line in lines if line["message"] == "upload rejected"]
    assert len(rejected) == len(keys)
    for line in rejected:
        assert expected[line["function_request_id"]] == line["job_id"]
