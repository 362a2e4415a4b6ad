"""The stack's AWS resources, created in moto from the StackSpec."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

from vsent.local.spec import ACCOUNT_ID, BucketNotificationSpec, StackSpec


@dataclass(frozen=True)
class CreatedResources:
    """Physical identifiers of what was created."""

    queue_urls: dict[str, str]
    queue_arns: dict[str, str]
    topic_arns: dict[str, str]
    bucket: str
    # Ids moto chose for resources whose Ref the template cannot know beforehand, by the local
    # name the spec gave them (the functions' environment holds those names).
    physical_ids: dict[str, str]
    usage_plan_id: str


def _queue_arn(region: str, name: str) -> str:
    return f"arn:aws:sqs:{region}:{ACCOUNT_ID}:{name}"


def _filter_rules(notification: BucketNotificationSpec) -> list[dict[str, str]]:
    rules = {"prefix": notification.prefix, "suffix": notification.suffix}
    return [{"Name": name, "Value": value} for name, value in rules.items() if value]


def _exists(exc: ClientError, *codes: str) -> bool:
    return exc.response.get("Error", {}).get("Code") in codes


def create_resources(spec: StackSpec, clients: Any, *, user_pools: bool = True) -> CreatedResources:
    """Create buckets, tables, queues, topics, subscriptions, the usage plan and (unless
    ``user_pools`` is false: moto spends half a second on each) the user pools as the template
    declares them.

    `clients(service)` returns a boto3 client bound to moto. What exists already (a restarted
    stack's restored state) is kept and reused, so this runs on every start.
    """
    sqs, sns, s3, dynamodb = (clients(name) for name in ("sqs", "sns", "s3", "dynamodb"))
    queue_urls: dict[str, str] = {}
    queue_arns = {queue.logical_id: _queue_arn(spec.region, queue.name) for queue in spec.queues}
    # Dead-letter queues first: a redrive policy must name an existing queue.
    for queue in sorted(spec.queues, key=lambda queue: queue.dead_letter_queue is not None):
        attributes = {"VisibilityTimeout": str(queue.visibility_timeout_s)}
        if queue.dead_letter_queue:
            attributes["RedrivePolicy"] = json.dumps(
                {
                    "deadLetterTargetArn": queue_arns[queue.dead_letter_queue],
                    "maxReceiveCount": queue.max_receive_count,
                }
            )
        response = sqs.create_queue(QueueName=queue.name, Attributes=attributes)
        queue_urls[queue.logical_id] = response["QueueUrl"]

    for table in spec.tables:
        request: dict[str, Any] = {
            "TableName": table.name,
            "KeySchema": table.key_schema,
            "AttributeDefinitions": table.attribute_definitions,
            "BillingMode": "PAY_PER_REQUEST",
        }
        if table.global_secondary_indexes:
            request["GlobalSecondaryIndexes"] = table.global_secondary_indexes
        try:
            dynamodb.create_table(**request)
        except ClientError as exc:
            if not _exists(exc, "ResourceInUseException"):
                raise
        if table.ttl_attribute:
            dynamodb.update_time_to_live(
                TableName=table.name,
                TimeToLiveSpecification={"Enabled": True, "AttributeName": table.ttl_attribute},
            )

    topic_arns = {
        logical_id: sns.create_topic(Name=arn.rsplit(":", 1)[1])["TopicArn"]
        for logical_id, arn in spec.topics.items()
    }
    for subscription in spec.subscriptions:
        sns.subscribe(
            TopicArn=topic_arns[subscription.topic],
            Protocol="sqs",
            Endpoint=queue_arns[subscription.queue],
            Attributes={"RawMessageDelivery": str(subscription.raw_message_delivery).lower()},
        )

    for bucket in spec.buckets:
        try:
            s3.create_bucket(Bucket=bucket.name)
        except ClientError as exc:
            if not _exists(exc, "BucketAlreadyOwnedByYou", "BucketAlreadyExists"):
                raise
        if bucket.versioned:
            s3.put_bucket_versioning(
                Bucket=bucket.name, VersioningConfiguration={"Status": "Enabled"}
            )
        if bucket.notifications:
            s3.put_bucket_notification_configuration(
                Bucket=bucket.name,
                NotificationConfiguration={
                    "QueueConfigurations": [
                        {
                            "QueueArn": queue_arns[notification.queue],
                            "Events": notification.events,
                            "Filter": {"Key": {"FilterRules": _filter_rules(notification)}},
                        }
                        for notification in bucket.notifications
                    ]
                },
            )
        if bucket.cors_rules:
            s3.put_bucket_cors(
                Bucket=bucket.name,
                CORSConfiguration={"CORSRules": [_cors_rule(rule) for rule in bucket.cors_rules]},
            )
    # The uploads bucket is the one whose events start jobs; others (the web page's) are passive.
    uploads = [bucket for bucket in spec.buckets if bucket.notifications]
    if len(uploads) != 1:
        raise ValueError(
            f"the local stack expects one bucket with upload notifications, the template has "
            f"{len(uploads)}"
        )
    physical_ids = create_user_pools(spec, clients("cognito-idp")) if user_pools else {}
    usage_plan_id = create_usage_plan(spec, clients("apigateway"))
    return CreatedResources(
        queue_urls, queue_arns, topic_arns, uploads[0].name, physical_ids, usage_plan_id
    )


def _cors_rule(rule: dict[str, Any]) -> dict[str, Any]:
    """A CloudFormation CorsRule in the S3 API's shape."""
    names = {
        "AllowedHeaders": "AllowedHeaders",
        "AllowedMethods": "AllowedMethods",
        "AllowedOrigins": "AllowedOrigins",
        "ExposedHeaders": "ExposeHeaders",
        "MaxAge": "MaxAgeSeconds",
        "Id": "ID",
    }
    converted: dict[str, Any] = {}
    for key, value in rule.items():
        if key not in names:
            continue
        # A CommaDelimitedList parameter's default reaches here as one string.
        if key.startswith(("Allowed", "Exposed")) and isinstance(value, str):
            value = [part.strip() for part in value.split(",")]
        converted[names[key]] = int(value) if key == "MaxAge" else value
    return converted


def create_user_pools(spec: StackSpec, cognito: Any) -> dict[str, str]:
    """The template's user pools and app clients; {local name: moto's id}."""
    ids: dict[str, str] = {}
    existing = {
        found["Name"]: found["Id"] for found in cognito.list_user_pools(MaxResults=60)["UserPools"]
    }
    for pool in spec.user_pools:
        pool_id = (
            existing.get(pool.pool.get("PoolName", ""))
            or (cognito.create_user_pool(**pool.pool)["UserPool"]["Id"])
        )
        clients = {
            found["ClientName"]: found["ClientId"]
            for found in cognito.list_user_pool_clients(UserPoolId=pool_id, MaxResults=60)[
                "UserPoolClients"
            ]
        }
        client_id = (
            clients.get(pool.client.get("ClientName", ""))
            or (
                cognito.create_user_pool_client(UserPoolId=pool_id, **pool.client)[
                    "UserPoolClient"
                ]["ClientId"]
            )
        )
        ids[spec.names[pool.logical_id]] = pool_id
        ids[spec.names[pool.client_logical_id]] = client_id
    return ids


def create_usage_plan(spec: StackSpec, apigateway: Any) -> str:
    """The usage plan users' keys join (the local gateway enforces its limits)."""
    request: dict[str, Any] = {"name": spec.api.usage_plan_name}
    if spec.api.rate_limit is not None:
        request["throttle"] = {"rateLimit": spec.api.rate_limit, "burstLimit": spec.api.burst_limit}
    if spec.api.quota is not None:
        request["quota"] = {"limit": spec.api.quota, "period": spec.api.quota_period or "MONTH"}
    for plan in apigateway.get_usage_plans(limit=500).get("items", []):
        if plan["name"] == request["name"]:
            return str(plan["id"])
    return apigateway.create_usage_plan(**request)["id"]


def usage_plan_key_lookup(apigateway: Any, usage_plan_id: str) -> Any:
    """A function mapping a key value to its id if that key is enabled and in the usage plan.

    Read from moto on every call: keys come and go (users create and revoke them).
    """

    def lookup(value: str) -> str | None:
        paginator = apigateway.get_paginator("get_usage_plan_keys")
        in_plan = {
            item["id"]: item.get("value")
            for page in paginator.paginate(usagePlanId=usage_plan_id)
            for item in page.get("items", [])
        }
        for key_id, key_value in in_plan.items():
            if key_value == value:
                key = apigateway.get_api_key(apiKey=key_id)
                return key_id if key.get("enabled", True) else None
        return None

    return lookup
