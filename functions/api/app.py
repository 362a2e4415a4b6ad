"""API: uploads and jobs for the caller's API key, behind API Gateway (REST, API keys).

Routes: POST /uploads, GET /jobs/{job_id}, GET /jobs (own jobs, newest first, or ?key= to find
the job of an object), DELETE /jobs/{job_id}. Errors are JSON {"error": {"code", "message"}};
another key's job answers 404 exactly as a missing one does.
"""

import base64
import binascii
import json
from collections.abc import Callable
from typing import Annotated, Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.event_handler import (
    APIGatewayRestResolver,
    Response,
    content_types,
)
from aws_lambda_powertools.event_handler.openapi.exceptions import RequestValidationError
from aws_lambda_powertools.event_handler.openapi.params import Query
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import BaseModel, ConfigDict, Field, field_validator

from vs_common import aws
from vs_common.jobs import DIRECT_OWNER, InvalidTransition, Job, JobStatus, utc_now
from vs_common.keys import (
    InvalidKey,
    clean_filename,
    is_job_id,
    job_prefix,
    new_job_id,
    parse_s3_uri,
    sidecar_keys,
    upload_key,
)
from vs_common.objects import delete_everything
from vs_common.settings import Settings
from vs_common.store import JobStore
from vs_common.videos import TRANSCRIPT_EXTENSIONS, extension, name_problem

SETTINGS = Settings.from_env()
MAX_PAGE = 100
MAX_TRANSCRIPT_BYTES = 10 * 1024 * 1024
# The type each sidecar is stored with; the presigned POST binds exactly this one.
TRANSCRIPT_CONTENT_TYPES = {
    ".srt": "application/x-subrip",
    ".vtt": "text/vtt",
    ".json": "application/json",
}

logger = Logger()
tracer = Tracer()
metrics = Metrics()
app = APIGatewayRestResolver(enable_validation=True)
store = JobStore(aws.table(SETTINGS.jobs_table), SETTINGS.retention_days)


class ApiError(Exception):
    """An error the caller should see, with its HTTP status and a stable code."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


def _clean(filename: str) -> str:
    try:
        return clean_filename(filename)
    except InvalidKey as exc:
        raise ValueError(str(exc)) from exc


class UploadRequest(BaseModel):
    """Body of POST /uploads."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    filename: str = Field(min_length=1, max_length=1024)
    content_type: str = Field(min_length=1, max_length=255)
    size_bytes: int | None = Field(default=None, ge=1)
    transcript_filename: str | None = Field(default=None, min_length=1, max_length=1024)

    @field_validator("filename")
    @classmethod
    def _filename_is_video(cls, value: str) -> str:
        name = _clean(value)
        problem = name_problem(name)
        if problem:
            raise ValueError(problem)
        return name

    @field_validator("transcript_filename")
    @classmethod
    def _filename_is_transcript(cls, value: str | None) -> str | None:
        if value is None:
            return None
        name = _clean(value)
        if extension(name) not in TRANSCRIPT_EXTENSIONS:
            raise ValueError(
                f"not a transcript: {name!r} does not end in a transcript extension "
                f"({', '.join(TRANSCRIPT_EXTENSIONS)})"
            )
        return name

    @field_validator("content_type")
    @classmethod
    def _content_type_is_video(cls, value: str) -> str:
        if not value.lower().startswith("video/"):
            raise ValueError(f"content_type must be a video type (video/…), not {value!r}")
        return value


def _error(status: int, code: str, message: str) -> Response:
    return Response(
        status_code=status,
        content_type=content_types.APPLICATION_JSON,
        body={"error": {"code": code, "message": message}},
    )


def _api_key_id() -> str | None:
    key_id = app.current_event.request_context.identity.api_key_id
    if not key_id and SETTINGS.sam_local:
        # Under `sam local start-api` the key itself stands in for its id.
        key_id = app.current_event.headers.get("x-api-key")
    return key_id or None


def require_api_key(router: APIGatewayRestResolver, next_middleware: Callable) -> Response:
    """Reject requests without an API key identity; remember the caller as the owner."""
    owner = _api_key_id()
    if not owner:
        return _error(403, "forbidden", "an API key is required (header x-api-key)")
    router.append_context(owner=owner)
    return next_middleware(router)


app.use(middlewares=[require_api_key])


def _owner() -> str:
    return app.context["owner"]


def _visible(job: Job | None, owner: str) -> Job | None:
    """The job if this caller may see it: their own, or one put straight into the bucket."""
    if job is None or job.owner not in {owner, DIRECT_OWNER}:
        return None
    return job


def _job_or_404(job_id: str) -> Job:
    job = _visible(store.get(job_id), _owner()) if is_job_id(job_id) else None
    if job is None:
        raise ApiError(404, "not_found", f"no job {job_id!r}")
    return job


