"""API: uploads and jobs for the caller's API key, behind API Gateway (REST, API keys).

Routes: POST /uploads, GET /jobs/{job_id}, GET /jobs (own jobs, newest first, or ?key= to find
the job of an object), DELETE /jobs/{job_id}. Errors are JSON {"error": {"code", "message"}};
another key's job answers 404 exactly as a missing one does.
"""

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
from aws_lambda_powertools.utilities import parameters
from aws_lambda_powertools.utilities.typing import LambdaContext

from vs_common import aws
from vs_common.api_models import JobView, UploadRequest
from vs_common.deletion import delete_job_objects
from vs_common.jobs import DIRECT_OWNER, InvalidTransition, Job, JobStatus, utc_now
from vs_common.keys import is_job_id, new_job_id, upload_key
from vs_common.pagination import InvalidToken, TokenSigner
from vs_common.presign import transcript_post, video_post
from vs_common.settings import Settings, SettingsError
from vs_common.sidecars import transcript_key
from vs_common.store import JobBusy, JobStore

SETTINGS = Settings.from_env()
if not (SETTINGS.pagination_secret or SETTINGS.pagination_secret_arn):
    raise SettingsError("PAGINATION_SECRET or PAGINATION_SECRET_ARN is required by the api")
MAX_PAGE = 100
# A job may be deleted unless the endpoint is working on it.
DELETABLE = frozenset(JobStatus) - {JobStatus.IN_PROGRESS}
# The secret never changes under a running stack; read it once per execution environment.
SECRET_MAX_AGE_S = 3600

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


def _signer() -> TokenSigner:
    secret = SETTINGS.pagination_secret or parameters.get_secret(
        SETTINGS.pagination_secret_arn, max_age=SECRET_MAX_AGE_S
    )
    return TokenSigner(secret)


def _detail(job: Job) -> dict[str, Any]:
    return JobView.detail(job, aws.client("s3"), SETTINGS).body()


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
    s3 = aws.client("s3")
    body: dict[str, Any] = {
        "job_id": job_id,
        "key": key,
        "upload": video_post(s3, SETTINGS, key, owner, request.content_type),
        "expires_in": SETTINGS.upload_url_expires_s,
    }
    if request.transcript_filename is not None:
        sidecar = transcript_key(key, request.transcript_filename)
        body["transcript_upload"] = transcript_post(s3, SETTINGS, sidecar, owner)
    metrics.add_metric(name="UploadsCreated", unit=MetricUnit.Count, value=1)
    return Response(status_code=201, content_type=content_types.APPLICATION_JSON, body=body)


@app.get("/jobs/<job_id>")
@tracer.capture_method
def get_job(job_id: str) -> dict[str, Any]:
    """One job, with its result (inline, or a presigned link when large)."""
    return _detail(_job_or_404(job_id))


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
        return {"jobs": [_detail(job) for job in jobs], "next_token": None}
    # An empty next_token is a malformed one, not a request for the first page.
    start = _signer().decode(next_token, owner) if next_token is not None else None
    page = store.list_by_owner(owner, limit, start)
    return {
        "jobs": [JobView.summary(job).body() for job in page.jobs],
        "next_token": _signer().encode(page.last_key) if page.last_key else None,
    }


@app.delete("/jobs/<job_id>")
@tracer.capture_method
def delete_job(job_id: str) -> Response[str]:
    """Remove the row, then the video (every version), the manifest and the result or failure."""
    job = _job_or_404(job_id)
    if job.owner != _owner():
        raise ApiError(
            403, "forbidden", "this video was put straight into the bucket; delete it in S3"
        )
    # The row goes first, in one conditional write: a submit that moves the job on meanwhile
    # makes this fail instead of losing the video under a running inference, and once the row
    # is gone no step of the pipeline acts on the job again (submit wants the row of an API
    # upload, complete the row of its notification).
    try:
        store.delete(job.job_id, allowed_from=DELETABLE)
    except JobBusy as exc:
        raise ApiError(
            409, "in_progress", "the job is being processed; delete it once it has finished"
        ) from exc
    deleted = delete_job_objects(aws.client("s3"), SETTINGS, job)
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


@app.exception_handler(InvalidToken)
def _handle_bad_token(exc: InvalidToken) -> Response:
    return _error(400, "invalid_next_token", str(exc))


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
