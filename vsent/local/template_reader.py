"""The reader of template.yaml: every resource, function and route of the local stack.

SAM's Globals and the API's Auth are merged here as SAM merges them; the template tier checks the
result against SAM's own transform (tests/template/test_template_reader.py).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from vsent.local.cfn import TemplateError, load_template
from vsent.local.local_names import LocalNames, resources_of
from vsent.local.spec import (
    ApiSpec,
    BucketNotificationSpec,
    BucketSpec,
    EndpointSpec,
    FunctionSpec,
    GatewayResponseSpec,
    QueueSpec,
    RouteSpec,
    SqsEventSpec,
    StackSpec,
    SubscriptionSpec,
    TableSpec,
    UserPoolSpec,
)


def _tables(b: LocalNames) -> list[TableSpec]:
    tables = []
    for logical_id, resource in resources_of(b.template, "AWS::DynamoDB::Table").items():
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


def _queues(b: LocalNames) -> list[QueueSpec]:
    queues = []
    for logical_id, resource in resources_of(b.template, "AWS::SQS::Queue").items():
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


def _subscriptions(b: LocalNames) -> list[SubscriptionSpec]:
    subscriptions = []
    for logical_id, resource in resources_of(b.template, "AWS::SNS::Topic").items():
        for inline in b.props(resource, "Subscription").get("Subscription", []):
            if inline.get("Protocol") == "sqs":
                queue = b.logical_id_of(inline["Endpoint"])
                subscriptions.append(SubscriptionSpec(logical_id, queue, False))
    subscription_resources = resources_of(
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


def _buckets(b: LocalNames) -> list[BucketSpec]:
    buckets = []
    for logical_id, resource in resources_of(b.template, "AWS::S3::Bucket").items():
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


def _api_auth(b: LocalNames) -> dict[str, Any]:
    """The Auth of the API: Globals.Api.Auth overridden by the Api resource's own."""
    api_auth = b.template.get("Globals", {}).get("Api", {}).get("Auth", {})
    for api in resources_of(b.template, "AWS::Serverless::Api").values():
        api_auth = {**api_auth, **(api.get("Properties", {}).get("Auth") or {})}
    return api_auth


def _functions(b: LocalNames) -> list[FunctionSpec]:
    keys = ("CodeUri", "Handler", "Timeout", "MemorySize", "Environment", "Events")
    raw_globals = b.template.get("Globals", {}).get("Function", {})
    globals_ = b.evaluator.evaluate({key: raw_globals[key] for key in keys if key in raw_globals})
    api_auth = _api_auth(b)
    functions = []
    for logical_id, resource in resources_of(b.template, "AWS::Serverless::Function").items():
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


def _container_environment(b: LocalNames) -> dict[str, str]:
    environment: dict[str, str] = {}
    for model in resources_of(b.template, "AWS::SageMaker::Model").values():
        container = b.props(model, "PrimaryContainer").get("PrimaryContainer", {})
        environment.update(container.get("Environment", {}))
    return {name: str(value) for name, value in environment.items()}


def _endpoint(b: LocalNames) -> EndpointSpec:
    configs = resources_of(b.template, "AWS::SageMaker::EndpointConfig")
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


def _api(b: LocalNames) -> ApiSpec:
    apis = resources_of(b.template, "AWS::Serverless::Api")
    if not apis:
        raise TemplateError("the template has no AWS::Serverless::Api")
    logical_id, resource = next(iter(apis.items()))
    props = b.props(resource, "StageName", "GatewayResponses", "ApiKeySourceType")
    auth = b.props({"Properties": {"Auth": _api_auth(b)}}, "Auth").get("Auth", {})
    usage_plan = auth.get("UsagePlan", {})
    throttle, quota = usage_plan.get("Throttle", {}), usage_plan.get("Quota", {})
    plan_name = f"{b.stack_name}-usage-plan"
    for plan in resources_of(b.template, "AWS::ApiGateway::UsagePlan", evaluator=b.evaluator):
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


def _user_pools(b: LocalNames) -> list[UserPoolSpec]:
    pools = []
    clients = resources_of(b.template, "AWS::Cognito::UserPoolClient", evaluator=b.evaluator)
    for logical_id, resource in resources_of(
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
    template_path: Path,
    stack_name: str = "video-sentiment-local",
    region: str = "us-east-1",
    *,
    parameters: Mapping[str, str] | None = None,
    fixed_names: Mapping[str, str] | None = None,
) -> StackSpec:
    """Read template.yaml and derive every local resource, function and route from it.

    ``parameters`` override the template's parameter defaults; ``fixed_names`` pin the names of
    some resources by logical id (see :class:`LocalNames`).
    """
    template = load_template(template_path)
    builder = LocalNames(
        template, template_path.parent, stack_name, region, parameters, fixed_names
    )
    return StackSpec(
        stack_name=stack_name,
        region=region,
        tables=_tables(builder),
        queues=_queues(builder),
        topics={
            logical_id: builder.refs[logical_id]
            for logical_id in resources_of(template, "AWS::SNS::Topic")
        },
        subscriptions=_subscriptions(builder),
        buckets=_buckets(builder),
        functions=_functions(builder),
        endpoint=_endpoint(builder),
        api=_api(builder),
        user_pools=_user_pools(builder),
        names=dict(builder.names),
    )
