"""What the local stack builds: the resources, functions and API that template.yaml declares,
as vsent.local.template_reader derives them (the unit and samlocal tiers build from them too)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from vsent.local.cfn import TemplateError

ACCOUNT_ID = "123456789012"


@dataclass(frozen=True)
class TableSpec:
    """A DynamoDB table: keys, indexes and TTL as the template declares them."""

    logical_id: str
    name: str
    key_schema: list[dict[str, str]]
    attribute_definitions: list[dict[str, str]]
    global_secondary_indexes: list[dict[str, Any]]
    ttl_attribute: str | None


@dataclass(frozen=True)
class QueueSpec:
    """An SQS queue with its visibility timeout and redrive policy."""

    logical_id: str
    name: str
    visibility_timeout_s: int
    dead_letter_queue: str | None
    max_receive_count: int | None


@dataclass(frozen=True)
class SubscriptionSpec:
    """An SNS topic delivering to an SQS queue."""

    topic: str
    queue: str
    raw_message_delivery: bool


@dataclass(frozen=True)
class BucketNotificationSpec:
    """S3 events for keys under a prefix sent to a queue."""

    queue: str
    events: list[str]
    prefix: str
    suffix: str


@dataclass(frozen=True)
class BucketSpec:
    """A bucket, where its events go, and which browser origins may use it (CORS rules)."""

    logical_id: str
    name: str
    notifications: list[BucketNotificationSpec]
    versioned: bool
    cors_rules: list[dict[str, Any]]


@dataclass(frozen=True)
class SqsEventSpec:
    """An SQS event source mapping of a function."""

    queue: str
    batch_size: int
    batching_window_s: int
    report_batch_item_failures: bool
    maximum_concurrency: int


@dataclass(frozen=True)
class RouteSpec:
    """One API route of a function, and how API Gateway authorizes it."""

    path: str
    method: str
    api_key_required: bool
    # "AWS_IAM", the name of one of the API's Lambda authorizers, or None (open).
    authorizer: str | None = None


@dataclass(frozen=True)
class FunctionSpec:
    """A Lambda function: its code, handler, environment and event sources."""

    logical_id: str
    name: str
    code_uri: Path
    handler: str
    timeout_s: int
    memory_mb: int
    environment: dict[str, str]
    sqs_events: list[SqsEventSpec]
    routes: list[RouteSpec]


@dataclass(frozen=True)
class EndpointSpec:
    """The SageMaker async endpoint: output paths, topics and concurrency."""

    name: str
    output_path: str
    failure_path: str
    success_topic_arn: str | None
    error_topic_arn: str | None
    max_concurrent_invocations: int
    container_environment: dict[str, str]


@dataclass(frozen=True)
class GatewayResponseSpec:
    """A customised API Gateway response (status and JSON body template)."""

    status: int | None
    template: str | None


@dataclass(frozen=True)
class ApiSpec:
    """The REST API: stage, authorizers, usage plan limits and customised gateway responses."""

    logical_id: str
    stage: str
    # HEADER: API Gateway reads x-api-key; AUTHORIZER: the authorizer names the key.
    api_key_source: str
    # Lambda authorizers by name: the logical id of their function.
    authorizers: dict[str, str]
    usage_plan_name: str
    rate_limit: float | None
    burst_limit: int | None
    quota: int | None
    quota_period: str | None
    gateway_responses: dict[str, GatewayResponseSpec]


@dataclass(frozen=True)
class UserPoolSpec:
    """A Cognito user pool and its app client, as CreateUserPool(Client) parameters."""

    logical_id: str
    client_logical_id: str
    pool: dict[str, Any]
    client: dict[str, Any]


@dataclass(frozen=True)
class StackSpec:
    """Everything the local stack creates and runs."""

    stack_name: str
    region: str
    tables: list[TableSpec]
    queues: list[QueueSpec]
    topics: dict[str, str]
    subscriptions: list[SubscriptionSpec]
    buckets: list[BucketSpec]
    functions: list[FunctionSpec]
    endpoint: EndpointSpec
    api: ApiSpec
    user_pools: list[UserPoolSpec]
    # The local name each resource's Ref gives (what the functions' environment holds).
    names: dict[str, str]

    def queue(self, logical_id: str) -> QueueSpec:
        """The queue with that logical id."""
        return next(queue for queue in self.queues if queue.logical_id == logical_id)

    def table(self, logical_id: str) -> TableSpec:
        """The table with that logical id."""
        return next(table for table in self.tables if table.logical_id == logical_id)

    def functions_environment(self, physical_ids: dict[str, str]) -> dict[str, str]:
        """The environment every function sees; the template gives them all the same one here.

        Refs to resources whose ids the account chose (a user pool, its client) are replaced by
        ``physical_ids`` (local name -> id).
        """
        merged: dict[str, str] = {}
        for function in self.functions:
            for name, value in function.environment.items():
                value = physical_ids.get(value, value)
                if merged.get(name, value) != value:
                    raise TemplateError(
                        f"functions disagree on {name}; they run in one process locally"
                    )
                merged[name] = value
        return merged
