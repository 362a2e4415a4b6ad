"""What the local stack builds, derived from template.yaml so the two cannot drift."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from vsent.stack.cfn import Evaluator, TemplateError, load_template

ACCOUNT_ID = "123456789012"
_ENDPOINT_TYPES = (
    "AWS::SageMaker::Model",
    "AWS::SageMaker::EndpointConfig",
    "AWS::SageMaker::Endpoint",
)


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


def _resources_of(
    template: dict[str, Any], *types: str, evaluator: Evaluator | None = None
) -> dict[str, dict[str, Any]]:
    """Resources of the given types; with an evaluator, only those whose Condition holds."""
    return {
        logical_id: resource
        for logical_id, resource in template["Resources"].items()
        if resource.get("Type") in types
        and (
            evaluator is None
            or "Condition" not in resource
            or evaluator.condition(resource["Condition"])
        )
    }


class _Builder:
    """Names every resource locally, then evaluates the template's properties against them."""

    def __init__(self, template: dict[str, Any], root: Path, stack_name: str, region: str) -> None:
        self.template = template
        self.root = root
        self.stack_name = stack_name
        self.region = region
        self.endpoint_name = f"{stack_name}-endpoint"
        refs: dict[str, Any] = {
            "AWS::StackName": stack_name,
            "AWS::Region": region,
            "AWS::AccountId": ACCOUNT_ID,
            "AWS::Partition": "aws",
            "AWS::URLSuffix": "amazonaws.com",
            "AWS::StackId": (
                f"arn:aws:cloudformation:{region}:{ACCOUNT_ID}:stack/{stack_name}/local"
            ),
        }
        for name, parameter in template.get("Parameters", {}).items():
            default = parameter.get("Default", "")
            refs[name] = default if isinstance(default, list) else str(default)
        forced = {
            resource["Condition"]: True
            for resource in _resources_of(template, *_ENDPOINT_TYPES).values()
            if "Condition" in resource
        }
        self.attributes: dict[tuple[str, str], Any] = {}
        self.refs = refs
        # A first evaluator without resource refs names things (names only use parameters).
        self.evaluator = Evaluator(template, refs, self.attributes, forced)
        self.names: dict[str, str] = {}
        for logical_id, resource in template["Resources"].items():
            self._name(logical_id, resource)

    def _name(self, logical_id: str, resource: dict[str, Any]) -> None:
        kind = resource.get("Type", "")
        props = resource.get("Properties", {}) or {}
        arn_prefix = f"arn:aws:{{service}}:{self.region}:{ACCOUNT_ID}"
        if kind == "AWS::S3::Bucket":
            name = self._explicit(props, "BucketName") or self._generated(logical_id).lower()
            self.refs[logical_id] = name
            self.attributes[(logical_id, "Arn")] = f"arn:aws:s3:::{name}"
            self.attributes[(logical_id, "DomainName")] = f"{name}.s3.amazonaws.com"
        elif kind == "AWS::DynamoDB::Table":
            name = self._explicit(props, "TableName") or self._generated(logical_id)
            self.refs[logical_id] = name
            self.attributes[(logical_id, "Arn")] = (
                f"{arn_prefix.format(service='dynamodb')}:table/{name}"
            )
        elif kind == "AWS::SQS::Queue":
            name = self._explicit(props, "QueueName") or self._generated(logical_id)
            arn = f"{arn_prefix.format(service='sqs')}:{name}"
            self.refs[logical_id] = f"https://sqs.{self.region}.amazonaws.com/{ACCOUNT_ID}/{name}"
            self.attributes[(logical_id, "Arn")] = arn
            self.attributes[(logical_id, "QueueName")] = name
            self.attributes[(logical_id, "QueueUrl")] = self.refs[logical_id]
        elif kind == "AWS::SNS::Topic":
            name = self._explicit(props, "TopicName") or self._generated(logical_id)
            arn = f"{arn_prefix.format(service='sns')}:{name}"
            self.refs[logical_id] = arn
            self.attributes[(logical_id, "TopicArn")] = arn
            self.attributes[(logical_id, "TopicName")] = name
        elif kind in _ENDPOINT_TYPES:
            name = self.endpoint_name if kind.endswith("Endpoint") else self._generated(logical_id)
            short = kind.rsplit("::", 1)[1]
            service = {"EndpointConfig": "endpoint-config"}.get(short, short.lower())
            self.refs[logical_id] = f"{arn_prefix.format(service='sagemaker')}:{service}/{name}"
            self.attributes[(logical_id, f"{short}Name")] = name
        elif kind == "AWS::CloudFront::Distribution":
            # Locally the page is served by `vsent up`, which sets the origin the API answers.
            name = self._generated(logical_id).lower()
            self.refs[logical_id] = name
            self.attributes[(logical_id, "DomainName")] = f"{name}.cloudfront.net"
        elif kind == "AWS::Serverless::Function":
            name = self._explicit(props, "FunctionName") or self._generated(logical_id)
            self.refs[logical_id] = name
            self.attributes[(logical_id, "Arn")] = (
                f"{arn_prefix.format(service='lambda')}:function:{name}"
            )
        else:
            name = self._generated(logical_id)
            self.refs[logical_id] = name
            self.attributes[(logical_id, "Arn")] = f"{arn_prefix.format(service='local')}:{name}"
        self.names[logical_id] = name

    def _explicit(self, props: dict[str, Any], key: str) -> str | None:
        if key not in props:
            return None
        return str(self.evaluator.evaluate(props[key]))

    def _generated(self, logical_id: str) -> str:
        return f"{self.stack_name}-{logical_id}"

    def props(self, resource: dict[str, Any], *keys: str) -> dict[str, Any]:
        """The named properties of a resource, evaluated (others may reference SAM internals)."""
        props = resource.get("Properties", {}) or {}
        return self.evaluator.evaluate({key: props[key] for key in keys if key in props}) or {}

    def logical_id_of(self, physical: str) -> str:
        """The logical id behind an ARN, URL or name produced by this builder."""
        for logical_id, ref in self.refs.items():
            if physical == ref:
                return logical_id
        for (logical_id, _), value in self.attributes.items():
            if physical == value:
                return logical_id
        raise TemplateError(f"{physical!r} does not name a resource of the template")


