"""Functions, layer, API, alarms and outputs agree with the contract of issue 3."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

import pytest
from cfntools import resources_of_type

FUNCTIONS = {
    "SubmitFunction": "functions/submit/",
    "CompleteFunction": "functions/complete/",
    "ApiFunction": "functions/api/",
    "AuthorizerFunction": "functions/authorizer/",
    # The custom resource that publishes the web page (issue 13).
    "SitePublisherFunction": "functions/site/",
}
CONTRACT_ENVIRONMENT: dict[str, Any] = {
    "JOBS_TABLE": {"Ref": "JobsTable"},
    "IDEMPOTENCY_TABLE": {"Ref": "IdempotencyTable"},
    "BUCKET": {"Ref": "UploadsBucket"},
    "ENDPOINT_NAME": {"Fn::If": ["HasModel", {"Fn::GetAtt": ["Endpoint", "EndpointName"]}, ""]},
    "UPLOAD_PREFIX": "uploads/",
    "REQUESTS_PREFIX": "requests/",
    "RESULTS_PREFIX": "results/",
    "FAILURES_PREFIX": "failures/",
    "MAX_VIDEO_BYTES": {"Ref": "MaxVideoBytes"},
    "MAX_VIDEO_SECONDS": {"Ref": "MaxVideoSeconds"},
    "RETENTION_DAYS": {"Ref": "RetentionDays"},
    "POWERTOOLS_SERVICE_NAME": "video-sentiment",
    "POWERTOOLS_METRICS_NAMESPACE": "VideoSentiment",
    "LOG_LEVEL": {"Ref": "LogLevel"},
}
# Present with a positive integer value, the number itself being a tuning choice.
NUMERIC_ENVIRONMENT = ("UPLOAD_URL_EXPIRES_S", "RESULT_INLINE_MAX_BYTES")
USER_ROUTES = {
    "/uploads": {"post"},
    "/jobs": {"get"},
    "/jobs/{job_id}": {"get", "delete"},
    "/keys": {"get", "post"},
    "/keys/{key_id}": {"delete"},
    "/usage": {"get"},
}
OPERATOR_ROUTES = {"/operator/jobs": {"get"}, "/operator/jobs/{job_id}": {"get"}}


@pytest.fixture(scope="module")
def lambdas(cfn_template: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return resources_of_type(cfn_template, "AWS::Lambda::Function")


def test_the_three_functions_of_the_contract(sam_template: dict[str, Any]) -> None:
    functions = resources_of_type(sam_template, "AWS::Serverless::Function")
    assert {name: f["Properties"]["CodeUri"] for name, f in functions.items()} == FUNCTIONS
    assert sam_template["Globals"]["Function"]["Handler"] == "app.lambda_handler"
    assert sam_template["Globals"]["Function"]["Layers"] == [{"Ref": "CommonLayer"}]


def test_every_function_runs_python_311_on_x86_with_tracing(
    sam_template: dict[str, Any], lambdas: dict[str, dict[str, Any]]
) -> None:
    assert sam_template["Globals"]["Function"]["Runtime"] == "python3.11"
    for name, function in resources_of_type(sam_template, "AWS::Serverless::Function").items():
        assert function["Properties"].get("Runtime", "python3.11") == "python3.11", name
    assert set(lambdas) == set(FUNCTIONS)
    for name, function in lambdas.items():
        properties = function["Properties"]
        assert properties["Runtime"] == "python3.11", name
        assert properties["Architectures"] == ["x86_64"], name
        assert properties["Handler"] == "app.lambda_handler", name
        assert properties["TracingConfig"] == {"Mode": "Active"}, name


def test_common_layer_is_built_for_python_311(
    sam_template: dict[str, Any], cfn_template: dict[str, Any]
) -> None:
    layer = sam_template["Resources"]["CommonLayer"]
    assert layer["Properties"]["ContentUri"] == "layers/common/"
    assert layer["Properties"]["CompatibleRuntimes"] == ["python3.11"]
    assert layer["Metadata"]["BuildMethod"] == "python3.11"
    [version_id] = resources_of_type(cfn_template, "AWS::Lambda::LayerVersion")
    for function in resources_of_type(cfn_template, "AWS::Lambda::Function").values():
        assert function["Properties"]["Layers"] == [{"Ref": version_id}]


def test_every_function_logs_into_a_group_with_retention(
    cfn_template: dict[str, Any], lambdas: dict[str, dict[str, Any]]
) -> None:
    for name, function in lambdas.items():
        group_id = function["Properties"]["LoggingConfig"]["LogGroup"]["Ref"]
        group = cfn_template["Resources"][group_id]
        assert group["Type"] == "AWS::Logs::LogGroup", name
        assert group["Properties"]["RetentionInDays"] > 0, name


def test_every_function_gets_the_contract_environment(lambdas: dict[str, dict[str, Any]]) -> None:
    for name, function in lambdas.items():
        variables = function["Properties"]["Environment"]["Variables"]
        assert {k: variables.get(k) for k in CONTRACT_ENVIRONMENT} == CONTRACT_ENVIRONMENT, name
        for key in NUMERIC_ENVIRONMENT:
            assert int(variables[key]) > 0, (name, key)


def test_queues_feed_their_functions_with_partial_batch_failures(
    cfn_template: dict[str, Any],
) -> None:
    mappings = resources_of_type(cfn_template, "AWS::Lambda::EventSourceMapping")
    feeds = {
        m["Properties"]["FunctionName"]["Ref"]: m["Properties"]["EventSourceArn"]["Fn::GetAtt"][0]
        for m in mappings.values()
    }
    assert feeds == {"SubmitFunction": "UploadsQueue", "CompleteFunction": "NotificationsQueue"}
    for mapping in mappings.values():
        assert mapping["Properties"]["FunctionResponseTypes"] == ["ReportBatchItemFailures"]


def test_user_routes_go_through_the_authorizer_and_are_metered_operator_routes_need_sigv4(
    sam_template: dict[str, Any], cfn_template: dict[str, Any]
) -> None:
    api = sam_template["Resources"]["Api"]["Properties"]
    assert api["Auth"]["ApiKeyRequired"] is True
    assert api["ApiKeySourceType"] == "AUTHORIZER"
    assert api["Auth"]["DefaultAuthorizer"] == "UserOrKey"
    authorizer = api["Auth"]["Authorizers"]["UserOrKey"]
    assert authorizer["FunctionArn"] == {"Fn::GetAtt": ["AuthorizerFunction", "Arn"]}
    assert authorizer["FunctionPayloadType"] == "REQUEST"
    body = cfn_template["Resources"]["Api"]["Properties"]["Body"]
    routes = {
        path: {method: operation for method, operation in methods.items() if method != "options"}
        for path, methods in body["paths"].items()
    }
    paths = {path: set(methods) for path, methods in routes.items()}
    assert paths == {**USER_ROUTES, **OPERATOR_ROUTES}
    assert body["securityDefinitions"]["UserOrKey"]["x-amazon-apigateway-authtype"] == "custom"
    assert body["securityDefinitions"]["AWS_IAM"]["x-amazon-apigateway-authtype"] == "awsSigv4"
    for path, methods in body["paths"].items():
        # The web page's CORS preflight: answered by API Gateway itself, before any key check.
        preflight = methods["options"]
        assert preflight["x-amazon-apigateway-integration"]["type"] == "mock", path
        assert not preflight.get("security"), path
    for path, methods in routes.items():
        for method, operation in methods.items():
            expected = (
                [{"AWS_IAM": []}]
                if path in OPERATOR_ROUTES
                else [{"UserOrKey": []}, {"api_key": []}]
            )
            assert operation["security"] == expected, (path, method)
            integration = operation["x-amazon-apigateway-integration"]
            assert integration["type"] == "aws_proxy"
            assert "${ApiFunction.Arn}" in integration["uri"]["Fn::Sub"]
            # The caller's own credentials never invoke the function.
            assert "credentials" not in integration, (path, method)


def test_usage_plan_throttles_and_sets_a_monthly_quota_per_key(
    sam_template: dict[str, Any],
) -> None:
    resources = sam_template["Resources"]
    plan = resources["ApiUsagePlan"]["Properties"]
    assert plan["ApiStages"] == [{"ApiId": {"Ref": "Api"}, "Stage": {"Ref": "Api.Stage"}}]
    assert plan["Quota"] == {"Limit": {"Ref": "ApiMonthlyQuota"}, "Period": "MONTH"}
    assert plan["Throttle"] == {
        "RateLimit": {"Ref": "ApiRateLimit"},
        "BurstLimit": {"Ref": "ApiBurstLimit"},
    }
    # Users' keys join the plan at run time; the functions find it by this name.
    assert plan["UsagePlanName"] == {"Fn::Sub": "${AWS::StackName}-api"}
    environment = sam_template["Globals"]["Function"]["Environment"]["Variables"]
    assert environment["USAGE_PLAN_NAME"] == plan["UsagePlanName"]
    assert not resources_of_type(sam_template, "AWS::ApiGateway::ApiKey")


def test_gateway_refusals_use_the_api_error_shape(sam_template: dict[str, Any]) -> None:
    responses = sam_template["Resources"]["Api"]["Properties"]["GatewayResponses"]
    assert {
        "UNAUTHORIZED",
        "ACCESS_DENIED",
        "INVALID_API_KEY",
        "THROTTLED",
        "QUOTA_EXCEEDED",
        "DEFAULT_4XX",
        "DEFAULT_5XX",
    } <= set(responses)
    for response in responses.values():
        template = response["ResponseTemplates"]["application/json"]
        assert template.startswith('{"error": {"code": "')
        assert '"message": ' in template


def test_dead_letter_queues_and_endpoint_errors_raise_alarms(sam_template: dict[str, Any]) -> None:
    alarms = resources_of_type(sam_template, "AWS::CloudWatch::Alarm")
    watched_queues = {
        a["Properties"]["Dimensions"][0]["Value"]["Fn::GetAtt"][0]
        for a in alarms.values()
        if a["Properties"]["MetricName"] == "ApproximateNumberOfMessagesVisible"
    }
    assert watched_queues == {"UploadsDeadLetterQueue", "NotificationsDeadLetterQueue"}
    endpoint_alarms = {
        a["Properties"]["MetricName"]: a
        for a in alarms.values()
        if a.get("Condition") == "HasModel"
    }
    assert {"Invocation5XXErrors", "NumberOfMessagesPublished"} <= set(endpoint_alarms)
    failures = endpoint_alarms["NumberOfMessagesPublished"]["Properties"]
    assert failures["Dimensions"][0]["Value"] == {"Fn::GetAtt": ["ErrorTopic", "TopicName"]}
    for name, alarm in alarms.items():
        if alarm["Properties"]["MetricName"] != "HasBacklogWithoutCapacity":
            assert alarm["Properties"]["AlarmActions"] == [{"Ref": "AlarmTopic"}], name


def test_outputs_name_what_operators_and_clients_need(sam_template: dict[str, Any]) -> None:
    outputs = sam_template["Outputs"]
    assert outputs["UploadsBucketName"]["Value"] == {"Ref": "UploadsBucket"}
    assert outputs["UserPoolId"]["Value"] == {"Ref": "UserPool"}
    assert outputs["UserPoolClientId"]["Value"] == {"Ref": "UserPoolClient"}
    assert outputs["JobsTableName"]["Value"] == {"Ref": "JobsTable"}
    assert "${Api}.execute-api" in outputs["ApiUrl"]["Value"]["Fn::Sub"]
    condition, endpoint, note = outputs["EndpointName"]["Value"]["Fn::If"]
    assert (condition, endpoint) == ("HasModel", {"Fn::GetAtt": ["Endpoint", "EndpointName"]})
    assert "ModelDataUrl=" in note


def test_samconfig_deploys_the_video_sentiment_stack(repo_root: Path) -> None:
    config = tomllib.loads((repo_root / "samconfig.toml").read_text(encoding="utf-8"))
    default = config["default"]
    assert default["global"]["parameters"]["stack_name"] == "video-sentiment"
    deploy = default["deploy"]["parameters"]
    assert deploy["capabilities"] == "CAPABILITY_IAM"
    assert deploy["resolve_s3"] is True
    assert deploy["confirm_changeset"] is True
    build = default["build"]["parameters"]
    assert build["cached"] is True
    assert build["parallel"] is True
