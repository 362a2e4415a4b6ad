"""The uploads bucket, the tables, the queues and the topics: private, encrypted, wired once."""

from __future__ import annotations

from typing import Any

import pytest
from cfntools import as_list, dependency_graph, find_cycle, resources_of_type, statements

DATA_PREFIXES = ("uploads/", "requests/", "results/", "failures/")


@pytest.fixture(scope="module")
def bucket(sam_template: dict[str, Any]) -> dict[str, Any]:
    return sam_template["Resources"]["UploadsBucket"]["Properties"]


def test_bucket_blocks_every_kind_of_public_access(bucket: dict[str, Any]) -> None:
    block = bucket["PublicAccessBlockConfiguration"]
    assert block == {
        "BlockPublicAcls": True,
        "BlockPublicPolicy": True,
        "IgnorePublicAcls": True,
        "RestrictPublicBuckets": True,
    }
    assert bucket["OwnershipControls"]["Rules"] == [{"ObjectOwnership": "BucketOwnerEnforced"}]


def test_bucket_is_encrypted_and_versioned(bucket: dict[str, Any]) -> None:
    rules = bucket["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    algorithms = {rule["ServerSideEncryptionByDefault"]["SSEAlgorithm"] for rule in rules}
    assert algorithms and algorithms <= {"AES256", "aws:kms", "aws:kms:dsse"}
    assert bucket["VersioningConfiguration"] == {"Status": "Enabled"}


def test_every_bucket_policy_refuses_requests_without_tls(sam_template: dict[str, Any]) -> None:
    policies = resources_of_type(sam_template, "AWS::S3::BucketPolicy")
    buckets = resources_of_type(sam_template, "AWS::S3::Bucket")
    assert {p["Properties"]["Bucket"]["Ref"] for p in policies.values()} == set(buckets)
    for policy in (p["Properties"] for p in policies.values()):
        name = policy["Bucket"]["Ref"]
        denials = [
            s
            for s in statements(policy["PolicyDocument"])
            if s["Effect"] == "Deny"
            and s["Condition"].get("Bool", {}).get("aws:SecureTransport") in ("false", False)
        ]
        assert len(denials) == 1, name
        [deny] = denials
        assert deny["Principal"] == "*"
        assert deny["Action"] == "s3:*"
        assert {"Fn::GetAtt": [name, "Arn"]} in deny["Resource"]
        assert {"Fn::Sub": f"${{{name}.Arn}}/*"} in deny["Resource"]


def test_lifecycle_expires_every_prefix_after_the_retention_period(bucket: dict[str, Any]) -> None:
    rules = bucket["LifecycleConfiguration"]["Rules"]
    assert all(rule["Status"] == "Enabled" for rule in rules)
    expiry = {
        rule["Prefix"]: rule["ExpirationInDays"] for rule in rules if "ExpirationInDays" in rule
    }
    assert expiry == {prefix: {"Ref": "RetentionDays"} for prefix in DATA_PREFIXES}
    whole_bucket = [rule for rule in rules if not rule.get("Prefix")]
    assert any("NoncurrentVersionExpiration" in rule for rule in whole_bucket)
    assert any("AbortIncompleteMultipartUpload" in rule for rule in whole_bucket)
    assert any(rule.get("ExpiredObjectDeleteMarker") for rule in whole_bucket)


def test_cors_lets_browsers_upload_with_a_presigned_post(bucket: dict[str, Any]) -> None:
    [rule] = bucket["CorsConfiguration"]["CorsRules"]
    assert "POST" in rule["AllowedMethods"]
    assert "PUT" not in rule["AllowedMethods"] and "DELETE" not in rule["AllowedMethods"]
    assert rule["AllowedOrigins"] == {"Ref": "CorsAllowedOrigins"}


def test_only_objects_created_under_uploads_reach_the_queue(bucket: dict[str, Any]) -> None:
    notifications = bucket["NotificationConfiguration"]
    assert set(notifications) == {"QueueConfigurations"}
    [target] = notifications["QueueConfigurations"]
    assert target["Event"] == "s3:ObjectCreated:*"
    assert target["Queue"] == {"Fn::GetAtt": ["UploadsQueue", "Arn"]}
    assert target["Filter"]["S3Key"]["Rules"] == [{"Name": "prefix", "Value": "uploads/"}]


def test_queue_policy_names_the_bucket_without_referring_to_it(
    sam_template: dict[str, Any],
) -> None:
    resources = sam_template["Resources"]
    bucket_name = resources["UploadsBucket"]["Properties"]["BucketName"]["Fn::Sub"]
    policy = resources["UploadsQueuePolicy"]["Properties"]
    [grant] = statements(policy["PolicyDocument"])
    assert grant["Principal"] == {"Service": "s3.amazonaws.com"}
    assert grant["Action"] == "sqs:SendMessage"
    source = grant["Condition"]["ArnLike"]["aws:SourceArn"]["Fn::Sub"]
    assert source == f"arn:${{AWS::Partition}}:s3:::{bucket_name}"
    assert grant["Condition"]["StringEquals"]["aws:SourceAccount"] == {"Ref": "AWS::AccountId"}
    assert "UploadsBucket" not in dependency_graph(sam_template)["UploadsQueuePolicy"]
    # S3 tests the destination when the notification is set: the policy must exist first.
    assert "UploadsQueuePolicy" in as_list(resources["UploadsBucket"]["DependsOn"])


def test_outputs_and_failures_land_outside_the_upload_trigger(sam_template: dict[str, Any]) -> None:
    config = sam_template["Resources"]["SentimentEndpointConfig"]["Properties"]
    output = config["AsyncInferenceConfig"]["OutputConfig"]
    assert output["S3OutputPath"] == {"Fn::Sub": "s3://${UploadsBucket}/results/"}
    assert output["S3FailurePath"] == {"Fn::Sub": "s3://${UploadsBucket}/failures/"}
    for path in (output["S3OutputPath"]["Fn::Sub"], output["S3FailurePath"]["Fn::Sub"]):
        assert not path.removeprefix("s3://${UploadsBucket}/").startswith("uploads/")


@pytest.mark.parametrize("variant", ["cfn_template", "cfn_template_bare"])
def test_transformed_template_has_no_dependency_cycle(
    variant: str, request: pytest.FixtureRequest
) -> None:
    template = request.getfixturevalue(variant)
    assert find_cycle(dependency_graph(template)) is None


def test_jobs_table_matches_the_contract(sam_template: dict[str, Any]) -> None:
    table = sam_template["Resources"]["JobsTable"]["Properties"]
    assert table["KeySchema"] == [{"AttributeName": "job_id", "KeyType": "HASH"}]
    indexes = {index["IndexName"]: index for index in table["GlobalSecondaryIndexes"]}
    assert indexes["owner-created-index"]["KeySchema"] == [
        {"AttributeName": "owner", "KeyType": "HASH"},
        {"AttributeName": "created_at", "KeyType": "RANGE"},
    ]
    assert indexes["object-key-index"]["KeySchema"] == [
        {"AttributeName": "object_key", "KeyType": "HASH"}
    ]
    types = {a["AttributeName"]: a["AttributeType"] for a in table["AttributeDefinitions"]}
    assert types == {"job_id": "S", "owner": "S", "created_at": "S", "object_key": "S"}
    assert table["TimeToLiveSpecification"] == {"AttributeName": "expires_at", "Enabled": True}


def test_idempotency_table_fits_powertools_persistence(sam_template: dict[str, Any]) -> None:
    table = sam_template["Resources"]["IdempotencyTable"]["Properties"]
    assert table["KeySchema"] == [{"AttributeName": "id", "KeyType": "HASH"}]
    assert table["TimeToLiveSpecification"] == {"AttributeName": "expiration", "Enabled": True}


def test_every_table_is_on_demand_encrypted_and_recoverable(sam_template: dict[str, Any]) -> None:
    tables = resources_of_type(sam_template, "AWS::DynamoDB::Table")
    assert set(tables) == {"JobsTable", "IdempotencyTable", "KeysTable"}
    for table in tables.values():
        properties = table["Properties"]
        assert properties["BillingMode"] == "PAY_PER_REQUEST"
        assert properties["SSESpecification"]["SSEEnabled"] is True
        assert properties["PointInTimeRecoverySpecification"] == {
            "PointInTimeRecoveryEnabled": True
        }


def test_every_queue_is_encrypted_and_every_work_queue_has_a_dead_letter_queue(
    sam_template: dict[str, Any],
) -> None:
    queues = resources_of_type(sam_template, "AWS::SQS::Queue")
    dead_letter = {name for name in queues if name.endswith("DeadLetterQueue")}
    assert dead_letter == {"UploadsDeadLetterQueue", "NotificationsDeadLetterQueue"}
    for name, queue in queues.items():
        properties = queue["Properties"]
        assert properties.get("SqsManagedSseEnabled") is True or "KmsMasterKeyId" in properties
        if name in dead_letter:
            assert "RedrivePolicy" not in properties
            continue
        redrive = properties["RedrivePolicy"]
        assert redrive["deadLetterTargetArn"]["Fn::GetAtt"][0] in dead_letter
        assert redrive["maxReceiveCount"] >= 1


def test_queues_stay_invisible_longer_than_their_consumer_runs(
    sam_template: dict[str, Any],
) -> None:
    functions = resources_of_type(sam_template, "AWS::Serverless::Function")
    default_timeout = sam_template["Globals"]["Function"]["Timeout"]
    consumers = 0
    for function in functions.values():
        for event in function["Properties"].get("Events", {}).values():
            if event["Type"] != "SQS":
                continue
            consumers += 1
            queue_id = event["Properties"]["Queue"]["Fn::GetAtt"][0]
            queue = sam_template["Resources"][queue_id]["Properties"]
            timeout = function["Properties"].get("Timeout", default_timeout)
            assert queue["VisibilityTimeout"] >= 6 * timeout, queue_id
    assert consumers == 2


def test_every_topic_is_encrypted(sam_template: dict[str, Any]) -> None:
    topics = resources_of_type(sam_template, "AWS::SNS::Topic")
    assert {"SuccessTopic", "ErrorTopic", "AlarmTopic"} <= set(topics)
    for topic in topics.values():
        assert topic["Properties"]["KmsMasterKeyId"] == {"Ref": "TopicKey"}
    key = sam_template["Resources"]["TopicKey"]["Properties"]
    assert key["EnableKeyRotation"] is True


def test_both_endpoint_topics_reach_the_notifications_queue(sam_template: dict[str, Any]) -> None:
    subscriptions = resources_of_type(sam_template, "AWS::SNS::Subscription")
    to_queue = {
        s["Properties"]["TopicArn"]["Ref"]
        for s in subscriptions.values()
        if s["Properties"]["Endpoint"] == {"Fn::GetAtt": ["NotificationsQueue", "Arn"]}
    }
    assert to_queue == {"SuccessTopic", "ErrorTopic"}
    for subscription in subscriptions.values():
        if subscription["Properties"]["Protocol"] == "sqs":
            assert subscription["Properties"]["RawMessageDelivery"] is False
    policy = sam_template["Resources"]["NotificationsQueuePolicy"]["Properties"]
    [grant] = statements(policy["PolicyDocument"])
    assert grant["Principal"] == {"Service": "sns.amazonaws.com"}
    assert grant["Condition"]["ArnEquals"]["aws:SourceArn"] == [
        {"Ref": "SuccessTopic"},
        {"Ref": "ErrorTopic"},
    ]
