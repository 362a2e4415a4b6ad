"""Submit: an object created under uploads/ becomes a job on the asynchronous endpoint.

SQS (uploads queue) → this function → job row, request manifest, InvokeEndpointAsync.
Exactly one invocation per job: before InvokeEndpointAsync a conditional write claims the
QUEUED job, and a concurrent claimer (a duplicate event) sees the claim and stops. A record
that fails for a transient reason (no endpoint yet, throttling, a 5xx, no connection) releases
the claim and goes back to the queue with backoff, the job left QUEUED; a bad upload is written
FAILED at once with a code and a sentence naming the file.
"""

from __future__ import annotations

import uuid
from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import process_partial_response
from aws_lambda_powertools.utilities.idempotency import (
    DynamoDBPersistenceLayer,
    IdempotencyConfig,
    idempotent_function,
)
from aws_lambda_powertools.utilities.typing import LambdaContext

from vs_common import aws
from vs_common.invocation import BackoffBatchProcessor, log_keys, per_invocation_logs
from vs_common.jobs import DIRECT_OWNER, InvalidTransition, Job, JobStatus, utc_now
from vs_common.keys import (
    decode_event_key,
    derived_job_id,
    filename_of,
    job_id_from_key,
    s3_uri,
)
from vs_common.manifests import Manifest
from vs_common.objects import head, read_head
from vs_common.reasons import Failure, content_failure, upload_failure
from vs_common.s3events import S3TestEvent, UploadRecord, UploadRef
from vs_common.settings import Settings, SettingsError
from vs_common.sidecars import find_transcript
from vs_common.store import JobStore
from vs_common.videos import SNIFF_BYTES, is_transcript_name

# A row made by POST /uploads becomes QUEUED; one queued already (by an earlier attempt or a
# duplicate event) stays as it is and goes on to the claim.
ENQUEUE_FROM = (JobStatus.AWAITING_UPLOAD,)
REJECT_FROM = (JobStatus.AWAITING_UPLOAD, JobStatus.QUEUED)
# The idempotency records' key prefix: the same whichever module name the handler was imported
# under (the local stack imports one copy per execution environment).
IDEMPOTENCY_PREFIX = "video-sentiment.submit.submit_upload"
# Time kept back from a claim's lease: a claim lapses only once its holder cannot be running.
LEASE_MARGIN_S = 5.0

SETTINGS = Settings.from_env()
if not SETTINGS.idempotency_table:
    raise SettingsError("environment variable IDEMPOTENCY_TABLE is required by submit")

logger = Logger()
tracer = Tracer()
metrics = Metrics()
# Report every failed record, even when all fail, rather than raising: the queue retries
# exactly those, and callers (the local poller, sam local invoke) see one shape of answer.
processor = BackoffBatchProcessor(UploadRecord, logger)
store = JobStore(aws.table(SETTINGS.jobs_table), SETTINGS.retention_days)
idempotency = IdempotencyConfig(
    event_key_jmespath="[bucket, key, version_id, sequencer]",
    raise_on_no_idempotency_key=True,
    expires_after_seconds=SETTINGS.retention_days * 86400,
)
persistence = DynamoDBPersistenceLayer(
    table_name=SETTINGS.idempotency_table, boto3_client=aws.client("dynamodb")
)


class EndpointUnavailable(RuntimeError):
    """The stack has no endpoint yet; the message returns to the queue and is retried."""


def _base_job(upload: UploadRef, meta: dict[str, Any], job_id: str) -> Job:
    now = utc_now()
    return Job(
        job_id=job_id,
        owner=meta.get("Metadata", {}).get("owner") or DIRECT_OWNER,
        status=JobStatus.QUEUED,
        created_at=now,
        updated_at=now,
        object_key=upload.key,
        filename=filename_of(upload.key),
        content_type=meta.get("ContentType"),
        size_bytes=meta["ContentLength"],
        version_id=meta.get("VersionId") or upload.version_id,
        expires_at=store.expiry(),
    )


