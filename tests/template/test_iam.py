"""Least privilege, checked on the CloudFormation SAM generates: every inline policy of every role
and resource policy, including the statements SAM's policy templates expand to."""

from __future__ import annotations

from typing import Any

from cfntools import actions, as_list, policy_documents, resources_of_type, statements

# Services that hold or move the product's data: no wildcard of any kind in their actions.
DATA_SERVICES = {"s3", "dynamodb", "sqs", "sns", "sagemaker", "kms", "logs"}
# Actions that have no resource-level permissions, so "Resource": "*" is the only way to grant them.
RESOURCELESS_ACTIONS = {"ecr:GetAuthorizationToken", "cloudwatch:PutMetricData"}
# AWS managed policies SAM attaches to function roles (basic logs, X-Ray, the SQS event source).
ALLOWED_MANAGED_POLICIES = {
    "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole",
    "arn:aws:iam::aws:policy/AWSXrayWriteOnlyAccess",
    "arn:aws:iam::aws:policy/service-role/AWSLambdaSQSQueueExecutionRole",
    # API Gateway's account-wide role for access logs (no narrower form exists).
    "arn:aws:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs",
}


def _allow_statements(template: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    found = []
    for where, document in policy_documents(template):
        if template["Resources"][where.split("/")[0]]["Type"] == "AWS::KMS::Key":
            continue  # key policies are checked on their own below
        found.extend((where, s) for s in statements(document) if s["Effect"] == "Allow")
    return found


def test_the_sweep_sees_every_role_and_resource_policy(cfn_template: dict[str, Any]) -> None:
    holders = {where.split("/")[0] for where, _ in policy_documents(cfn_template)}
    expected = {
        "SubmitFunctionRole",
        "CompleteFunctionRole",
        "ApiFunctionRole",
        "SageMakerExecutionRole",
        "UploadsBucketPolicy",
        "UploadsQueuePolicy",
        "NotificationsQueuePolicy",
        "TopicKey",
    }
    assert expected <= holders


def test_no_allow_statement_uses_wildcard_or_negated_actions(cfn_template: dict[str, Any]) -> None:
    offenders = []
    for where, statement in _allow_statements(cfn_template):
        if "NotAction" in statement or "NotResource" in statement:
            offenders.append((where, "NotAction/NotResource"))
        for action in actions(statement):
            service = action.split(":", 1)[0]
            if (
                action == "*"
                or action.endswith(":*")
                or (service in DATA_SERVICES and "*" in action)
            ):
                offenders.append((where, action))
    assert offenders == []


def test_resource_star_only_for_actions_without_resource_level_permissions(
    cfn_template: dict[str, Any],
) -> None:
    offenders = [
        (where, actions(statement))
        for where, statement in _allow_statements(cfn_template)
        if "*" in as_list(statement.get("Resource", []))
        and not set(actions(statement)) <= RESOURCELESS_ACTIONS
    ]
    assert offenders == []


def test_put_metric_data_is_limited_by_namespace(cfn_template: dict[str, Any]) -> None:
    grants = [
        s for _, s in _allow_statements(cfn_template) if "cloudwatch:PutMetricData" in actions(s)
    ]
    assert grants
    for statement in grants:
        assert "cloudwatch:namespace" in statement["Condition"]["StringLike"]


def test_function_roles_attach_only_the_basic_managed_policies(
    cfn_template: dict[str, Any],
) -> None:
    roles = resources_of_type(cfn_template, "AWS::IAM::Role")
    for name, role in roles.items():
        attached = {
            arn["Fn::Sub"].replace("${AWS::Partition}", "aws") if isinstance(arn, dict) else arn
            for arn in role["Properties"].get("ManagedPolicyArns", [])
        }
        assert attached <= ALLOWED_MANAGED_POLICIES, name


def test_key_policy_delegates_to_iam_and_grants_services_only_what_they_use(
    cfn_template: dict[str, Any],
) -> None:
    key = cfn_template["Resources"]["TopicKey"]["Properties"]["KeyPolicy"]
    account_root = {"AWS": {"Fn::Sub": "arn:${AWS::Partition}:iam::${AWS::AccountId}:root"}}
    delegations = [s for s in statements(key) if s["Principal"] == account_root]
    assert [s["Action"] for s in delegations] == ["kms:*"]
    services = {
        s["Principal"]["Service"]: sorted(actions(s))
        for s in statements(key)
        if s["Principal"] != account_root
    }
    assert services == {"cloudwatch.amazonaws.com": ["kms:Decrypt", "kms:GenerateDataKey"]}


def test_submit_may_invoke_only_the_stacks_endpoint_and_only_when_it_exists(
    cfn_template: dict[str, Any],
) -> None:
    role = cfn_template["Resources"]["SubmitFunctionRole"]["Properties"]
    invoking = []
    for entry in role["Policies"]:
        if "Fn::If" not in entry:
            assert all(
                "sagemaker:InvokeEndpointAsync" not in actions(s)
                for s in statements(entry["PolicyDocument"])
            )
            continue
        condition, policy, otherwise = entry["Fn::If"]
        assert condition == "HasModel"
        assert otherwise == {"Ref": "AWS::NoValue"}
        invoking.extend(statements(policy["PolicyDocument"]))
    assert [(actions(s), s["Resource"]) for s in invoking] == [
        (["sagemaker:InvokeEndpointAsync"], {"Ref": "Endpoint"})
    ]


def _writes(template: dict[str, Any], role: str) -> list[Any]:
    resources = []
    for where, statement in _allow_statements(template):
        if where.startswith(f"{role}/") and "s3:PutObject" in actions(statement):
            resources.extend(as_list(statement["Resource"]))
    return resources


def test_submit_writes_only_request_manifests(cfn_template: dict[str, Any]) -> None:
    assert _writes(cfn_template, "SubmitFunctionRole") == [
        {"Fn::Sub": "${UploadsBucket.Arn}/requests/*"}
    ]


def test_complete_writes_nothing_to_the_bucket(cfn_template: dict[str, Any]) -> None:
    assert _writes(cfn_template, "CompleteFunctionRole") == []


def test_api_presigns_uploads_only_under_uploads(cfn_template: dict[str, Any]) -> None:
    assert _writes(cfn_template, "ApiFunctionRole") == [
        {"Fn::Sub": "${UploadsBucket.Arn}/uploads/*"}
    ]


def test_api_can_delete_every_version_of_a_jobs_objects(cfn_template: dict[str, Any]) -> None:
    granted = {
        action
        for where, statement in _allow_statements(cfn_template)
        if where.startswith("ApiFunctionRole/")
        for action in actions(statement)
    }
    assert {"s3:ListBucketVersions", "s3:DeleteObject", "s3:DeleteObjectVersion"} <= granted


def test_no_function_may_change_bucket_configuration(cfn_template: dict[str, Any]) -> None:
    granted = {
        action
        for _, statement in _allow_statements(cfn_template)
        for action in actions(statement)
        if action.startswith("s3:")
    }
    assert not {
        a for a in granted if a.startswith(("s3:PutBucket", "s3:PutLifecycle", "s3:Delete"))
    } - {
        "s3:DeleteObject",
        "s3:DeleteObjectVersion",
    }
