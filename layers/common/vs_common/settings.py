"""Configuration of the Lambda functions, read from the environment in one place.

Each field is read from the environment variable of the same name in upper case (the names
template.yaml's Globals set); the few that follow AWS's own names say so with an alias.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator, AliasChoices, Field, ValidationError
from pydantic_core import ErrorDetails
from pydantic_settings import BaseSettings, SettingsConfigDict

MIB = 1024 * 1024


class SettingsError(RuntimeError):
    """A required environment variable is missing or malformed."""


def _folder(prefix: str) -> str:
    return prefix if prefix.endswith("/") else prefix + "/"


# Present and not blank: a blank table or bucket name would only fail later, at the first call.
Required = Annotated[str, Field(min_length=1)]
# An S3 key prefix, always ending in "/" so that keys can be appended to it.
Prefix = Annotated[str, AfterValidator(_folder)]


class Settings(BaseSettings):
    """Everything the functions need to know about the stack they run in."""

    # Blank variables count as unset, so that the template may set one to "" for "default".
    model_config = SettingsConfigDict(frozen=True, env_ignore_empty=True, str_strip_whitespace=True)

    jobs_table: Required
    bucket: Required
    # Only submit needs the idempotency table, and only the api the pagination key (each checks).
    idempotency_table: str = ""
    endpoint_name: str = ""
    upload_prefix: Prefix = "uploads/"
    requests_prefix: Prefix = "requests/"
    results_prefix: Prefix = "results/"
    failures_prefix: Prefix = "failures/"
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
    region: str = Field(
        "us-east-1", validation_alias=AliasChoices("AWS_REGION", "AWS_DEFAULT_REGION")
    )
    # Identity: the users' API keys, the Cognito user pool and its app client, the usage plan.
    keys_table: str = ""
    user_pool_id: str = ""
    user_pool_client_id: str = ""
    usage_plan_name: str = ""
    # Where Cognito's keys are fetched from when it is not AWS (moto locally); empty on AWS.
    cognito_endpoint_url: str = Field(
        "", validation_alias=AliasChoices("AWS_ENDPOINT_URL_COGNITO_IDP", "AWS_ENDPOINT_URL")
    )
    # Set by `sam local` in the functions' containers, never on AWS.
    sam_local: bool = Field(False, validation_alias="AWS_SAM_LOCAL")
    vs_local_key_fallback: bool = False
    # The web page's origin, answered in CORS headers; empty answers no browser origin.
    allowed_origin: str = ""

    @property
    def local_key_fallback(self) -> bool:
        """Whether unverified API keys stand for a (hashed) owner: only under `sam local`, and
        only when VS_LOCAL_KEY_FALLBACK=true is set as well (the template never sets it)."""
        return self.sam_local and self.vs_local_key_fallback

    @classmethod
    def from_env(cls) -> Settings:
        """Read the settings from the process environment; SettingsError names what is wrong."""
        try:
            return cls()
        except ValidationError as exc:
            raise SettingsError("; ".join(_describe(error) for error in exc.errors())) from exc


def _describe(error: ErrorDetails) -> str:
    # A field's location is its name or its first alias: upper-cased, the variable's name.
    name = str(error["loc"][0]).upper()
    if error["type"] in ("missing", "string_too_short"):
        return f"environment variable {name} is required"
    return f"{name}={error['input']!r}: {error['msg']}"
