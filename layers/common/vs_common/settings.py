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
    # `sam local start-api` passes no API key identity; it sets AWS_SAM_LOCAL, which AWS never does.
    sam_local: bool = False

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
            sam_local=env.get("AWS_SAM_LOCAL", "").strip().lower() == "true",
        )