def _tables(b: _Builder) -> list[TableSpec]:
    tables = []
    for logical_id, resource in _resources_of(b.template, "AWS::DynamoDB::Table").items():
        props = b.props(
            resource,
            "KeySchema",
            "AttributeDefinitions",
            "GlobalSecondaryIndexes",
            "TimeToLiveSpecification",
        )
        ttl = props.get("TimeToLiveSpecification", {})
        tables.append(
            TableSpec(
                logical_id=logical_id,
                name=b.names[logical_id],
                key_schema=props["KeySchema"],
                attribute_definitions=props["AttributeDefinitions"],
                global_secondary_indexes=[
                    {key: index[key] for key in ("IndexName", "KeySchema", "Projection")}
                    for index in props.get("GlobalSecondaryIndexes", [])
                ],
                ttl_attribute=ttl.get("AttributeName") if ttl.get("Enabled", True) else None,
            )
        )
    return tables


def _queues(b: _Builder) -> list[QueueSpec]:
    queues = []
    for logical_id, resource in _resources_of(b.template, "AWS::SQS::Queue").items():
        props = b.props(resource, "VisibilityTimeout", "RedrivePolicy")
        redrive = props.get("RedrivePolicy") or {}
        target = redrive.get("deadLetterTargetArn")
        queues.append(
            QueueSpec(
                logical_id=logical_id,
                name=b.names[logical_id],
                visibility_timeout_s=int(props.get("VisibilityTimeout", 30)),
                dead_letter_queue=b.logical_id_of(target) if target else None,
                max_receive_count=int(redrive["maxReceiveCount"]) if target else None,
            )
        )
    return queues


def _subscriptions(b: _Builder) -> list[SubscriptionSpec]:
    subscriptions = []
    for logical_id, resource in _resources_of(b.template, "AWS::SNS::Topic").items():
        for inline in b.props(resource, "Subscription").get("Subscription", []):
            if inline.get("Protocol") == "sqs":
                queue = b.logical_id_of(inline["Endpoint"])
                subscriptions.append(SubscriptionSpec(logical_id, queue, False))
    subscription_resources = _resources_of(
        b.template, "AWS::SNS::Subscription", evaluator=b.evaluator
    )
    for resource in subscription_resources.values():
        props = b.props(resource, "Protocol", "TopicArn", "Endpoint", "RawMessageDelivery")
        if props.get("Protocol") == "sqs":
            raw = str(props.get("RawMessageDelivery", "false")).lower() == "true"
            subscriptions.append(
                SubscriptionSpec(
                    b.logical_id_of(props["TopicArn"]), b.logical_id_of(props["Endpoint"]), raw
                )
            )
    return subscriptions