def _presigned_get(key: str) -> str:
    return aws.client("s3").generate_presigned_url(
        "get_object",
        Params={"Bucket": SETTINGS.bucket, "Key": key},
        ExpiresIn=SETTINGS.upload_url_expires_s,
    )


def job_view(job: Job, with_result: bool) -> dict[str, Any]:
    """What a caller sees of a job."""
    view: dict[str, Any] = {
        "job_id": job.job_id,
        "status": job.status.value,
        "key": job.object_key,
        "filename": job.filename,
        "content_type": job.content_type,
        "size_bytes": job.size_bytes,
        "created_at": job.created_at,
        "updated_at": job.updated_at,
    }
    if job.status is JobStatus.FAILED:
        view["reason"] = job.reason
    if with_result and job.status is JobStatus.COMPLETED:
        if job.result_json:
            view["result"] = job.result
        elif job.result_key:
            view["result_url"] = _presigned_get(job.result_key)
            view["result_url_expires_in"] = SETTINGS.upload_url_expires_s
    return view


def encode_token(last_key: dict[str, Any]) -> str:
    """An opaque pagination token for DynamoDB's LastEvaluatedKey."""
    raw = json.dumps(last_key, separators=(",", ":"), sort_keys=True).encode("utf-8")
    return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


def decode_token(token: str, owner: str) -> dict[str, Any]:
    """The LastEvaluatedKey inside a token this caller received; ApiError 400 otherwise."""
    invalid = ApiError(400, "invalid_next_token", "next_token is not one this API returned")
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        key = json.loads(raw)
    except (binascii.Error, ValueError) as exc:
        raise invalid from exc
    expected = {"job_id", "owner", "created_at"}
    if (
        not isinstance(key, dict)
        or set(key) != expected
        or not all(isinstance(v, str) for v in key.values())
        or key["owner"] != owner
    ):
        raise invalid
    return key


def _presigned_post(
    key: str,
    owner: str,
    content_type: str,
    max_bytes: int,
    type_condition: list[str] | dict[str, str],
) -> dict[str, Any]:
    """A presigned POST for exactly `key`, bound to a size range, a type and the owner."""
    post = aws.client("s3").generate_presigned_post(
        Bucket=SETTINGS.bucket,
        Key=key,
        Fields={"Content-Type": content_type, "x-amz-meta-owner": owner},
        Conditions=[
            ["content-length-range", 1, max_bytes],
            type_condition,
            {"x-amz-meta-owner": owner},
        ],
        ExpiresIn=SETTINGS.upload_url_expires_s,
    )
    return {"url": post["url"], "fields": post["fields"]}


def transcript_key(video_key: str, transcript_filename: str) -> str:
    """Where submit looks for the video's sidecar: its stem with the transcript's extension."""
    return sidecar_keys(video_key, (extension(transcript_filename),))[0]


@app.post(
    "/uploads",
    responses={
        201: {
            "description": "The job, and a presigned POST for its video under `upload`. With "
            "`transcript_filename`, also `transcript_upload` (url, fields, key) for its sidecar, "
            "which must be uploaded before the video: submit reads it when the video arrives."
        }
    },
)
@tracer.capture_method
def create_upload(request: UploadRequest) -> Response[dict[str, Any]]:
    """Make a job and a presigned POST that only accepts its video (and one for its sidecar)."""
    owner = _owner()
    if request.size_bytes is not None and request.size_bytes > SETTINGS.max_video_bytes:
        raise ApiError(
            422,
            "too_large",
            f"size_bytes {request.size_bytes} is over the limit of {SETTINGS.max_video_bytes}",
        )
    job_id = new_job_id()
    key = upload_key(SETTINGS.upload_prefix, job_id, request.filename)
    now = utc_now()
    store.create(
        Job(
            job_id=job_id,
            owner=owner,
            status=JobStatus.AWAITING_UPLOAD,
            created_at=now,
            updated_at=now,
            object_key=key,
            filename=request.filename,
            content_type=request.content_type,
            size_bytes=request.size_bytes,
            expires_at=store.expiry(),
        )
    )
    body: dict[str, Any] = {
        "job_id": job_id,
        "key": key,
        "upload": _presigned_post(
            key,
            owner,
            request.content_type,
            SETTINGS.max_video_bytes,
            ["starts-with", "$Content-Type", "video/"],
        ),
        "expires_in": SETTINGS.upload_url_expires_s,
    }
    if request.transcript_filename is not None:
        sidecar = transcript_key(key, request.transcript_filename)
        content_type = TRANSCRIPT_CONTENT_TYPES[extension(sidecar)]
        body["transcript_upload"] = {
            **_presigned_post(
                sidecar, owner, content_type, MAX_TRANSCRIPT_BYTES, {"Content-Type": content_type}
            ),
            "key": sidecar,
        }
    metrics.add_metric(name="UploadsCreated", unit=MetricUnit.Count, value=1)
    return Response(status_code=201, content_type=content_types.APPLICATION_JSON, body=body)


