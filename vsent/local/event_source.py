"""A poller that feeds SQS messages to a function as Lambda's event source mapping does.

It receives batches of up to BatchSize, invokes the handler with the SQS event shape, deletes
what succeeded and leaves the rest invisible until their visibility timeout ends, so SQS
redelivers them; after maxReceiveCount receives SQS's redrive moves them to the dead-letter queue.
With ReportBatchItemFailures only the reported records stay; a handler that raises, or reports
an identifier that is not in the batch, fails the whole batch as on AWS.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from typing import Any

from vsent.local.functions import LocalFunction

log = logging.getLogger(__name__)

_MAX_RECEIVE = 10
_WAIT_S = 1


@dataclass(frozen=True)
class QueueSource:
    """Where the poller reads from."""

    url: str
    arn: str
    region: str


@dataclass(frozen=True)
class BatchOutcome:
    """What one invocation left behind: message ids deleted and kept for redelivery."""

    deleted: list[str]
    kept: list[str]


def lambda_record(message: dict[str, Any], source: QueueSource) -> dict[str, Any]:
    """An SQS message as a record of the event Lambda passes to the handler."""
    attributes = {
        name: {
            "stringValue": value.get("StringValue"),
            "binaryValue": value.get("BinaryValue"),
            "stringListValues": value.get("StringListValues", []),
            "binaryListValues": value.get("BinaryListValues", []),
            "dataType": value["DataType"],
        }
        for name, value in message.get("MessageAttributes", {}).items()
    }
    return {
        "messageId": message["MessageId"],
        "receiptHandle": message["ReceiptHandle"],
        "body": message["Body"],
        "attributes": message.get("Attributes", {}),
        "messageAttributes": attributes,
        "md5OfBody": message["MD5OfBody"],
        "eventSource": "aws:sqs",
        "eventSourceARN": source.arn,
        "awsRegion": source.region,
    }


def failed_ids(response: Any, batch_ids: list[str]) -> list[str]:
    """The message ids a ReportBatchItemFailures response keeps; all of them if malformed."""
    if response is None:
        return []
    if not isinstance(response, dict) or not isinstance(
        response.get("batchItemFailures", []), list
    ):
        return list(batch_ids)
    failures = []
    for item in response.get("batchItemFailures", []):
        identifier = item.get("itemIdentifier") if isinstance(item, dict) else None
        if not identifier or identifier not in batch_ids:
            return list(batch_ids)
        failures.append(identifier)
    return failures


class SqsPoller:
    """One event source mapping: `concurrency` threads polling a queue for a function."""

    def __init__(
        self,
        sqs: Any,
        source: QueueSource,
        function: LocalFunction,
        batch_size: int,
        batching_window_s: int,
        report_batch_item_failures: bool,
        concurrency: int,
    ) -> None:
        self._sqs = sqs
        self._source = source
        self._function = function
        self._batch_size = batch_size
        self._window_s = batching_window_s
        self._partial = report_batch_item_failures
        self._stop = threading.Event()
        self._threads = [
            threading.Thread(
                target=self._run, name=f"esm-{function.spec.logical_id}-{index}", daemon=True
            )
            for index in range(concurrency)
        ]

    def start(self) -> None:
        """Start polling."""
        for thread in self._threads:
            thread.start()

    def stop(self) -> None:
        """Stop polling and wait for the batches in flight."""
        self._stop.set()
        for thread in self._threads:
            thread.join()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                batch = self._receive()
                if batch:
                    self.process(batch)
            except Exception:  # a poller survives anything, as the managed one does
                log.exception("event source mapping for %s", self._function.spec.logical_id)
                self._stop.wait(1)

    def _receive(self) -> list[dict[str, Any]]:
        batch: list[dict[str, Any]] = []
        deadline = time.monotonic() + self._window_s
        while not self._stop.is_set() and len(batch) < self._batch_size:
            response = self._sqs.receive_message(
                QueueUrl=self._source.url,
                MaxNumberOfMessages=min(_MAX_RECEIVE, self._batch_size - len(batch)),
                WaitTimeSeconds=_WAIT_S,
                AttributeNames=["All"],
                MessageAttributeNames=["All"],
            )
            batch.extend(response.get("Messages", []))
            if batch and time.monotonic() >= deadline:
                break
        return batch

    def process(self, messages: list[dict[str, Any]]) -> BatchOutcome:
        """Invoke the function with one batch and settle its messages."""
        event = {"Records": [lambda_record(message, self._source) for message in messages]}
        ids = [message["MessageId"] for message in messages]
        try:
            response = self._function.invoke(event)
            kept = failed_ids(response, ids) if self._partial else []
        except Exception:
            log.exception("%s failed; the whole batch returns", self._function.spec.logical_id)
            kept = ids
        done = [message for message in messages if message["MessageId"] not in kept]
        for start in range(0, len(done), _MAX_RECEIVE):
            chunk = done[start : start + _MAX_RECEIVE]
            self._sqs.delete_message_batch(
                QueueUrl=self._source.url,
                Entries=[
                    {"Id": str(index), "ReceiptHandle": message["ReceiptHandle"]}
                    for index, message in enumerate(chunk)
                ],
            )
        return BatchOutcome(deleted=[message["MessageId"] for message in done], kept=kept)
