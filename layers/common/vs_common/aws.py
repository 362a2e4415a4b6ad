"""boto3 clients, created once per process and reused across invocations.

boto3 honours AWS_ENDPOINT_URL (and AWS_ENDPOINT_URL_<SERVICE>) by itself, which is how the
same code reaches moto locally.
"""

from __future__ import annotations

from functools import cache
from typing import Any

import boto3
from botocore.config import Config

_CONFIG = Config(retries={"mode": "standard"}, signature_version="s3v4")


@cache
def session() -> boto3.session.Session:
    """The process's session; it caches the service models that make clients slow to build."""
    return boto3.session.Session()


@cache
def client(service: str) -> Any:
    """The shared client for `service` (e.g. 's3', 'dynamodb', 'sagemaker-runtime')."""
    return session().client(service, config=_CONFIG)


@cache
def table(name: str) -> Any:
    """The shared DynamoDB Table resource for `name`."""
    return session().resource("dynamodb", config=_CONFIG).Table(name)


def reset() -> None:
    """Forget the cached clients (tests start each case against a fresh mocked account)."""
    client.cache_clear()
    table.cache_clear()
