"""Security properties of the template (issue 16): traces, logs, limits, topic policy, checkov."""

from __future__ import annotations

import json
import re
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

from cfntools import actions, as_list, policy_documents, resources_of_type, statements

ROOT = Path(__file__).resolve().parents[2]
Tool = Callable[..., subprocess.CompletedProcess[str]]


def test_traces_never_record_handler_return_values(sam_template: dict[str, Any]) -> None:
    env = sam_template["Globals"]["Function"]["Environment"]["Variables"]
    assert env["POWERTOOLS_TRACER_CAPTURE_RESPONSE"] == "false"
    for name, resource in sam_template["Resources"].items():
        if resource["Type"] == "AWS::Serverless::Function":
            own = resource["Properties"].get("Environment", {}).get("Variables", {})
            assert own.get("POWERTOOLS_TRACER_CAPTURE_RESPONSE", "false") == "false", name


def test_no_handler_turns_response_capture_back_on() -> None:
    sources = [*ROOT.glob("functions/*/*.py"), *ROOT.glob("layers/common/vs_common/*.py")]
    assert sources
    for source in sources:
        text = source.read_text(encoding="utf-8")
        assert not re.search(r"capture_response\s*=\s*True", text), source


CHECKOV = ROOT / ".venv-checkov" / "bin" / "checkov"
# SAM does not carry an Api's Metadata to the Stage it generates: the same finding, suppressed
# with its reason on the Api in template.yaml, shows up once more on the stage.
CARRIED_TO_THE_STAGE = {("CKV_AWS_120", "AWS::ApiGateway::Stage.ApiStage")}


def _checkov(tool: Tool, path: Path) -> dict[str, Any]:
    """checkov's JSON report of one CloudFormation file (offline: no Prisma Cloud download)."""
    result = tool(
        [str(CHECKOV), "-f", str(path), "--framework", "cloudformation", "--skip-download",
         "-o", "json"],
        timeout=300,
    )  # fmt: skip
    assert result.returncode in (0, 1), f"exit {result.returncode}\n{result.stderr}"
    report = json.loads(result.stdout)
    assert report["summary"]["parsing_errors"] == 0
    assert report["summary"]["passed"] > 0
    return report


def _failed(report: dict[str, Any]) -> set[tuple[str, str]]:
    return {(c["check_id"], c["resource"]) for c in report["results"]["failed_checks"]}


def test_checkov_finds_nothing_that_is_not_suppressed_with_a_reason(
    tool: Tool, template_path: Path
) -> None:
    report = _checkov(tool, template_path)

    assert _failed(report) == set()
    skipped = report["results"]["skipped_checks"]
    assert skipped
    for check in skipped:
        reason = check["check_result"].get("suppress_comment", "")
        assert len(reason.split()) >= 5, (check["check_id"], check["resource"])


def test_checkov_on_the_transformed_template_finds_only_what_sam_drops_the_reason_of(
    tool: Tool, cfn_files: dict[str, Path]
) -> None:
    for path in cfn_files.values():
        assert _failed(_checkov(tool, path)) <= CARRIED_TO_THE_STAGE, path.name


FUNCTIONS = ("SubmitFunction", "CompleteFunction", "ApiFunction")
# What each function's role may do to the jobs table: nothing more than its code calls.
TABLE_ACTIONS = {
    "SubmitFunctionRole": {"dynamodb:GetItem", "dynamodb:UpdateItem"},
    "CompleteFunctionRole": {"dynamodb:GetItem", "dynamodb:UpdateItem"},
    "ApiFunctionRole": {
        "dynamodb:GetItem",
        "dynamodb:PutItem",
        "dynamodb:DeleteItem",
        "dynamodb:Query",
    },
}
BROAD_POLICY_TEMPLATES = {
    "DynamoDBCrudPolicy",
    "S3ReadPolicy",
    "S3CrudPolicy",
    "S3FullAccessPolicy",
}


def _role_statements(template: dict[str, Any], role: str) -> list[dict[str, Any]]:
    return [
        statement
        for where, document in policy_documents(template)
        if where.startswith(f"{role}/")
        for statement in statements(document)
        if statement["Effect"] == "Allow"
    ]


def test_functions_use_no_broad_policy_templates(sam_template: dict[str, Any]) -> None:
    for name in FUNCTIONS:
        policies = sam_template["Resources"][name]["Properties"]["Policies"]
        used = {key for entry in policies if isinstance(entry, dict) for key in entry}
        assert not used & BROAD_POLICY_TEMPLATES, name


def test_each_role_gets_only_the_table_actions_its_code_uses(cfn_template: dict[str, Any]) -> None:
    for role, expected in TABLE_ACTIONS.items():
        granted = {
            action
            for statement in _role_statements(cfn_template, role)
            for action in actions(statement)
            if action.startswith("dynamodb:") and "JobsTable" in json.dumps(statement["Resource"])
        }
        assert granted == expected, role


def test_listing_the_data_bucket_is_limited_to_prefixes(cfn_template: dict[str, Any]) -> None:
    listing = [
        (where, statement)
        for where, document in policy_documents(cfn_template)
        for statement in statements(document)
        if statement["Effect"] == "Allow"
        and {"s3:ListBucket", "s3:ListBucketVersions"} & set(actions(statement))
        and "UploadsBucket" in json.dumps(statement["Resource"])
    ]
    assert listing
    for where, statement in listing:
        prefixes = as_list(statement["Condition"]["StringLike"]["s3:prefix"])
        assert prefixes and all(p.endswith("/*") and len(p) > 2 for p in prefixes), where


