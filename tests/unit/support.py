"""Constants and builders shared by the unit tests: names of the stack, events, documents."""

from __future__ import annotations

import copy
import json
import uuid
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import quote_plus

import boto3

from vsent.local.resources import CreatedResources, create_resources
from vsent.local.spec import ACCOUNT_ID, StackSpec
from vsent.local.template_reader import build_spec

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = ROOT / "template.yaml"
EVENTS = ROOT / "events"
REGION = "us-east-1"
ACCOUNT = ACCOUNT_ID
USER_A = "2f5b7c1e-8d4a-4e3b-9a6f-1c0d2e3f4a5b"
USER_B = "9c8d7e6f-5a4b-4c3d-8e2f-1a0b9c8d7e6f"
MP4_HEAD = b"\x00\x00\x00\x20ftypisom\x00\x00\x02\x00isomiso2avc1mp41" + b"\x00\x00\x00\x08free"
EMOTIONS = ("anger", "disgust", "fear", "joy", "neutral", "sadness", "surprise")
SENTIMENTS = ("negative", "neutral", "positive")


def stack_spec(template: Path = TEMPLATE) -> StackSpec:
    """What the unit tier builds in moto: the template's resources and the functions' environment,
    in a stack named video-sentiment whose bucket is the one the events/ files name, with a small
    upload limit and quiet logs."""
    return build_spec(
        template,
        stack_name="video-sentiment",
        region=REGION,
        parameters={"MaxVideoBytes": str(1024 * 1024), "LogLevel": "WARNING"},
        fixed_names={"UploadsBucket": "video-sentiment-uploads-example"},
    )


@cache
def _account_client(service: str) -> Any:
    # One client per service for the whole session: moto also mocks clients made before its mock
    # starts, and building clients is most of what a fresh account costs.
    return _SESSION.client(service)


def create_stack(spec: StackSpec) -> CreatedResources:
    """Create what ``spec`` declares in the mocked account (inside ``mock_aws``), but the user
    pool: the ``pool`` fixture makes it for the tests that use one (moto takes half a second)."""
    return create_resources(spec, _account_client, user_pools=False)


_SESSION = boto3.session.Session(
    aws_access_key_id="testing", aws_secret_access_key="testing", region_name=REGION
)
SPEC = stack_spec()
BUCKET = SPEC.names["UploadsBucket"]
JOBS_TABLE = SPEC.names["JobsTable"]
KEYS_TABLE = SPEC.names["KeysTable"]
IDEMPOTENCY_TABLE = SPEC.names["IdempotencyTable"]
ENDPOINT_NAME = SPEC.endpoint.name

# What the unit tier's account differs in from a deployed one: moto's credentials, no X-Ray
# daemon, the pagination key itself instead of its generated secret (None: unset), and a small
# inline limit that the tests of result links reach.
LOCAL_ENV: dict[str, str | None] = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": REGION,
    "AWS_REGION": REGION,
    "POWERTOOLS_TRACE_DISABLED": "true",
    "PAGINATION_SECRET": "unit-tests-pagination-secret-0123456789abcdef",
    "PAGINATION_SECRET_ARN": None,
    "RESULT_INLINE_MAX_BYTES": "4096",
}


@dataclass
class LambdaContext:
    """The attributes of the Lambda context object the Powertools decorators read."""

    function_name: str = "test-function"
    function_version: str = "$LATEST"
    memory_limit_in_mb: int = 512
    invoked_function_arn: str = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:test-function"
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))

    def get_remaining_time_in_millis(self) -> int:
        """Plenty of time left."""
        return 60_000


@dataclass
class Stack:
    """Handles on the mocked resources."""

    s3: Any
    table: Any
    sqs: Any
    invocations: list[dict[str, Any]]

    def put_video(
        self, key: str, body: bytes = MP4_HEAD + b"\x00" * 512, owner: str | None = None
    ) -> dict[str, Any]:
        """Store an object as a client upload would, returning put_object's response."""
        extra: dict[str, Any] = {"Metadata": {"owner": owner}} if owner else {}
        return self.s3.put_object(
            Bucket=BUCKET, Key=key, Body=body, ContentType="video/mp4", **extra
        )

    def item(self, job_id: str) -> dict[str, Any] | None:
        """The raw jobs-table item."""
        return self.table.get_item(Key={"job_id": job_id}).get("Item")

    def keys(self, prefix: str = "") -> list[str]:
        """Keys currently in the bucket (latest versions)."""
        listing = self.s3.list_objects_v2(Bucket=BUCKET, Prefix=prefix)
        return sorted(obj["Key"] for obj in listing.get("Contents", []))


def load_event(name: str) -> dict[str, Any]:
    """One of the events/ files."""
    return json.loads((EVENTS / f"{name}.json").read_text("utf-8"))


def encode_event_key(key: str) -> str:
    """A key as S3 writes it into event notifications (form-URL-encoded)."""
    return quote_plus(key, safe="/")


