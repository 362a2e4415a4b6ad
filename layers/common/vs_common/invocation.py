"""What belongs to one invocation of a function: its log keys and the delay before a retry.

Powertools' `inject_lambda_context` and `append_keys` write keys that every Logger of the
service shares. One Lambda environment runs one invocation at a time, but the local stack
runs several environments as threads of one process, where such keys leak from one
invocation into another's lines. The keys here live in a context variable, so each thread
(and each invocation, which clears them first) logs only its own.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType
from aws_lambda_powertools.utilities.batch.base import FailureResponse
from aws_lambda_powertools.utilities.batch.exceptions import ExceptionInfo
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.jmespath_utils import query
from botocore.exceptions import BotoCoreError, ClientError

from vs_common import aws

Handler = TypeVar("Handler", bound=Callable[..., Any])

# Retries through the queue wait 30 s, 60 s, 120 s, … up to 15 minutes (SQS allows 12 h).
FIRST_RETRY_S = 30
MAX_RETRY_S = 900


def per_invocation_logs(
    logger: Logger, correlation_id_path: str | None = None
) -> Callable[[Handler], Handler]:
    """Decorate a Lambda handler so that its log lines carry its own request id, and only it.

    `correlation_id_path` (a JMESPath into the event, as Powertools' correlation_paths give)
    adds the caller's request id as correlation_id.
    """

    def decorate(handler: Handler) -> Handler:
        @functools.wraps(handler)
        def wrapped(event: Any, context: Any, *args: Any, **kwargs: Any) -> Any:
            logger.thread_safe_clear_keys()
            keys = {
                "function_name": context.function_name,
                "function_request_id": context.aws_request_id,
                "function_arn": context.invoked_function_arn,
                "function_memory_size": context.memory_limit_in_mb,
            }
            if correlation_id_path:
                keys["correlation_id"] = query(envelope=correlation_id_path, data=event)
            logger.thread_safe_append_keys(**keys)
            try:
                return handler(event, context, *args, **kwargs)
            finally:
                logger.thread_safe_clear_keys()

        return wrapped  # type: ignore[return-value]

    return decorate


@contextmanager
def log_keys(logger: Logger, **keys: Any) -> Iterator[None]:
    """Add keys (such as job_id) to this invocation's lines while one record is handled."""
    logger.thread_safe_append_keys(**keys)
    try:
        yield
    finally:
        logger.thread_safe_remove_keys(keys)


def retry_delay_s(receive_count: int) -> int:
    """Exponential backoff for the `receive_count`-th failed delivery of a message."""
    return min(MAX_RETRY_S, FIRST_RETRY_S * 2 ** max(0, receive_count - 1))


def queue_url(sqs: Any, queue_arn: str) -> str:
    """The URL of a queue from its ARN, on the client's own endpoint (AWS or a local one)."""
    _, _, _, _, account, name = queue_arn.split(":", 5)
    return f"{sqs.meta.endpoint_url.rstrip('/')}/{account}/{name}"


def _delivery(record: Any) -> tuple[str, str, int] | None:
    """Queue ARN, receipt handle and receive count of a record, parsed by a model or not."""
    if isinstance(record, SQSRecord):
        count = record.attributes.approximate_receive_count
        return record.event_source_arn, record.receipt_handle, int(count or 1)
    if record is None or not hasattr(record, "receiptHandle"):
        return None
    count = record.attributes.ApproximateReceiveCount
    return record.eventSourceARN, record.receiptHandle, int(count or 1)


class BackoffBatchProcessor(BatchProcessor):
    """An SQS batch processor that hides each failed record for an exponential backoff delay.

    The record goes back to its queue as with any partial batch failure; the delay only spaces
    out its retries (30 s, 60 s, 120 s, …) until the redrive policy moves it to the dead-letter
    queue, whose alarm tells the operators.
    """

    def __init__(self, model: Any, logger: Logger) -> None:
        super().__init__(event_type=EventType.SQS, model=model, raise_on_entire_batch_failure=False)
        self._log = logger

    def failure_handler(self, record: Any, exception: ExceptionInfo) -> FailureResponse:
        """Record the failure, then delay the record's next delivery."""
        response = super().failure_handler(record, exception)
        delivery = _delivery(record)
        if delivery is None:
            return response
        arn, receipt, receives = delivery
        delay = retry_delay_s(receives)
        try:
            sqs = aws.client("sqs")
            sqs.change_message_visibility(
                QueueUrl=queue_url(sqs, arn), ReceiptHandle=receipt, VisibilityTimeout=delay
            )
        except (BotoCoreError, ClientError) as exc:
            # The queue's own visibility timeout then spaces the retry instead.
            self._log.warning("could not delay the retry", extra={"error": str(exc)})
            return response
        self._log.warning(
            "record failed; retried later through the queue",
            extra={"error": str(exception[1]), "receive_count": receives, "retry_in_s": delay},
        )
        return response
