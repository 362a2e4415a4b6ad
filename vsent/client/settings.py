"""Where the client finds the API and how it proves who it is: options, then environment, then
a CloudFormation stack's outputs, then a running local stack. The environment is read here and
nowhere else."""

from __future__ import annotations

import os
from dataclasses import dataclass

import boto3
from botocore.credentials import Credentials
from botocore.exceptions import BotoCoreError, ClientError

from vsent.client.api import ApiClient
from vsent.client.auth import (
    BearerAuth,
    CognitoConfig,
    Session,
    SessionStore,
    SigV4RequestAuth,
    operator_credentials,
)
from vsent.local_info import LOCAL_CREDENTIALS, StackInfo
from vsent.paths import cache_dir, default_state_dir

SESSIONS_FILE = "sessions.json"


class SettingsError(RuntimeError):
    """The API cannot be located, or there is no way to sign in to it; the message says how."""


@dataclass(frozen=True)
class ClientSettings:
    """The API to talk to, where it was found, and the caller's ways of proving who they are."""

    api_url: str
    # An API key (option, environment, or the local stack's ready user's).
    api_key: str | None
    source: str
    # The user pool's app client, for `vsent signup/login` (None when unknown).
    cognito: CognitoConfig | None = None
    region: str | None = None
    # The local stack accepts its own (moto's) credentials for operator requests.
    local: bool = False

    def session_store(self) -> SessionStore:
        """Where `vsent login` keeps its tokens."""
        return SessionStore(cache_dir() / SESSIONS_FILE)

    def signed_in(self) -> Session | None:
        """The session of `vsent login` for this API, if any."""
        return self.session_store().get(self.api_url)

    def client(self, operator: bool = False) -> ApiClient:
        """An API client: the operator's (SigV4), else a key, else the signed-in user's token."""
        if operator:
            if self.local:
                credentials = Credentials(
                    LOCAL_CREDENTIALS["AWS_ACCESS_KEY_ID"],
                    LOCAL_CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
                    LOCAL_CREDENTIALS["AWS_SESSION_TOKEN"],
                )
                region = self.region or "us-east-1"
            else:
                try:
                    credentials, region = operator_credentials(self.region)
                except ValueError as exc:
                    raise SettingsError(str(exc)) from exc
            return ApiClient(
                self.api_url, auth=SigV4RequestAuth(credentials, region), operator=True
            )
        if self.api_key:
            return ApiClient(self.api_url, self.api_key)
        session = self.signed_in()
        if session is not None:
            return ApiClient(
                self.api_url, auth=BearerAuth(self.api_url, session, self.session_store())
            )
        raise SettingsError(
            f"no way to sign in to {self.api_url}: `vsent login EMAIL`, or pass --api-key "
            "(or VSENT_API_KEY) with a key of yours (`vsent keys create NAME`)"
        )


def _from_stack(stack_name: str, region: str | None) -> ClientSettings:
    """The API URL and user pool client of a deployed stack."""
    try:
        cloudformation = boto3.client("cloudformation", region_name=region)
        stack = cloudformation.describe_stacks(StackName=stack_name)["Stacks"][0]
        outputs = {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])}
        api_url, client_id = outputs["ApiUrl"], outputs["UserPoolClientId"]
    except (BotoCoreError, ClientError) as exc:
        raise SettingsError(f"cannot read stack {stack_name!r}: {exc}") from exc
    except KeyError as exc:
        raise SettingsError(f"stack {stack_name!r} has no output {exc}") from exc
    pool_region = outputs.get("UserPoolId", "").split("_", 1)[0] or region
    return ClientSettings(
        api_url=api_url,
        api_key=None,
        source=f"CloudFormation stack {stack_name}",
        cognito=CognitoConfig(client_id, pool_region or "us-east-1"),
        region=pool_region,
    )


def _from_local_stack() -> ClientSettings | None:
    info = StackInfo.read(default_state_dir())
    if info is None:
        return None
    return local_settings(info)


def local_settings(info: StackInfo) -> ClientSettings:
    """Settings for a running local stack (with its ready user's key)."""
    return ClientSettings(
        api_url=info.api_url,
        api_key=info.api_key,
        source="local stack" + (" (demo model)" if info.demo_model else ""),
        cognito=CognitoConfig(info.user_pool_client_id, info.region, info.cognito_endpoint_url),
        region=info.region,
        local=True,
    )


def resolve(
    api_url: str | None = None,
    api_key: str | None = None,
    stack_name: str | None = None,
    region: str | None = None,
) -> ClientSettings:
    """The API from options, VSENT_API_URL/VSENT_API_KEY, VSENT_STACK_NAME, or `vsent up`.

    A key given here wins; without one, a `vsent login` session for that API is used, and on
    the local stack its ready user's key.
    """
    env = os.environ
    api_url = api_url or env.get("VSENT_API_URL") or None
    api_key = api_key or env.get("VSENT_API_KEY") or None
    stack_name = stack_name or env.get("VSENT_STACK_NAME") or None
    region = region or env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION") or None
    if stack_name:
        found = _from_stack(stack_name, region)
        return ClientSettings(
            (api_url or found.api_url).rstrip("/"),
            api_key,
            found.source,
            found.cognito,
            found.region,
        )
    local = _from_local_stack()
    if local is not None and (not api_url or api_url.rstrip("/") == local.api_url):
        # A login session, when there is one, acts for its user rather than the ready one.
        signed_in = SessionStore(cache_dir() / SESSIONS_FILE).get(local.api_url)
        key = api_key or (None if signed_in else local.api_key)
        return ClientSettings(
            local.api_url, key, local.source, local.cognito, local.region, local=True
        )
    if api_url:
        return ClientSettings(api_url.rstrip("/"), api_key, "options", region=region)
    raise SettingsError(
        "no API to talk to: pass --api-url (or VSENT_API_URL) with --api-key or after "
        "`vsent login`, --stack-name (or VSENT_STACK_NAME) of a deployed stack, or start one "
        "with `vsent up`"
    )
