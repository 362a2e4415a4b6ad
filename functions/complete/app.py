"""Complete: SageMaker's async notification settles the job as COMPLETED or FAILED.

SNS success / error topic → SQS (notifications queue) → this function → job row.
A redelivered notification changes nothing; one for an unknown job fails its record, which
returns to the queue and ends in the dead-letter queue after the maximum receives.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import process_partial_response
from aws_lambda_powertools.utilities.typing import LambdaContext

from vs_common import aws, results
from vs_common.invocation import BackoffBatchProcessor, log_keys, per_invocation_logs
from vs_common.jobs import TERMINAL, InvalidTransition, Job, JobStatus
from vs_common.keys import is_under
from vs_common.notifications import AsyncInferenceNotification, NotificationRecord
from vs_common.reasons import Failure, FailureCode, inference_failure, service_failure
from vs_common.settings import Settings
from vs_common.store import JobStore

SETTINGS = Settings.from_env()

logger = Logger()
tracer = Tracer()
metrics = Metrics()
# Report every failed record, even when all fail (see the submit function).
processor = BackoffBatchProcessor(NotificationRecord, logger)
store = JobStore(aws.table(SETTINGS.jobs_table), SETTINGS.retention_days)
SERVICE_FAULTS = frozenset({FailureCode.MODEL_ERROR, FailureCode.UNAVAILABLE})


class UnknownJob(LookupError):
    """A notification names a job the table does not hold."""


class NotYetInProgress(RuntimeError):
    """The notification overtook the submit function's last write; retry later."""


class ForeignLocation(ValueError):
    """A notification names an output outside this stack's results/ or failures/ folders.

    SageMaker only writes where the endpoint config says; anything else was not published by
    it. The record fails (and ends in the dead-letter queue, which an alarm watches) and the job
    is left alone, so a forged notification can neither settle nor fail a job.
    """


def _foreign_location(note: AsyncInferenceNotification) -> str | None:
    """Why the notification's output location cannot be this endpoint's, or None."""
    params = note.responseParameters
    if note.succeeded:
        where, uri, prefix = "outputLocation", params.outputLocation, SETTINGS.results_prefix
    elif params.failureLocation is not None:
        where, uri, prefix = "failureLocation", params.failureLocation, SETTINGS.failures_prefix
    else:
        return None
    if is_under(uri or "", SETTINGS.bucket, prefix):
        return None
    return f"{where} {uri!r} is not under s3://{SETTINGS.bucket}/{prefix}"


@tracer.capture_method
def _settle_success(job: Job, note: AsyncInferenceNotification) -> Job:
    uri = note.responseParameters.outputLocation or ""
    try:
        loaded = results.load(aws.client("s3"), uri, job.job_id, SETTINGS.result_max_bytes)
    except results.InvalidResult as exc:
        metrics.add_metric(name="InvalidResults", unit=MetricUnit.Count, value=1)
        logger.error("result rejected", extra={"detail": str(exc), "output_location": uri})
        return _fail(
            job, service_failure(FailureCode.MODEL_ERROR, job.filename), {"output_location": uri}
        )
    fields: dict[str, Any] = {"output_location": uri}
    if len(loaded.raw) <= SETTINGS.result_inline_max_bytes:
        fields["result_json"] = loaded.raw.decode("utf-8")
    else:
        fields["result_key"] = loaded.key
    metrics.add_metric(name="JobsCompleted", unit=MetricUnit.Count, value=1)
    return store.transition(job.job_id, JobStatus.COMPLETED, fields)


def _fail(job: Job, failure: Failure, fields: dict[str, Any]) -> Job:
    metrics.add_metric(name="JobsFailed", unit=MetricUnit.Count, value=1)
    return store.transition(
        job.job_id,
        JobStatus.FAILED,
        {"reason": failure.message, "reason_code": failure.code.value, **fields},
    )


@tracer.capture_method
def _settle_failure(job: Job, note: AsyncInferenceNotification) -> Job:
    failure = inference_failure(note.failureReason, job.filename)
    # The raw reason may name hosts, ports and temporary files: the log keeps it, the job not.
    log = logger.error if failure.code in SERVICE_FAULTS else logger.info
    log(
        "inference failed",
        extra={"reason_code": failure.code.value, "failure_reason": note.failureReason},
    )
    return _fail(job, failure, {"failure_location": note.responseParameters.failureLocation})


@tracer.capture_method
def record_handler(record: NotificationRecord) -> None:
    """Settle the job named by one notification; raising returns the record to the queue."""
    note = record.body.Message
    with log_keys(logger, job_id=note.inferenceId):
        _settle(note)


def _settle(note: AsyncInferenceNotification) -> None:
    job_id = note.inferenceId
    foreign = _foreign_location(note)
    if foreign:
        metrics.add_metric(name="ForeignNotifications", unit=MetricUnit.Count, value=1)
        logger.error("notification refused", extra={"reason": foreign})
        raise ForeignLocation(foreign)
    job = store.get(job_id)
    if job is None:
        logger.error(
            "notification for an unknown job", extra={"invocation_status": note.invocationStatus}
        )
        raise UnknownJob(f"no job {job_id!r} for this {note.invocationStatus} notification")
    if job.status in TERMINAL:
        logger.info(
            "job already settled; redelivered notification ignored",
            extra={"status": job.status.value},
        )
        return
    if job.status is not JobStatus.IN_PROGRESS:
        raise NotYetInProgress(f"job {job_id} is {job.status.value}, not yet IN_PROGRESS")
    try:
        settled = _settle_success(job, note) if note.succeeded else _settle_failure(job, note)
    except InvalidTransition as exc:
        logger.info("job settled concurrently; nothing to do", extra={"detail": str(exc)})
        return
    logger.info("job settled", extra={"status": settled.status.value})


@per_invocation_logs(logger)
@tracer.capture_lambda_handler
@metrics.log_metrics(capture_cold_start_metric=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """Process a batch of notifications, reporting the records that failed."""
    return process_partial_response(
        event=event, record_handler=record_handler, processor=processor, context=context
    )