def test_functions_read_only_their_own_prefixes(cfn_template: dict[str, Any]) -> None:
    def reads(role: str) -> list[Any]:
        return [
            resource
            for statement in _role_statements(cfn_template, role)
            if {"s3:GetObject", "s3:GetObjectVersion"} & set(actions(statement))
            for resource in as_list(statement["Resource"])
        ]

    assert reads("SubmitFunctionRole") == [{"Fn::Sub": "${UploadsBucket.Arn}/uploads/*"}]
    assert reads("CompleteFunctionRole") == [{"Fn::Sub": "${UploadsBucket.Arn}/results/*"}]
    # Presigned links to a job's result and, for the web page's player, to its video.
    assert reads("ApiFunctionRole") == [
        {"Fn::Sub": "${UploadsBucket.Arn}/results/*"},
        {"Fn::Sub": "${UploadsBucket.Arn}/uploads/*"},
    ]


def test_sagemaker_pulls_from_one_repository_only(cfn_template: dict[str, Any]) -> None:
    ecr = [
        statement
        for statement in _role_statements(cfn_template, "SageMakerExecutionRole")
        if "ecr:BatchGetImage" in actions(statement)
    ]
    assert len(ecr) == 1
    text = json.dumps(ecr[0]["Resource"])
    assert "repository/*" not in text
    assert "repository/${Repository}" in text


def test_only_the_endpoint_role_may_publish_notifications(sam_template: dict[str, Any]) -> None:
    policies = resources_of_type(sam_template, "AWS::SNS::TopicPolicy")
    [policy] = [p["Properties"] for p in policies.values()]
    assert policy["Topics"] == [{"Ref": "SuccessTopic"}, {"Ref": "ErrorTopic"}]
    [deny] = [
        s for s in statements(policy["PolicyDocument"]) if s["Sid"] == "OnlyTheEndpointPublishes"
    ]
    assert (deny["Effect"], deny["Principal"], deny["Action"]) == ("Deny", "*", "sns:Publish")
    condition, publisher, nobody = deny["Condition"]["ArnNotEquals"]["aws:PrincipalArn"]["Fn::If"]
    assert condition == "HasModel"
    assert publisher == {"Fn::GetAtt": ["SageMakerExecutionRole", "Arn"]}
    assert "no-publisher" in nobody["Fn::Sub"]


def test_api_access_logs_name_the_key_and_the_principal(sam_template: dict[str, Any]) -> None:
    api = sam_template["Resources"]["Api"]["Properties"]
    setting = api["AccessLogSetting"]
    assert setting["DestinationArn"] == {"Fn::GetAtt": ["ApiAccessLogGroup", "Arn"]}
    fields = json.loads(setting["Format"])
    assert fields["apiKeyId"] == "$context.identity.apiKeyId"
    assert fields["principal"].startswith("$context.authorizer.")
    assert {"requestId", "status", "resource", "method", "sourceIp"} <= set(fields)
    group = sam_template["Resources"]["ApiAccessLogGroup"]
    assert group["DependsOn"] == "ApiGatewayAccount"
    assert group["Properties"]["RetentionInDays"] == {"Ref": "AccessLogRetentionDays"}


def test_uploads_bucket_access_is_logged_to_a_private_bucket(sam_template: dict[str, Any]) -> None:
    resources = sam_template["Resources"]
    logging = resources["UploadsBucket"]["Properties"]["LoggingConfiguration"]
    assert logging["DestinationBucketName"] == {"Ref": "AccessLogsBucket"}
    assert resources["AccessLogsBucket"]["DeletionPolicy"] == "Retain"
    logs = resources["AccessLogsBucket"]["Properties"]
    assert all(logs["PublicAccessBlockConfiguration"].values())
    [rule] = logs["LifecycleConfiguration"]["Rules"]
    assert rule["ExpirationInDays"] == {"Ref": "AccessLogRetentionDays"}
    policy = resources["AccessLogsBucketPolicy"]["Properties"]["PolicyDocument"]
    [allow] = [s for s in statements(policy) if s["Effect"] == "Allow"]
    assert allow["Principal"] == {"Service": "logging.s3.amazonaws.com"}
    assert actions(allow) == ["s3:PutObject"]
    assert set(allow["Condition"]) == {"ArnLike", "StringEquals"}


def test_concurrency_limits_are_parameters(sam_template: dict[str, Any]) -> None:
    resources = sam_template["Resources"]
    expected = {
        "ApiFunction": ("ReservesApiConcurrency", "ApiReservedConcurrency"),
        "SubmitFunction": ("ReservesWorkerConcurrency", "WorkerReservedConcurrency"),
        "CompleteFunction": ("ReservesWorkerConcurrency", "WorkerReservedConcurrency"),
    }
    for name, (condition, parameter) in expected.items():
        reserved = resources[name]["Properties"]["ReservedConcurrentExecutions"]["Fn::If"]
        assert reserved == [condition, {"Ref": parameter}, {"Ref": "AWS::NoValue"}], name
    for name in ("SubmitFunction", "CompleteFunction"):
        for event in resources[name]["Properties"]["Events"].values():
            scaling = event["Properties"]["ScalingConfig"]
            assert scaling == {"MaximumConcurrency": {"Ref": "QueueMaximumConcurrency"}}, name
    assert sam_template["Parameters"]["QueueMaximumConcurrency"]["MinValue"] == 2
