"""The complete function: SageMaker async notifications (SNS → SQS) settle jobs."""

from __future__ import annotations

import json
import logging

import pytest
from support import BUCKET, make_result, notification_event

JOB = "5d0c4e7a9b8f4a1c9e2d3b4a5c6d7e8f"
OUTPUT_KEY = "results/0b1f8a44-7e2c-4c1e-9d57-2f5a8e0c3b61.out"


@pytest.fixture
def in_progress(stack):
    """A job the submit function has handed to the endpoint."""
    stack.table.put_item(
        Item={
            "job_id": JOB,
            "owner": "2f5b7c1e-8d4a-4e3b-9a6f-1c0d2e3f4a5b",
            "status": "IN_PROGRESS",
            "created_at": "2026-01-01T00:00:00.000000Z",
            "updated_at": "2026-01-01T00:00:01.000000Z",
            "object_key": f"uploads/{JOB}/clip.mp4",
            "filename": "clip.mp4",
            "inference_id": JOB,
        }
    )
    return JOB


def _put_result(stack, document, key: str = OUTPUT_KEY) -> None:
    stack.s3.put_object(Bucket=BUCKET, Key=key, Body=json.dumps(document).encode())


def test_success_from_the_event_file_stores_the_result_inline(
    stack, in_progress, load_function, context
):
    complete = load_function("complete")
    document = make_result(JOB)
    _put_result(stack, document)

    response = complete.lambda_handler(notification_event("complete_success", JOB), context)

    assert response == {"batchItemFailures": []}
    item = stack.item(JOB)
    assert item["status"] == "COMPLETED"
    assert json.loads(item["result_json"]) == document
    assert "result_key" not in item
    assert item["output_location"] == f"s3://{BUCKET}/{OUTPUT_KEY}"


def test_large_result_is_kept_by_reference(stack, in_progress, load_function, context):
    complete = load_function("complete")
    document = make_result(JOB, utterances=40)
    assert len(json.dumps(document)) > 4096
    _put_result(stack, document)

    complete.lambda_handler(notification_event("complete_success", JOB), context)

    item = stack.item(JOB)
    assert item["status"] == "COMPLETED"
    assert item["result_key"] == OUTPUT_KEY
    assert "result_json" not in item


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"{truncated", "the result document is not valid JSON"),
        (
            json.dumps({**make_result(JOB), "segmentation": "guesswork"}).encode(),
            "at segmentation: 'guesswork' is not one of",
        ),
        (
            json.dumps(make_result("someone-else")).encode(),
            "is for job 'someone-else'",
        ),
    ],
)
def test_invalid_result_fails_the_job_as_a_model_error_and_logs_why(
    stack, in_progress, load_function, context, caplog, body, reason
):
    complete = load_function("complete")
    stack.s3.put_object(Bucket=BUCKET, Key=OUTPUT_KEY, Body=body)

    response = complete.lambda_handler(notification_event("complete_success", JOB), context)

    assert response == {"batchItemFailures": []}
    item = stack.item(JOB)
    assert item["status"] == "FAILED"
    assert item["reason_code"] == "model_error"
    assert item["reason"].startswith("The model failed on 'clip.mp4'")
    assert reason not in item["reason"]
    assert any(reason in str(getattr(line, "detail", "")) for line in caplog.records)


def test_result_over_the_size_bound_is_refused(stack, in_progress, env, load_function, context):
    env.setenv("RESULT_MAX_BYTES", "1000")
    complete = load_function("complete")
    _put_result(stack, make_result(JOB, utterances=10))

    complete.lambda_handler(notification_event("complete_success", JOB), context)

    item = stack.item(JOB)
    assert item["status"] == "FAILED"
    assert item["reason_code"] == "model_error"


def test_missing_result_object_fails_the_job(stack, in_progress, load_function, context):
    complete = load_function("complete")

    complete.lambda_handler(notification_event("complete_success", JOB), context)

    assert stack.item(JOB)["reason_code"] == "model_error"


def test_failure_notification_keeps_the_models_own_message(
    stack, in_progress, load_function, context
):
    complete = load_function("complete")

    response = complete.lambda_handler(notification_event("complete_failure", JOB), context)

    assert response == {"batchItemFailures": []}
    item = stack.item(JOB)
    assert item["status"] == "FAILED"
    assert item["reason_code"] == "no_video_stream"
    assert item["reason"] == "'clip.mp4' has no video stream: it holds only audio."
    assert item["failure_location"].startswith(f"s3://{BUCKET}/failures/")


def test_redelivered_notification_changes_nothing(stack, in_progress, load_function, context):
    complete = load_function("complete")
    _put_result(stack, make_result(JOB))
    event = notification_event("complete_success", JOB)
    complete.lambda_handler(event, context)
    settled = stack.item(JOB)

    again = complete.lambda_handler(event, context)
    failure_after = complete.lambda_handler(notification_event("complete_failure", JOB), context)

    assert again == failure_after == {"batchItemFailures": []}
    assert stack.item(JOB) == settled


def test_unknown_job_fails_the_record_with_an_error_log_line(stack, load_function, context, caplog):
    complete = load_function("complete")
    event = notification_event("complete_success", "0" * 32)
    # Powertools' logger does not propagate; listen on it directly.
    logging.getLogger(complete.logger.name).addHandler(caplog.handler)
    try:
        response = complete.lambda_handler(event, context)
    finally:
        logging.getLogger(complete.logger.name).removeHandler(caplog.handler)

    assert response == {"batchItemFailures": [{"itemIdentifier": event["Records"][0]["messageId"]}]}
    assert any(
        r.levelno == logging.ERROR and r.getMessage() == "notification for an unknown job"
        for r in caplog.records
    )


def test_notification_before_submit_finished_is_retried(stack, load_function, context):
    complete = load_function("complete")
    stack.table.put_item(
        Item={
            "job_id": JOB,
            "owner": "direct",
            "status": "QUEUED",
            "created_at": "2026-01-01T00:00:00.000000Z",
            "updated_at": "2026-01-01T00:00:00.000000Z",
            "object_key": "uploads/clip.mp4",
            "filename": "clip.mp4",
        }
    )
    _put_result(stack, make_result(JOB))

    response = complete.lambda_handler(notification_event("complete_success", JOB), context)

    assert len(response["batchItemFailures"]) == 1
    assert stack.item(JOB)["status"] == "QUEUED"


def test_a_message_that_is_not_a_notification_fails_alone(
    stack, in_progress, load_function, context
):
    complete = load_function("complete")
    _put_result(stack, make_result(JOB))
    event = notification_event("complete_success", JOB)
    bad = notification_event("complete_success", JOB, invocationStatus="Pending")
    event["Records"].append(bad["Records"][0])

    response = complete.lambda_handler(event, context)

    assert response == {"batchItemFailures": [{"itemIdentifier": bad["Records"][0]["messageId"]}]}
    assert stack.item(JOB)["status"] == "COMPLETED"
