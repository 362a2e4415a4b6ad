"""API: uploads, jobs and API keys of the calling user, behind API Gateway (REST).

The authorizer has established the caller (a user by Cognito token or by one of their API keys)
and passes it in `requestContext.authorizer`; the operator routes are AWS_IAM (SigV4) instead.
Routes: POST /uploads, GET /jobs/{job_id}, GET /jobs (own jobs, newest first, or ?key= to find
the job of an object), DELETE /jobs/{job_id}; POST /keys, GET /keys, DELETE /keys/{key_id},
GET /usage; GET /operator/jobs/{job_id}, GET /operator/jobs (direct uploads only).
Errors are JSON {"error": {"code", "message"}}; another user's job answers 404 exactly as a
missing one does.

The modules beside this one (api_*.py) hold no settings or clients, only code given them: a
process that runs several copies of this handler (the local stack, the unit tests) imports
them once for all, while each copy of this module reads its own settings.
"""

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Annotated, Any

from api_callers import caller_of
from api_errors import ApiError, error_response, unauthorized, validation_error_response
from api_uploads import new_upload
from api_usage import usage_report
from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.event_handler import (
    APIGatewayRestResolver,
    CORSConfig,
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
from vs_common.apikeys import (
    MAX_KEYS_PER_USER,
    KeyRequest,
    KeyStore,
    UnknownKey,
    UsagePlanKeys,
    new_key_value,
)
from vs_common.deletion import delete_job_objects
from vs_common.identity import AuthMethod, Caller
from vs_common.invocation import per_invocation_logs
from vs_common.jobs import DIRECT_OWNER, InvalidTransition, Job, JobStatus
from vs_common.keys import is_job_id
from vs_common.pagination import InvalidToken, TokenSigner
from vs_common.settings import Settings, SettingsError
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
# The web page calls the API from its own origin; API Gateway answers the preflight itself.
CORS = (
    CORSConfig(allow_origin=SETTINGS.allowed_origin, max_age=600)
    if SETTINGS.allowed_origin
    else None
)
app = APIGatewayRestResolver(enable_validation=True, cors=CORS)
store = JobStore(aws.table(SETTINGS.jobs_table), SETTINGS.retention_days)
keys = KeyStore(aws.table(SETTINGS.keys_table))
plan_keys = UsagePlanKeys(aws.client("apigateway"), SETTINGS.usage_plan_name)


def _caller() -> Caller | None:
    return caller_of(
        app.current_event, app.lambda_context.invoked_function_arn, SETTINGS.local_key_fallback
    )


def identify(router: APIGatewayRestResolver, next_middleware: Callable) -> Response:
    """Reject requests without an identity for their route; remember the caller."""
    caller = _caller()
    if caller is None:
        return unauthorized()
    router.append_context(caller=caller)
    return next_middleware(router)


# Powertools fixes the order of each route's middlewares: its request validation first, then
# those given here. A request that fails validation never reaches `identify`, so
# _handle_validation checks the caller again.
app.use(middlewares=[identify])


def _me() -> Caller:
    return app.context["caller"]


def _owner() -> str:
    return _me().owner


def _signed_in() -> Caller:
    """The caller, who must have signed in: an API key cannot mint or revoke keys."""
    caller = _me()
    if caller.method is not AuthMethod.TOKEN:
        raise ApiError(403, "forbidden", "managing API keys needs a signed-in user (a token)")
    return caller


def _visible(job: Job | None, owner: str) -> Job | None:
    """The job if this owner may see it: users their own, the operator direct uploads."""
    if job is None or job.owner != owner:
        return None
    return job


def _job_or_404(job_id: str, owner: str) -> Job:
    job = _visible(store.get(job_id), owner) if is_job_id(job_id) else None
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
    body = new_upload(store, aws.client("s3"), SETTINGS, _owner(), request)
    metrics.add_metric(name="UploadsCreated", unit=MetricUnit.Count, value=1)
    return Response(status_code=201, content_type=content_types.APPLICATION_JSON, body=body)


@app.get("/jobs/<job_id>")
@tracer.capture_method
def get_job(job_id: str) -> dict[str, Any]:
    """One job, with its result (inline, or a presigned link when large)."""
    return _detail(_job_or_404(job_id, _owner()))


def _jobs(owner: str, limit: int, next_token: str | None, key: str | None) -> dict[str, Any]:
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


@app.get("/jobs")
@tracer.capture_method
def list_jobs(
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 20,
    next_token: Annotated[str | None, Query(max_length=2048)] = None,
    key: Annotated[str | None, Query(min_length=1, max_length=1024)] = None,
) -> dict[str, Any]:
    """The caller's jobs, newest first; with `key`, the job(s) of that object."""
    return _jobs(_owner(), limit, next_token, key)


@app.get("/operator/jobs/<job_id>")
@tracer.capture_method
def operator_get_job(job_id: str) -> dict[str, Any]:
    """A job of a video put straight into the bucket (operator only)."""
    return _detail(_job_or_404(job_id, DIRECT_OWNER))


@app.get("/operator/jobs")
@tracer.capture_method
def operator_list_jobs(
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 20,
    next_token: Annotated[str | None, Query(max_length=2048)] = None,
    key: Annotated[str | None, Query(min_length=1, max_length=1024)] = None,
) -> dict[str, Any]:
    """Jobs of direct uploads, newest first; with `key`, the job(s) of that object."""
    return _jobs(DIRECT_OWNER, limit, next_token, key)


@app.delete("/jobs/<job_id>")
@tracer.capture_method
def delete_job(job_id: str) -> Response[str]:
    """Remove the row, then the video (every version), the manifest and the result or failure."""
    job = _job_or_404(job_id, _owner())
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


@app.post("/keys", responses={201: {"description": "The key, with its value: shown only now."}})
@tracer.capture_method
def create_key(request: KeyRequest) -> Response[dict[str, Any]]:
    """A new API key of the signed-in user for scripts, in the usage plan."""
    owner = _signed_in().owner
    if len(keys.list(owner)) >= MAX_KEYS_PER_USER:
        raise ApiError(409, "too_many_keys", f"a user holds at most {MAX_KEYS_PER_USER} keys")
    value = new_key_value()
    key_id = plan_keys.create(value, f"{owner}:{request.name}")
    record = keys.put(value, key_id, owner, request.name)
    logger.info("key created", extra={"key_id": record.key_id})
    body = {**record.body(), "value": value}
    return Response(status_code=201, content_type=content_types.APPLICATION_JSON, body=body)


@app.get("/keys")
@tracer.capture_method
def list_keys() -> dict[str, Any]:
    """The caller's keys (ids and names; values are never shown again)."""
    return {"keys": [record.body() for record in keys.list(_owner())]}


@app.delete("/keys/<key_id>")
@tracer.capture_method
def revoke_key(key_id: str) -> Response[str]:
    """Revoke one of the signed-in user's keys at once; their jobs stay theirs."""
    owner = _signed_in().owner
    try:
        keys.remove(owner, key_id)
    except UnknownKey as exc:
        raise ApiError(404, "not_found", f"no key {key_id!r}") from exc
    plan_keys.delete(key_id)
    logger.info("key revoked", extra={"key_id": key_id})
    return Response(status_code=204, content_type=content_types.APPLICATION_JSON, body="")


@app.get("/usage")
@tracer.capture_method
def get_usage() -> dict[str, Any]:
    """The usage plan's limits and this month's requests per key of the caller."""
    return usage_report(keys, plan_keys, _owner(), datetime.now(UTC).date())


@app.exception_handler(ApiError)
def _handle_api_error(exc: ApiError) -> Response:
    return error_response(exc.status, exc.code, exc.message)


@app.exception_handler(RequestValidationError)
def _handle_validation(exc: RequestValidationError) -> Response:
    # Validation ran before `identify` (see app.use): an anonymous caller gets 401 here, not
    # a 422 that would tell them the route's parameters and body schema.
    if _caller() is None:
        return unauthorized()
    return validation_error_response(exc)


@app.exception_handler(InvalidToken)
def _handle_bad_token(exc: InvalidToken) -> Response:
    return error_response(400, "invalid_next_token", str(exc))


@app.exception_handler(InvalidTransition)
def _handle_conflict(exc: InvalidTransition) -> Response:
    return error_response(409, "conflict", str(exc))


@app.not_found
def _handle_not_found(_: Exception) -> Response:
    return error_response(404, "not_found", "no such route")


@app.exception_handler(Exception)
def _handle_unexpected(exc: Exception) -> Response:
    logger.exception("unexpected error")
    return error_response(
        500, "internal_error", "something went wrong on our side; try again later"
    )


@per_invocation_logs(logger, correlation_id_path=correlation_paths.API_GATEWAY_REST)
@tracer.capture_lambda_handler
@metrics.log_metrics(capture_cold_start_metric=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    """Resolve one API Gateway REST proxy request."""
    return app.resolve(event, context)
