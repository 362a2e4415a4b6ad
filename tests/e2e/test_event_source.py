"""The SQS poller against moto: partial batch failures, redelivery after the visibility timeout,
the dead-letter queue after maxReceiveCount, and a failing invocation keeping its whole batch."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto.server import ThreadedMotoServer

from vsent.local.event_source import QueueSource, SqsPoller
from vsent.local.functions import LocalFunction
from vsent.local.spec import FunctionSpec

HANDLER = """
import json
from pathlib import Path

def lambda_handler(event, context):
    log = Path(__file__).with_name("calls.jsonl")
    bodies = [record["body"] for record in event["Records"]]
    with log.open("a") as handle:
        handle.write(json.dumps(bodies) + "\\n")
    if "explode" in bodies:
        raise RuntimeError("the whole invocation fails")
    return {"batchItemFailures": [
        {"itemIdentifier": r["messageId"]} for r in event["Records"] if r["body"] == "fail"
    ]}
"""


@pytest.fixture()
def sqs() -> Iterator[Any]:
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield boto3.client(
        "sqs", endpoint_url=f"http://{host}:{port}", region_name="us-east-1",
        aws_access_key_id="testing", aws_secret_access_key="testing",
    )  # fmt: skip
    server.stop()


def _function(folder: Path) -> LocalFunction:
    (folder / "app.py").write_text(HANDLER, encoding="utf-8")
    spec = FunctionSpec(
        logical_id="Probe", name="probe", code_uri=folder, handler="app.lambda_handler",
        timeout_s=5, memory_mb=128, environment={}, sqs_events=[], routes=[],
    )  # fmt: skip
    return LocalFunction(spec, "us-east-1")


def _bodies(sqs: Any, url: str) -> list[str]:
    messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
    return sorted(message["Body"] for message in messages)


def _wait_until(condition: Any, timeout_s: float = 20) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, "condition not reached"
        time.sleep(0.2)


def test_partial_failures_are_redelivered_then_dead_lettered(sqs: Any, tmp_path: Path) -> None:
    dlq = sqs.create_queue(QueueName="probe-dlq")["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["QueueArn"])
    redrive = {"deadLetterTargetArn": dlq_arn["Attributes"]["QueueArn"], "maxReceiveCount": 2}
    url = sqs.create_queue(
        QueueName="probe",
        Attributes={"VisibilityTimeout": "1", "RedrivePolicy": json.dumps(redrive)},
    )["QueueUrl"]
    for body in ("ok-1", "fail", "ok-2"):
        sqs.send_message(QueueUrl=url, MessageBody=body)
    function = _function(tmp_path)
    poller = SqsPoller(sqs, QueueSource(url, "arn:probe", "us-east-1"), function, 10, 1, True, 1)
    poller.start()
    try:
        _wait_until(lambda: _bodies(sqs, dlq) == ["fail"])
    finally:
        poller.stop()

    calls = [json.loads(line) for line in (tmp_path / "calls.jsonl").read_text().splitlines()]
    delivered = [body for batch in calls for body in batch]
    assert sorted(calls[0]) == ["fail", "ok-1", "ok-2"]
    assert delivered.count("ok-1") == delivered.count("ok-2") == 1
    assert delivered.count("fail") == 2
    attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    assert attributes["ApproximateNumberOfMessages"] == "0"
    assert attributes["ApproximateNumberOfMessagesNotVisible"] == "0"


def test_an_invocation_that_raises_keeps_the_whole_batch(sqs: Any, tmp_path: Path) -> None:
    url = sqs.create_queue(QueueName="probe-raise", Attributes={"VisibilityTimeout": "30"})[
        "QueueUrl"
    ]
    for body in ("ok", "explode"):
        sqs.send_message(QueueUrl=url, MessageBody=body)
    poller = SqsPoller(
        sqs, QueueSource(url, "arn:x", "us-east-1"), _function(tmp_path), 10, 1, True, 1
    )
    messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=0)
    outcome = poller.process(messages["Messages"])

    assert outcome.deleted == []
    assert sorted(outcome.kept) == sorted(m["MessageId"] for m in messages["Messages"])