@tracer.capture_method
def _problem(upload: UploadRef, job: Job) -> Failure | None:
    """Why this upload cannot be processed, or None."""
    failure = upload_failure(job.filename, job.size_bytes or 0, SETTINGS.max_video_bytes)
    if failure:
        return failure
    first = read_head(aws.client("s3"), upload.bucket, upload.key, SNIFF_BYTES, job.version_id)
    return content_failure(job.filename, first)


@tracer.capture_method
def _write_manifest(upload: UploadRef, job: Job, key: str) -> None:
    # The version submit checked, so that a second upload through the same presigned POST
    # cannot replace what the endpoint reads.
    manifest = Manifest(
        video=s3_uri(upload.bucket, upload.key),
        video_version_id=job.version_id,
        transcript=find_transcript(aws.client("s3"), upload.bucket, upload.key),
        job_id=job.job_id,
    )
    aws.client("s3").put_object(
        Bucket=SETTINGS.bucket, Key=key, Body=manifest.to_json(), ContentType="application/json"
    )


@tracer.capture_method
def _remove_orphan(upload: UploadRef, version_id: str | None) -> None:
    """Delete an API upload whose job no longer exists: its owner asked for its data to go."""
    kwargs = {"Bucket": upload.bucket, "Key": upload.key}
    if version_id:
        kwargs["VersionId"] = version_id
    aws.client("s3").delete_object(**kwargs)
    logger.warning("upload for a job that does not exist; deleted", extra={"key": upload.key})
    metrics.add_metric(name="OrphanUploadsDeleted", unit=MetricUnit.Count, value=1)


@tracer.capture_method
def _invoke(job: Job, manifest_key: str) -> dict[str, Any]:
    if not SETTINGS.endpoint_name:
        raise EndpointUnavailable(
            f"job {job.job_id} stays QUEUED: the stack has no endpoint yet (ENDPOINT_NAME is empty)"
        )
    return aws.client("sagemaker-runtime").invoke_endpoint_async(
        EndpointName=SETTINGS.endpoint_name,
        InputLocation=s3_uri(SETTINGS.bucket, manifest_key),
        ContentType="application/json",
        InferenceId=job.job_id,
        InvocationTimeoutSeconds=SETTINGS.invocation_timeout_s,
    )


def _enqueue(upload: UploadRef, job: Job, failure: Failure | None, must_exist: bool) -> str | None:
    """Write the job QUEUED (or FAILED for a bad upload); why to stop instead, if so."""
    try:
        if failure:
            store.upsert(
                job.model_copy(
                    update={
                        "status": JobStatus.FAILED,
                        "reason": failure.message,
                        "reason_code": failure.code.value,
                    }
                ),
                allowed_from=REJECT_FROM,
                must_exist=must_exist,
            )
        else:
            store.upsert(job, allowed_from=ENQUEUE_FROM, must_exist=must_exist)
    except InvalidTransition as exc:
        if exc.current is None:
            _remove_orphan(upload, job.version_id)
            return "orphan"
        if failure is None and exc.current is JobStatus.QUEUED:
            return None
        logger.info("job already past submission; nothing to do", extra={"detail": str(exc)})
        return "duplicate"
    return None


