"""Configuration of the Lambda functions, read from the environment in one place."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

MIB = 1024 * 1024


class SettingsError(RuntimeError):
    """A required environment variable is missing or malformed."""


def _int(env: Mapping[str, str], name: str, default: int) -> int:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        return int(raw)
    except ValueError as exc:
        raise SettingsError(f"{name} must be an integer, got {raw!r}") from exc


def _prefix(env: Mapping[str, str], name: str, default: str) -> str:
    value = env.get(name, "").strip() or default
    return value if value.endswith("/") else value + "/"


def _flag(env: Mapping[str, str], name: str) -> bool:
    return env.get(name, "").strip().lower() == "true"


def _required(env: Mapping[str, str], name: str) -> str:
    value = env.get(name, "").strip()
    if not value:
        raise SettingsError(f"environment variable {name} is required")
    return value


@dataclass(frozen=True)
class Settings:
    """Everything the functions need to know about the stack they run in."""

    jobs_table: str
    idempotency_table: str
    bucket: str
    endpoint_name: str
    upload_prefix: str = "uploads/"
    requests_prefix: str = "requests/"
    results_prefix: str = "results/"
    failures_prefix: str = "failures/"
    max_video_bytes: int = 2048 * MIB
    max_video_seconds: int = 600
    # How long SageMaker may work on one video before the invocation fails (AWS default: 900 s).
    invocation_timeout_s: int = 3600
    retention_days: int = 30
    upload_url_expires_s: int = 900
    result_inline_max_bytes: int = 256 * 1024
    # Bound on what the complete function reads into memory; a result bigger than this is refused.
    result_max_bytes: int = 32 * MIB
    # The key that signs pagination tokens: given directly (locally), or the Secrets Manager secret
    # that holds it (on AWS, where the template generates one).
    pagination_secret: str = ""
    pagination_secret_arn: str = ""
    region: str = "us-east-1"
    # Identity: the users' API keys, the Cognito user pool and its app client, the usage plan.
    keys_table: str = ""
    user_pool_id: str = ""
    user_pool_client_id: str = ""
    usage_plan_name: str = ""
    # Where Cognito's keys are fetched from when it is not AWS (moto locally); empty on AWS.
    cognito_endpoint_url: str = ""
    # Unverified API keys stand for a (hashed) owner only under `sam local`, and only when
    # VS_LOCAL_KEY_FALLBACK=true is set as well; the template never sets it (a test checks).
    local_key_fallback: bool = False
    # The web page's origin, answered in CORS headers; empty answers no browser origin.
    allowed_origin: str = ""

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        """Read the settings from `env` (the process environment by default)."""
        env = os.environ if env is None else env
        return cls(
            jobs_table=_required(env, "JOBS_TABLE"),
            idempotency_table=env.get("IDEMPOTENCY_TABLE", "").strip(),
            bucket=_required(env, "BUCKET"),
            endpoint_name=env.get("ENDPOINT_NAME", "").strip(),
            upload_prefix=_prefix(env, "UPLOAD_PREFIX", "uploads/"),
            requests_prefix=_prefix(env, "REQUESTS_PREFIX", "requests/"),
            results_prefix=_prefix(env, "RESULTS_PREFIX", "results/"),
            failures_prefix=_prefix(env, "FAILURES_PREFIX", "failures/"),
            max_video_bytes=_int(env, "MAX_VIDEO_BYTES", 2048 * MIB),
            max_video_seconds=_int(env, "MAX_VIDEO_SECONDS", 600),
            invocation_timeout_s=_int(env, "INVOCATION_TIMEOUT_S", 3600),
            retention_days=_int(env, "RETENTION_DAYS", 30),
            upload_url_expires_s=_int(env, "UPLOAD_URL_EXPIRES_S", 900),
            result_inline_max_bytes=_int(env, "RESULT_INLINE_MAX_BYTES", 256 * 1024),
            result_max_bytes=_int(env, "RESULT_MAX_BYTES", 32 * MIB),
            pagination_secret=env.get("PAGINATION_SECRET", "").strip(),
            pagination_secret_arn=env.get("PAGINATION_SECRET_ARN", "").strip(),
            region=env.get("AWS_REGION", "").strip() or env.get("AWS_DEFAULT_REGION", "us-east-1"),
            keys_table=env.get("KEYS_TABLE", "").strip(),
            user_pool_id=env.get("USER_POOL_ID", "").strip(),
            user_pool_client_id=env.get("USER_POOL_CLIENT_ID", "").strip(),
            usage_plan_name=env.get("USAGE_PLAN_NAME", "").strip(),
            cognito_endpoint_url=(
                env.get("AWS_ENDPOINT_URL_COGNITO_IDP", "").strip()
                or env.get("AWS_ENDPOINT_URL", "").strip()
            ),
            local_key_fallback=_flag(env, "AWS_SAM_LOCAL") and _flag(env, "VS_LOCAL_KEY_FALLBACK"),
            allowed_origin=env.get("ALLOWED_ORIGIN", "").strip(),
        )
