"""Fixtures for the unit tier: a moto account holding the stack's resources, and the handlers.

Every function module is loaded fresh for each test (after the environment is set and moto
is started), under a unique module name because all three are called app.py.
"""

from __future__ import annotations

import importlib.util
import io
import json
import os
import sys
import uuid
from collections.abc import Callable, Iterator
from types import ModuleType
from typing import Any

import pytest
from identity_support import Pool
from moto import mock_aws
from moto.utilities.utils import load_resource
from support import LOCAL_ENV, REGION, ROOT, SPEC, LambdaContext, Stack, create_stack

from vs_common import aws
from vsent.local.resources import create_user_pools


def pytest_configure(config: pytest.Config) -> None:
    """Handlers that only reject or skip publish no metric; Powertools warns about that."""
    config.addinivalue_line("filterwarnings", "ignore:No application metrics:UserWarning")


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    """The moto account's settings; the stack fixture adds the functions' environment, as the
    template sets it. Tests may change it."""
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    for name, value in LOCAL_ENV.items():
        if value is None:
            monkeypatch.delenv(name, raising=False)
        else:
            monkeypatch.setenv(name, value)
    return monkeypatch


@pytest.fixture
def stack(env: pytest.MonkeyPatch) -> Iterator[Stack]:
    """A fresh mocked account with the template's bucket, tables, queues, topics and user pool,
    and the functions' environment naming them."""
    with mock_aws():
        aws.reset()
        created = create_stack(SPEC)
        for name, value in SPEC.functions_environment(created.physical_ids).items():
            if name not in LOCAL_ENV:
                env.setenv(name, value)
        invocations: list[dict[str, Any]] = []
        aws.client("sagemaker-runtime").meta.events.register(
            "provide-client-params.sagemaker-runtime.InvokeEndpointAsync",
            lambda params, **_: invocations.append(dict(params)),
        )
        yield Stack(
            s3=aws.client("s3"),
            table=aws.table(SPEC.names["JobsTable"]),
            sqs=aws.client("sqs"),
            invocations=invocations,
        )
        aws.reset()


def _load(name: str) -> ModuleType:
    folder = ROOT / "functions" / name
    spec = importlib.util.spec_from_file_location(
        f"vs_fn_{name}_{uuid.uuid4().hex}", folder / "app.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    # The modules beside app.py import by their plain names, as in the Lambda runtime.
    sys.path.insert(0, str(folder))
    try:
        spec.loader.exec_module(module)
    finally:
        sys.path.remove(str(folder))
    return module


@pytest.fixture
def load_function(stack: Stack) -> Callable[[str], ModuleType]:
    """Import functions/<name>/app.py against the mocked stack (call after changing env)."""
    return _load


@pytest.fixture
def context() -> LambdaContext:
    """A Lambda context."""
    return LambdaContext()


@pytest.fixture
def pool(stack: Stack, env: pytest.MonkeyPatch) -> Pool:
    """The template's user pool and app client, and the functions pointed at them; the pool's
    JWKS is served from moto's key file (moto only serves it in server mode)."""
    ids = create_user_pools(SPEC, aws.client("cognito-idp"))
    for name, value in SPEC.functions_environment(ids).items():
        if value in ids.values():
            env.setenv(name, value)
    pool_id = os.environ["USER_POOL_ID"]
    public = json.dumps(load_resource("cognitoidp/resources/jwks-public.json")).encode()

    def urlopen(url: str, timeout: float) -> io.BytesIO:
        assert url == f"https://cognito-idp.{REGION}.amazonaws.com/{pool_id}/.well-known/jwks.json"
        return io.BytesIO(public)

    env.setattr("vs_common.tokens.urllib.request.urlopen", urlopen)
    return Pool(pool_id, os.environ["USER_POOL_CLIENT_ID"])