def _buckets(b: _Builder) -> list[BucketSpec]:
    buckets = []
    for logical_id, resource in _resources_of(b.template, "AWS::S3::Bucket").items():
        props = b.props(
            resource, "NotificationConfiguration", "VersioningConfiguration", "CorsConfiguration"
        )
        notifications = []
        for config in props.get("NotificationConfiguration", {}).get("QueueConfigurations", []):
            rules = config.get("Filter", {}).get("S3Key", {}).get("Rules", [])
            filters = {rule["Name"].lower(): rule["Value"] for rule in rules}
            notifications.append(
                BucketNotificationSpec(
                    queue=b.logical_id_of(config["Queue"]),
                    events=[config["Event"]],
                    prefix=filters.get("prefix", ""),
                    suffix=filters.get("suffix", ""),
                )
            )
        buckets.append(
            BucketSpec(
                logical_id=logical_id,
                name=b.names[logical_id],
                notifications=notifications,
                versioned=props.get("VersioningConfiguration", {}).get("Status") == "Enabled",
                cors_rules=props.get("CorsConfiguration", {}).get("CorsRules", []),
            )
        )
    return buckets


def _api_auth(b: _Builder) -> dict[str, Any]:
    """The Auth of the API: Globals.Api.Auth overridden by the Api resource's own."""
    api_auth = b.template.get("Globals", {}).get("Api", {}).get("Auth", {})
    for api in _resources_of(b.template, "AWS::Serverless::Api").values():
        api_auth = {**api_auth, **(api.get("Properties", {}).get("Auth") or {})}
    return api_auth


def _functions(b: _Builder) -> list[FunctionSpec]:
    keys = ("CodeUri", "Handler", "Timeout", "MemorySize", "Environment", "Events")
    raw_globals = b.template.get("Globals", {}).get("Function", {})
    globals_ = b.evaluator.evaluate({key: raw_globals[key] for key in keys if key in raw_globals})
    api_auth = _api_auth(b)
    functions = []
    for logical_id, resource in _resources_of(b.template, "AWS::Serverless::Function").items():
        own = b.props(resource, *keys)
        props = {**globals_, **own}
        environment = {
            **globals_.get("Environment", {}).get("Variables", {}),
            **own.get("Environment", {}).get("Variables", {}),
        }
        sqs_events, routes = [], []
        for event in props.get("Events", {}).values():
            event_props = event.get("Properties", {})
            if event["Type"] == "SQS":
                scaling = event_props.get("ScalingConfig", {})
                sqs_events.append(
                    SqsEventSpec(
                        queue=b.logical_id_of(event_props["Queue"]),
                        batch_size=int(event_props.get("BatchSize", 10)),
                        batching_window_s=int(event_props.get("MaximumBatchingWindowInSeconds", 0)),
                        report_batch_item_failures="ReportBatchItemFailures"
                        in event_props.get("FunctionResponseTypes", []),
                        maximum_concurrency=int(scaling.get("MaximumConcurrency", 2)),
                    )
                )
            elif event["Type"] == "Api":
                auth = event_props.get("Auth", {})
                required = auth.get("ApiKeyRequired", api_auth.get("ApiKeyRequired", False))
                authorizer = auth.get("Authorizer", api_auth.get("DefaultAuthorizer"))
                routes.append(
                    RouteSpec(
                        event_props["Path"],
                        event_props["Method"].upper(),
                        bool(required),
                        None if authorizer == "NONE" else authorizer,
                    )
                )
        functions.append(
            FunctionSpec(
                logical_id=logical_id,
                name=b.names[logical_id],
                code_uri=(b.root / props["CodeUri"]).resolve(),
                handler=props["Handler"],
                timeout_s=int(props.get("Timeout", 3)),
                memory_mb=int(props.get("MemorySize", 128)),
                environment={key: str(value) for key, value in environment.items()},
                sqs_events=sqs_events,
                routes=routes,
            )
        )
    return functions


def _container_environment(b: _Builder) -> dict[str, str]:
    environment: dict[str, str] = {}
    for model in _resources_of(b.template, "AWS::SageMaker::Model").values():
        container = b.props(model, "PrimaryContainer").get("PrimaryContainer", {})
        environment.update(container.get("Environment", {}))
    return {name: str(value) for name, value in environment.items()}


def _endpoint(b: _Builder) -> EndpointSpec:
    configs = _resources_of(b.template, "AWS::SageMaker::EndpointConfig")
    for resource in configs.values():
        async_config = b.props(resource, "AsyncInferenceConfig").get("AsyncInferenceConfig")
        if not async_config:
            continue
        output = async_config["OutputConfig"]
        topics = output.get("NotificationConfig", {})
        client = async_config.get("ClientConfig", {})
        return EndpointSpec(
            name=b.endpoint_name,
            output_path=output["S3OutputPath"],
            failure_path=output.get("S3FailurePath", output["S3OutputPath"]),
            success_topic_arn=topics.get("SuccessTopic"),
            error_topic_arn=topics.get("ErrorTopic"),
            max_concurrent_invocations=int(client.get("MaxConcurrentInvocationsPerInstance", 1)),
            container_environment=_container_environment(b),
        )
    raise TemplateError("the template has no SageMaker EndpointConfig with AsyncInferenceConfig")


