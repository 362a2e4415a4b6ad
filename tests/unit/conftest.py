"""Fixtures for the unit tier: a moto account holding the stack's resources, and the handlers.

Every function module is loaded fresh for each test (after the environment is set and moto
is started), under a unique module name because all three are called app.py.
"""

from __future__ import annotations

import importlib.util
import io
import json
import uuid
from collections.abc import Callable, Iterator
from types import ModuleType
from typing import Any

import pytest
from identity_support import Pool
from moto import mock_aws
from moto.utilities.utils import load_resource
from support import (
    ACCOUNT,
    BUCKET,
    ENDPOINT_NAME,
    ENV,
    IDEMPOTENCY_TABLE,
    JOBS_TABLE,
    KEYS_TABLE,
    NOTIFICATIONS_QUEUE,
    REGION,
    ROOT,
    UPLOADS_QUEUE,
    USAGE_PLAN_NAME,
    LambdaContext,
    Stack,
)

from vs_common import aws


def _create_tables(ddb: Any) -> None:
    ddb.create_table(
        TableName=JOBS_TABLE,
        BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[
            {"AttributeName": "job_id", "AttributeType": "S"},
            {"AttributeName": "owner", "AttributeType": "S"},
            {"AttributeName": "created_at", "AttributeType": "S"},
            {"AttributeName": "object_key", "AttributeType": "S"},
        ],
        KeySchema=[{"AttributeName": "job_id", "KeyType": "HASH"}],
        GlobalSecondaryIndexes=[
            {
                "IndexName": "owner-created-index",
                "KeySchema": [
                    {"AttributeName": "owner", "KeyType": "HASH"},
                    {"AttributeName": "created_at", "KeyType": "RANGE"},
                ],
                "Projection": {"ProjectionType": "ALL"},
            },
            {
                "IndexName": "object-key-index",
                "KeySchema": [{"AttributeName": "object_key", "KeyType": "HASH"}],
                "Projection": {"ProjectionType": "KEYS_ONLY"},
            },
        ],
    )
    ddb.create_table(
        TableName=KEYS_TABLE,
        BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[
            {"AttributeName": "key_hash", "AttributeType": "S"},
            {"AttributeName": "owner", "AttributeType": "S"},
            {"AttributeName": "created_at", "AttributeType": "S"},
        ],
        KeySchema=[{"AttributeName": "key_hash", "KeyType": "HASH"}],
        GlobalSecondaryIndexes=[
            {
                "IndexName": "owner-created-index",
                "KeySchema": [
                    {"AttributeName": "owner", "KeyType": "HASH"},
                    {"AttributeName": "created_at", "KeyType": "RANGE"},
                ],
                "Projection": {"ProjectionType": "ALL"},
            }
        ],
    )
    ddb.create_table(
        TableName=IDEMPOTENCY_TABLE,
        BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
    )


def _create_endpoint() -> None:
    sm = aws.client("sagemaker")
    sm.create_model(
        ModelName="video-sentiment-model",
        ExecutionRoleArn=f"arn:aws:iam::{ACCOUNT}:role/video-sentiment-sagemaker",
        PrimaryContainer={
            "Image": "763104351884.dkr.ecr.us-east-1.amazonaws.com/pytorch-inference:2.6-gpu-py312",
            "ModelDataUrl": f"s3://{BUCKET}/models/model.tar.gz",
        },
    )
    sm.create_endpoint_config(
        EndpointConfigName="video-sentiment-config",
        ProductionVariants=[
            {
                "VariantName": "AllTraffic",
                "ModelName": "video-sentiment-model",
                "InstanceType": "ml.g4dn.xlarge",
                "InitialInstanceCount": 1,
            }
        ],
        AsyncInferenceConfig={
            "OutputConfig": {
                "S3OutputPath": f"s3://{BUCKET}/results/",
                "S3FailurePath": f"s3://{BUCKET}/failures/",
            }
        },
    )
    sm.create_endpoint(EndpointName=ENDPOINT_NAME, EndpointConfigName="video-sentiment-config")


def pytest_configure(config: pytest.Config) -> None:
    """Handlers that only reject or skip publish no metric; Powertools warns about that."""
    config.addinivalue_line("filterwarnings", "ignore:No application metrics:UserWarning")


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    """The functions' environment, as the template's Globals set it; tests may change it."""
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    for name, value in ENV.items():
        monkeypatch.setenv(name, value)
    return monkeypatch


@pytest.fixture
def stack(env: pytest.MonkeyPatch) -> Iterator[Stack]:
    """A fresh mocked account with the bucket, tables, queues and endpoint of the stack."""
    with mock_aws():
        aws.reset()
        s3 = aws.client("s3")
        s3.create_bucket(Bucket=BUCKET)
        s3.put_bucket_versioning(Bucket=BUCKET, VersioningConfiguration={"Status": "Enabled"})
        _create_tables(aws.client("dynamodb"))
        sqs = aws.client("sqs")
        for name in (UPLOADS_QUEUE, NOTIFICATIONS_QUEUE):
            sqs.create_queue(QueueName=f"{name}-dlq")
            sqs.create_queue(QueueName=name)
        _create_endpoint()
        invocations: list[dict[str, Any]] = []
        aws.client("sagemaker-runtime").meta.events.register(
            "provide-client-params.sagemaker-runtime.InvokeEndpointAsync",
            lambda params, **_: invocations.append(dict(params)),
        )
        yield Stack(s3=s3, table=aws.table(JOBS_TABLE), sqs=sqs, invocations=invocations)
        aws.reset()


def _load(name: str) -> ModuleType:
    path = ROOT / "functions" / name / "app.py"
    spec = importlib.util.spec_from_file_location(f"vs_fn_{name}_{uuid.uuid4().hex}", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
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
    """A user pool as the template declares it, the usage plan, and the functions pointed at
    them; the pool's JWKS is served from moto's key file (moto only serves it in server mode)."""
    cognito = aws.client("cognito-idp")
    pool_id = cognito.create_user_pool(
        PoolName="users",
        UsernameAttributes=["email"],
        AutoVerifiedAttributes=["email"],
        Policies={"PasswordPolicy": {"MinimumLength": 12, "RequireSymbols": False}},
    )["UserPool"]["Id"]
    client_id = cognito.create_user_pool_client(
        UserPoolId=pool_id,
        ClientName="web",
        GenerateSecret=False,
        ExplicitAuthFlows=["ALLOW_USER_PASSWORD_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"],
    )["UserPoolClient"]["ClientId"]
    aws.client("apigateway").create_usage_plan(
        name=USAGE_PLAN_NAME,
        throttle={"rateLimit": 10, "burstLimit": 20},
        quota={"limit": 1000, "period": "MONTH"},
    )
    env.setenv("USER_POOL_ID", pool_id)
    env.setenv("USER_POOL_CLIENT_ID", client_id)
    public = json.dumps(load_resource("cognitoidp/resources/jwks-public.json")).encode()
    served: list[str] = []

    def urlopen(url: str, timeout: float) -> io.BytesIO:
        served.append(url)
        assert url == f"https://cognito-idp.{REGION}.amazonaws.com/{pool_id}/.well-known/jwks.json"
        return io.BytesIO(public)

    env.setattr("vs_common.tokens.urllib.request.urlopen", urlopen)
    return Pool(pool_id, client_id)