@idempotent_function(
    data_keyword_argument="upload",
    persistence_store=persistence,
    config=idempotency,
    key_prefix=IDEMPOTENCY_PREFIX,
)
def submit_upload(upload: UploadRef, lease_s: float) -> dict[str, str]:
    """Turn one created object into a job; returns what happened (stored for duplicates).

    `lease_s` bounds the claim: the time this invocation may still run.
    """
    # Before any read of the object: the upload of a deleted job may be gone already, and a
    # HEAD of a missing key answers 403 to a role without ListBucket on it.
    api_job_id = job_id_from_key(SETTINGS.upload_prefix, upload.key)
    if api_job_id is not None and store.get(api_job_id) is None:
        _remove_orphan(upload, upload.version_id)
        return {"outcome": "orphan", "job_id": api_job_id}
    meta = head(aws.client("s3"), upload.bucket, upload.key, upload.version_id)
    if meta is None:
        logger.info("object is gone before it could be processed", extra={"key": upload.key})
        return {"outcome": "gone"}
    job_id = api_job_id or derived_job_id(upload.bucket, upload.key, upload.version_token)
    manifest_key = f"{SETTINGS.requests_prefix}{job_id}.json"
    job = _base_job(upload, meta, job_id).model_copy(update={"manifest_key": manifest_key})
    with log_keys(logger, job_id=job_id):
        failure = _problem(upload, job)
        # An API upload only continues the row POST /uploads made: without it (the job was
        # deleted, and its presigned POST used again) the object belongs to no job.
        stopped = _enqueue(upload, job, failure, must_exist=api_job_id is not None)
        if stopped:
            return {"outcome": stopped, "job_id": job_id}
        if failure:
            logger.info(
                "upload rejected", extra={"reason_code": failure.code.value, "key": upload.key}
            )
            metrics.add_metric(name="UploadsRejected", unit=MetricUnit.Count, value=1)
            return {"outcome": "rejected", "job_id": job_id}
        token = uuid.uuid4().hex
        if not store.claim(job_id, token, lease_s):
            # The holder invokes, or releases the claim and retries its own message.
            logger.info("another invocation holds the job's claim; stopping")
            return {"outcome": "claimed elsewhere", "job_id": job_id}
        try:
            _write_manifest(upload, job, manifest_key)
            response = _invoke(job, manifest_key)
        except Exception:
            store.release(job_id, token)
            raise
        store.start(
            job_id,
            token,
            {
                "inference_id": response.get("InferenceId", job_id),
                "output_location": response.get("OutputLocation"),
                "failure_location": response.get("FailureLocation"),
            },
        )
        metrics.add_metric(name="JobsSubmitted", unit=MetricUnit.Count, value=1)
        logger.info("job submitted to the endpoint", extra={"key": upload.key})
        return {"outcome": "submitted", "job_id": job_id}


def _upload_refs(record: UploadRecord) -> list[UploadRef]:
    body = record.body
    if isinstance(body, S3TestEvent):
        logger.info("ignoring S3 test event", extra={"bucket": body.Bucket})
        return []
    refs = []
    for s3_record in body.Records:
        obj = s3_record.s3.object
        if obj is None or not s3_record.eventName.startswith("ObjectCreated"):
            logger.info("ignoring S3 event", extra={"event_name": s3_record.eventName})
            continue
        refs.append(
            UploadRef(
                bucket=s3_record.s3.bucket.name,
                key=decode_event_key(obj.key),
                version_id=obj.versionId,
                sequencer=obj.sequencer,
            )
        )
    return refs


@tracer.capture_method
def record_handler(record: UploadRecord, lambda_context: LambdaContext) -> None:
    """Handle one SQS record; raising sends it back to the queue."""
    lease_s = lambda_context.get_remaining_time_in_millis() / 1000 + LEASE_MARGIN_S
    for upload in _upload_refs(record):
        if not upload.key.startswith(SETTINGS.upload_prefix):
            logger.info("ignoring object outside the upload prefix", extra={"key": upload.key})
            continue
        if is_transcript_name(upload.key):
            logger.info("transcript sidecar; read with its video", extra={"key": upload.key})
            continue
        submit_upload(upload=upload, lease_s=lease_s)


@per_invocation_logs(logger)
@tracer.capture_lambda_handler
@metrics.log_metrics(capture_cold_start_metric=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """Process a batch of upload notifications, reporting the records that failed."""
    idempotency.register_lambda_context(context)
    return process_partial_response(
        event=event, record_handler=record_handler, processor=processor, context=context
    )