def _api(b: _Builder) -> ApiSpec:
    apis = _resources_of(b.template, "AWS::Serverless::Api")
    if not apis:
        raise TemplateError("the template has no AWS::Serverless::Api")
    logical_id, resource = next(iter(apis.items()))
    props = b.props(resource, "StageName", "GatewayResponses", "ApiKeySourceType")
    auth = b.props({"Properties": {"Auth": _api_auth(b)}}, "Auth").get("Auth", {})
    usage_plan = auth.get("UsagePlan", {})
    throttle, quota = usage_plan.get("Throttle", {}), usage_plan.get("Quota", {})
    plan_name = f"{b.stack_name}-usage-plan"
    for plan in _resources_of(b.template, "AWS::ApiGateway::UsagePlan", evaluator=b.evaluator):
        plan_props = b.props(b.template["Resources"][plan], "Throttle", "Quota", "UsagePlanName")
        throttle = throttle or plan_props.get("Throttle", {})
        quota = quota or plan_props.get("Quota", {})
        plan_name = str(plan_props.get("UsagePlanName", plan_name))
    return ApiSpec(
        logical_id=logical_id,
        stage=str(props.get("StageName", "Prod")),
        api_key_source=str(props.get("ApiKeySourceType", "HEADER")),
        authorizers={
            name: b.logical_id_of(config["FunctionArn"])
            for name, config in auth.get("Authorizers", {}).items()
            if "FunctionArn" in config
        },
        usage_plan_name=plan_name,
        rate_limit=float(throttle["RateLimit"]) if "RateLimit" in throttle else None,
        burst_limit=int(throttle["BurstLimit"]) if "BurstLimit" in throttle else None,
        quota=int(quota["Limit"]) if "Limit" in quota else None,
        quota_period=str(quota["Period"]) if "Period" in quota else None,
        gateway_responses={
            kind: GatewayResponseSpec(
                status=int(response["StatusCode"]) if "StatusCode" in response else None,
                template=response.get("ResponseTemplates", {}).get("application/json"),
            )
            for kind, response in props.get("GatewayResponses", {}).items()
        },
    )


# CloudFormation's property names where CreateUserPool's parameters differ.
_POOL_RENAMES = {"UserPoolName": "PoolName"}
_POOL_PARAMETERS = (
    "UserPoolName",
    "UsernameAttributes",
    "AutoVerifiedAttributes",
    "UsernameConfiguration",
    "AdminCreateUserConfig",
    "Policies",
    "AccountRecoverySetting",
    "Schema",
)
_CLIENT_PARAMETERS = (
    "ClientName",
    "GenerateSecret",
    "ExplicitAuthFlows",
    "PreventUserExistenceErrors",
    "EnableTokenRevocation",
    "SupportedIdentityProviders",
    "AccessTokenValidity",
    "IdTokenValidity",
    "RefreshTokenValidity",
    "TokenValidityUnits",
)


def _user_pools(b: _Builder) -> list[UserPoolSpec]:
    pools = []
    clients = _resources_of(b.template, "AWS::Cognito::UserPoolClient", evaluator=b.evaluator)
    for logical_id, resource in _resources_of(
        b.template, "AWS::Cognito::UserPool", evaluator=b.evaluator
    ).items():
        pool = b.props(resource, *_POOL_PARAMETERS)
        for client_id, client in clients.items():
            if client.get("Properties", {}).get("UserPoolId") != {"Ref": logical_id}:
                continue
            pools.append(
                UserPoolSpec(
                    logical_id=logical_id,
                    client_logical_id=client_id,
                    pool={_POOL_RENAMES.get(key, key): value for key, value in pool.items()},
                    client=b.props(client, *_CLIENT_PARAMETERS),
                )
            )
    return pools


def build_spec(
    template_path: Path, stack_name: str = "video-sentiment-local", region: str = "us-east-1"
) -> StackSpec:
    """Read template.yaml and derive every local resource, function and route from it."""
    template = load_template(template_path)
    builder = _Builder(template, template_path.parent, stack_name, region)
    return StackSpec(
        stack_name=stack_name,
        region=region,
        tables=_tables(builder),
        queues=_queues(builder),
        topics={
            logical_id: builder.refs[logical_id]
            for logical_id in _resources_of(template, "AWS::SNS::Topic")
        },
        subscriptions=_subscriptions(builder),
        buckets=_buckets(builder),
        functions=_functions(builder),
        endpoint=_endpoint(builder),
        api=_api(builder),
        user_pools=_user_pools(builder),
        names=dict(builder.names),
    )