@app.get("/jobs/<job_id>")
@tracer.capture_method
def get_job(job_id: str) -> dict[str, Any]:
    """One job, with its result (inline, or a presigned link when large)."""
    return job_view(_job_or_404(job_id), with_result=True)


@app.get("/jobs")
@tracer.capture_method
def list_jobs(
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 20,
    next_token: Annotated[str | None, Query(max_length=2048)] = None,
    key: Annotated[str | None, Query(min_length=1, max_length=1024)] = None,
) -> dict[str, Any]:
    """The caller's jobs, newest first; with `key`, the job(s) of that object."""
    owner = _owner()
    if key is not None:
        jobs = [job for job in store.find_by_key(key) if _visible(job, owner)]
        if not jobs:
            raise ApiError(404, "not_found", f"no job for key {key!r}")
        return {"jobs": [job_view(job, with_result=True) for job in jobs], "next_token": None}
    start = decode_token(next_token, owner) if next_token else None
    page = store.list_by_owner(owner, limit, start)
    return {
        "jobs": [job_view(job, with_result=False) for job in page.jobs],
        "next_token": encode_token(page.last_key) if page.last_key else None,
    }


def _delete_objects(job: Job) -> int:
    s3 = aws.client("s3")
    deleted = 0
    folder = job_prefix(SETTINGS.upload_prefix, job.job_id)
    if job.object_key.startswith(folder):
        # The job's folder also holds any transcript sidecar uploaded with the video.
        deleted += delete_everything(s3, SETTINGS.bucket, folder)
    else:
        deleted += delete_everything(s3, SETTINGS.bucket, job.object_key, exact=True)
    owned = [job.manifest_key, job.result_key]
    for uri in (job.output_location, job.failure_location):
        if uri:
            try:
                bucket, key = parse_s3_uri(uri)
            except InvalidKey:
                continue
            if bucket == SETTINGS.bucket:
                owned.append(key)
    for key in {k for k in owned if k}:
        deleted += delete_everything(s3, SETTINGS.bucket, key, exact=True)
    return deleted


@app.delete("/jobs/<job_id>")
@tracer.capture_method
def delete_job(job_id: str) -> Response[str]:
    """Remove the video (every version), the manifest, the result or failure, and the row."""
    job = _job_or_404(job_id)
    if job.owner != _owner():
        raise ApiError(
            403, "forbidden", "this video was put straight into the bucket; delete it in S3"
        )
    if job.status is JobStatus.IN_PROGRESS:
        raise ApiError(
            409, "in_progress", "the job is being processed; delete it once it has finished"
        )
    deleted = _delete_objects(job)
    store.delete(job.job_id)
    logger.info("job deleted", extra={"job_id": job.job_id, "objects_deleted": deleted})
    return Response(status_code=204, content_type=content_types.APPLICATION_JSON, body="")


@app.exception_handler(ApiError)
def _handle_api_error(exc: ApiError) -> Response:
    return _error(exc.status, exc.code, exc.message)


@app.exception_handler(RequestValidationError)
def _handle_validation(exc: RequestValidationError) -> Response:
    if not _api_key_id():
        return _error(403, "forbidden", "an API key is required (header x-api-key)")
    errors = exc.errors()
    if any(err.get("type") == "json_invalid" for err in errors):
        return _error(400, "invalid_json", "the request body is not valid JSON")
    parts = []
    for err in errors:
        where = ".".join(str(p) for p in err.get("loc", ()) if p != "body") or "request"
        message = str(err.get("msg", "invalid")).removeprefix("Value error, ")
        parts.append(f"{where}: {message}")
    return _error(422, "validation_error", "; ".join(parts))


@app.exception_handler(InvalidTransition)
def _handle_conflict(exc: InvalidTransition) -> Response:
    return _error(409, "conflict", str(exc))


@app.not_found
def _handle_not_found(_: Exception) -> Response:
    return _error(404, "not_found", "no such route")


@app.exception_handler(Exception)
def _handle_unexpected(exc: Exception) -> Response:
    logger.exception("unexpected error")
    return _error(500, "internal_error", "something went wrong on our side; try again later")


@logger.inject_lambda_context(
    correlation_id_path=correlation_paths.API_GATEWAY_REST, clear_state=True
)
@tracer.capture_lambda_handler
@metrics.log_metrics(capture_cold_start_metric=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """Resolve one API Gateway REST proxy request."""
    return app.resolve(event, context)
