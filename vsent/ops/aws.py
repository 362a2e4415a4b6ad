"""boto3 sessions and clients for the ops commands, S3 URIs, and values read from the stack."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Any

import boto3

from vs_common.keys import InvalidKey, parse_s3_uri


class OpsError(RuntimeError):
    """A failure the operator can act on; the command prints its message and exits non-zero."""


def session(region: str) -> boto3.Session:
    """A boto3 session in ``region`` (AWS_ENDPOINT_URL and profiles apply as usual)."""
    return boto3.Session(region_name=region)


def client(region: str, service: str) -> Any:
    """A boto3 client of ``service`` in ``region``."""
    return session(region).client(service)


@dataclass(frozen=True)
class S3Uri:
    """An ``s3://bucket/key`` location."""

    bucket: str
    key: str

    @classmethod
    def parse(cls, uri: str) -> S3Uri:
        """Split an ``s3://bucket/key`` string; raises :class:`OpsError` for anything else."""
        try:
            return cls(*parse_s3_uri(uri))
        except InvalidKey as error:
            raise OpsError(f"{error} (expected s3://bucket/key)") from error

    def __str__(self) -> str:
        return f"s3://{self.bucket}/{self.key}"


def s3_uri(bucket: str, *parts: str) -> str:
    """``s3://bucket/a/b/…`` from key parts; a last part that is empty or ends in ``/`` makes a
    folder URI (trailing slash)."""
    key = "/".join(p.strip("/") for p in parts if p.strip("/"))
    if parts and (not parts[-1] or parts[-1].endswith("/")):
        key += "/"
    return f"s3://{bucket}/{key}"


@cache
def _stack_outputs(region: str, stack: str) -> dict[str, str]:
    cfn = client(region, "cloudformation")
    try:
        stacks = cfn.describe_stacks(StackName=stack)["Stacks"]
    except cfn.exceptions.ClientError as error:
        raise OpsError(f"cannot read stack {stack!r} in {region}: {error}") from error
    return {o["OutputKey"]: o.get("OutputValue", "") for o in stacks[0].get("Outputs", [])}


def stack_output(region: str, stack: str, keys: tuple[str, ...], what: str, option: str) -> str:
    """The first non-empty output among ``keys`` of the stack, or an error naming the option."""
    outputs = _stack_outputs(region, stack)
    for key in keys:
        if outputs.get(key):
            return outputs[key]
    raise OpsError(
        f"stack {stack!r} has no {what} output ({' or '.join(keys)}); pass {option} instead"
    )


def resolve(
    value: str | None,
    *,
    dry_run: bool,
    region: str,
    stack: str,
    keys: tuple[str, ...],
    what: str,
    option: str,
) -> str:
    """An option's value, else the stack output that holds it (never looked up in a dry run)."""
    if value:
        return value
    if dry_run:
        raise OpsError(f"a dry run makes no AWS calls: pass {option} (the {what})")
    return stack_output(region, stack, keys, what, option)