def upload_event(
    key: str, version_id: str | None = None, sequencer: str = "0067A1B2C3D4E5F601", size: int = 1
) -> dict[str, Any]:
    """events/submit_upload.json re-aimed at `key`."""
    event = load_event("submit_upload")
    record = event["Records"][0]
    body = json.loads(record["body"])
    obj = body["Records"][0]["s3"]["object"]
    obj["key"] = encode_event_key(key)
    obj["size"] = size
    obj["sequencer"] = sequencer
    if version_id:
        obj["versionId"] = version_id
    else:
        obj.pop("versionId", None)
    body["Records"][0]["s3"]["bucket"]["name"] = BUCKET
    body["Records"][0]["s3"]["bucket"]["arn"] = f"arn:aws:s3:::{BUCKET}"
    record["body"] = json.dumps(body)
    record["messageId"] = str(uuid.uuid4())
    return event


def notification_event(name: str, job_id: str, **overrides: Any) -> dict[str, Any]:
    """events/complete_{success,failure}.json for `job_id`, with fields of the message replaced."""
    event = load_event(name)
    record = event["Records"][0]
    envelope = json.loads(record["body"])
    message = json.loads(envelope["Message"])
    message["inferenceId"] = job_id
    for path, value in overrides.items():
        target = message
        *parents, leaf = path.split("__")
        for parent in parents:
            target = target[parent]
        target[leaf] = value
    envelope["Message"] = json.dumps(message)
    record["body"] = json.dumps(envelope)
    record["messageId"] = str(uuid.uuid4())
    return event


def api_event(
    name: str,
    *,
    path: str | None = None,
    path_params: dict[str, str] | None = None,
    query: dict[str, str] | None = None,
    body: Any = None,
    owner: str | None = USER_A,
) -> dict[str, Any]:
    """One of the api_*.json events with its path, query, body or caller replaced.

    `owner` is the user the authorizer established (None: no authorizer context at all).
    """
    event = copy.deepcopy(load_event(name))
    if path is not None:
        event["path"] = path
        event["requestContext"]["path"] = f"/v1{path}"
    if path_params is not None:
        event["pathParameters"] = path_params
    if query is not None:
        event["queryStringParameters"] = query
        event["multiValueQueryStringParameters"] = {k: [v] for k, v in query.items()}
    if body is not None:
        event["body"] = body if isinstance(body, str) else json.dumps(body)
    if owner is None:
        del event["requestContext"]["authorizer"]
        event["requestContext"]["identity"]["apiKeyId"] = None
    else:
        event["requestContext"]["authorizer"].update(principalId=owner, owner=owner)
    return event


OPERATOR_ARN = f"arn:aws:iam::{ACCOUNT}:user/operator"


def call_api(handler: Any, context: Any, event: dict[str, Any]) -> tuple[int, Any]:
    """Invoke an API Gateway handler; its status code and decoded JSON body (None when empty)."""
    response = handler.lambda_handler(event, context)
    body = json.loads(response["body"]) if response.get("body") else None
    return response["statusCode"], body


def operator_event(name: str, account: str = ACCOUNT, **changes: Any) -> dict[str, Any]:
    """An api_*.json event on the operator route of the same path, as API Gateway passes a
    request it verified with AWS_IAM: no authorizer context, the signer in `identity`."""
    event = api_event(name, owner=None, **changes)
    for holder in (event, event["requestContext"]):
        holder["resource" if holder is event else "resourcePath"] = "/operator" + event["resource"]
    event["path"] = "/operator" + event["path"]
    event["requestContext"]["identity"].update(
        accountId=account,
        userArn=f"arn:aws:iam::{account}:user/operator",
        caller="AIDAOPERATOR",
        accessKey="AKIAOPERATOR",
        user="AIDAOPERATOR",
    )
    return event


def make_result(job_id: str, utterances: int = 2) -> dict[str, Any]:
    """A result document that satisfies the schema."""

    def scores(labels: tuple[str, ...], top: int) -> dict[str, float]:
        rest = 0.4 / (len(labels) - 1)
        return {label: (0.6 if i == top else rest) for i, label in enumerate(labels)}

    items = []
    for i in range(utterances):
        emotion = scores(EMOTIONS, i % len(EMOTIONS))
        sentiment = scores(SENTIMENTS, i % len(SENTIMENTS))
        items.append(
            {
                "start_s": 2.0 * i,
                "end_s": 2.0 * i + 1.8,
                "text": f"utterance number {i}",
                "emotion": {
                    "label": EMOTIONS[i % len(EMOTIONS)],
                    "confidence": 0.6,
                    "scores": emotion,
                },
                "sentiment": {
                    "label": SENTIMENTS[i % len(SENTIMENTS)],
                    "confidence": 0.6,
                    "scores": sentiment,
                },
            }
        )
    return {
        "schema": "video-sentiment/result@1",
        "job_id": job_id,
        "video": {
            "duration_s": 2.0 * utterances,
            "fps": 25.0,
            "width": 320,
            "height": 240,
            "has_audio": True,
        },
        "model": {"name": "video-sentiment-tiny", "version": "test"},
        "segmentation": "transcript",
        "utterances": items,
        "summary": {
            "emotion": {e: 1 / len(EMOTIONS) for e in EMOTIONS},
            "sentiment": {s: 1 / len(SENTIMENTS) for s in SENTIMENTS},
        },
        "timings_ms": {"decode": 10.0, "segment": 1.0, "model": 20.0, "total": 31.0},
    }
