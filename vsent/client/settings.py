"""Where the client finds the API: options, then environment, then a CloudFormation stack's
outputs, then a running local stack. The environment is read here and nowhere else."""

from __future__ import annotations

import os
from dataclasses import dataclass

import boto3
from botocore.exceptions import BotoCoreError, ClientError

from vsent.stack.paths import default_state_dir
from vsent.stack.state import StackInfo


class SettingsError(RuntimeError):
    """The API cannot be located; the message says how to name it."""


@dataclass(frozen=True)
class ClientSettings:
    """The API to talk to, its key, and where they were found."""

    api_url: str
    api_key: str
    source: str


def _from_stack(stack_name: str, region: str | None) -> ClientSettings:
    """The API URL of a deployed stack; the key is the user's own (`vsent keys create`)."""
    try:
        cloudformation = boto3.client("cloudformation", region_name=region)
        stack = cloudformation.describe_stacks(StackName=stack_name)["Stacks"][0]
        outputs = {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])}
        api_url = outputs["ApiUrl"]
    except (BotoCoreError, ClientError) as exc:
        raise SettingsError(f"cannot read stack {stack_name!r}: {exc}") from exc
    except KeyError as exc:
        raise SettingsError(f"stack {stack_name!r} has no output {exc}") from exc
    return ClientSettings(api_url=api_url, api_key="", source=f"CloudFormation stack {stack_name}")


def _from_local_stack() -> ClientSettings | None:
    info = StackInfo.read(default_state_dir())
    if info is None:
        return None
    return local_settings(info)


def local_settings(info: StackInfo) -> ClientSettings:
    """Settings for a running local stack."""
    return ClientSettings(
        api_url=info.api_url,
        api_key=info.api_key,
        source="local stack" + (" (demo model)" if info.demo_model else ""),
    )


def resolve(
    api_url: str | None = None,
    api_key: str | None = None,
    stack_name: str | None = None,
    region: str | None = None,
) -> ClientSettings:
    """The API from options, VSENT_API_URL/VSENT_API_KEY, VSENT_STACK_NAME, or `vsent up`."""
    env = os.environ
    api_url = api_url or env.get("VSENT_API_URL") or None
    api_key = api_key or env.get("VSENT_API_KEY") or None
    stack_name = stack_name or env.get("VSENT_STACK_NAME") or None
    region = region or env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION") or None
    if api_url and api_key:
        return ClientSettings(api_url.rstrip("/"), api_key, "options")
    if stack_name:
        found = _from_stack(stack_name, region)
        if not api_key:
            raise SettingsError(
                f"stack {stack_name!r} found; pass --api-key (or VSENT_API_KEY): a key of your "
                "own, made after signing in (POST /keys)"
            )
        return ClientSettings((api_url or found.api_url).rstrip("/"), api_key, found.source)
    local = _from_local_stack()
    if local is not None and not api_url:
        return ClientSettings(local.api_url, api_key or local.api_key, local.source)
    raise SettingsError(
        "no API to talk to: pass --api-url and --api-key (or VSENT_API_URL / VSENT_API_KEY), "
        "--stack-name (or VSENT_STACK_NAME) of a deployed stack, or start one with `vsent up`"
    )
