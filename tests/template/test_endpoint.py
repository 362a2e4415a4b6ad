"""The SageMaker side: optional until a model exists, replaceable, scaling 0..N on the backlog."""

from __future__ import annotations

from typing import Any

import pytest
from cfntools import actions, resources_of_type, statements, unguarded_references

ENDPOINT_RESOURCES = {
    "SageMakerExecutionRole",
    "SentimentModel",
    "SentimentEndpointConfig",
    "Endpoint",
    "EndpointScalableTarget",
    "BacklogTargetTrackingPolicy",
    "ScaleOutFromZeroPolicy",
    "BacklogWithoutCapacityAlarm",
    "EndpointInvocationErrorsAlarm",
    "EndpointAsyncFailuresAlarm",
}
TORCHSERVE_DEFAULT_BODY_BYTES = 6_553_500


@pytest.fixture(scope="module")
def resources(sam_template: dict[str, Any]) -> dict[str, Any]:
    return sam_template["Resources"]


def test_the_stack_deploys_without_a_model_by_default(sam_template: dict[str, Any]) -> None:
    assert sam_template["Parameters"]["ModelDataUrl"]["Default"] == ""
    assert sam_template["Conditions"]["HasModel"] == {
        "Fn::Not": [{"Fn::Equals": [{"Ref": "ModelDataUrl"}, ""]}]
    }
    conditional = {
        name for name, r in sam_template["Resources"].items() if r.get("Condition") == "HasModel"
    }
    assert conditional == ENDPOINT_RESOURCES


@pytest.mark.parametrize("variant", ["sam_template", "cfn_template"])
def test_unconditional_resources_reach_the_endpoint_only_through_if_has_model(
    variant: str, request: pytest.FixtureRequest
) -> None:
    template = request.getfixturevalue(variant)
    conditional = {
        name for name, r in template["Resources"].items() if r.get("Condition") == "HasModel"
    }
    sections = {
        f"Resources/{name}": resource
        for name, resource in template["Resources"].items()
        if name not in conditional
    }
    sections |= {f"Outputs/{name}": output for name, output in template["Outputs"].items()}
    sections["Globals"] = template.get("Globals", {})
    leaks = {
        where: sorted(set(unguarded_references(body, conditional, "HasModel")))
        for where, body in sections.items()
    }
    assert {where: refs for where, refs in leaks.items() if refs} == {}


def test_sagemaker_resources_have_no_fixed_names(resources: dict[str, Any]) -> None:
    # Model and EndpointConfig are replaced on every change; a fixed name would make that fail.
    assert not {"ModelName", "Name"} & set(resources["SentimentModel"]["Properties"])
    assert "EndpointConfigName" not in resources["SentimentEndpointConfig"]["Properties"]
    assert "EndpointName" not in resources["Endpoint"]["Properties"]


def test_model_container_finds_the_inference_code(resources: dict[str, Any]) -> None:
    container = resources["SentimentModel"]["Properties"]["PrimaryContainer"]
    assert container["ModelDataUrl"] == {"Ref": "ModelDataUrl"}
    environment = container["Environment"]
    assert environment["SAGEMAKER_PROGRAM"] == "inference.py"
    assert environment["SAGEMAKER_SUBMIT_DIRECTORY"] == "/opt/ml/model/code"
    assert environment["SAGEMAKER_REGION"] == {"Ref": "AWS::Region"}
    assert environment["MAX_VIDEO_SECONDS"] == {"Ref": "MaxVideoSeconds"}
    assert environment["TS_DEFAULT_RESPONSE_TIMEOUT"] == {"Ref": "InvocationTimeoutSeconds"}
    for limit in ("TS_MAX_REQUEST_SIZE", "TS_MAX_RESPONSE_SIZE"):
        assert int(environment[limit]) > TORCHSERVE_DEFAULT_BODY_BYTES


def test_default_image_is_the_regional_pytorch_inference_gpu_image(
    sam_template: dict[str, Any], resources: dict[str, Any]
) -> None:
    parameters = sam_template["Parameters"]
    assert parameters["InferenceImageUri"]["Default"] == ""
    assert "-gpu-" in parameters["InferenceImageTag"]["Default"]
    assert parameters["InstanceType"]["Default"] == "ml.g4dn.xlarge"
    condition, default_image, custom_image = resources["SentimentModel"]["Properties"][
        "PrimaryContainer"
    ]["Image"]["Fn::If"]
    assert condition == "UseDefaultImage"
    assert custom_image == {"Ref": "InferenceImageUri"}
    text, variables = default_image["Fn::Sub"]
    assert text == (
        "${Account}.dkr.ecr.${AWS::Region}.${AWS::URLSuffix}/pytorch-inference:${InferenceImageTag}"
    )
    assert variables["Account"]["Fn::FindInMap"][:2] == [
        "DeepLearningContainerAccounts",
        {"Ref": "AWS::Region"},
    ]
    accounts = sam_template["Mappings"]["DeepLearningContainerAccounts"]
    assert accounts["us-east-1"]["Account"] == "763104351884"
    assert all(len(entry["Account"]) == 12 for entry in accounts.values())


def test_endpoint_config_is_asynchronous_and_notifies_both_topics(
    resources: dict[str, Any],
) -> None:
    config = resources["SentimentEndpointConfig"]["Properties"]
    [variant] = config["ProductionVariants"]
    assert variant["ModelName"] == {"Fn::GetAtt": ["SentimentModel", "ModelName"]}
    assert variant["InstanceType"] == {"Ref": "InstanceType"}
    async_config = config["AsyncInferenceConfig"]
    assert async_config["ClientConfig"]["MaxConcurrentInvocationsPerInstance"] == {
        "Ref": "MaxConcurrentInvocationsPerInstance"
    }
    assert async_config["OutputConfig"]["NotificationConfig"] == {
        "SuccessTopic": {"Ref": "SuccessTopic"},
        "ErrorTopic": {"Ref": "ErrorTopic"},
    }
    assert resources["Endpoint"]["Properties"]["EndpointConfigName"] == {
        "Fn::GetAtt": ["SentimentEndpointConfig", "EndpointConfigName"]
    }


def test_endpoint_scales_between_zero_and_the_maximum(resources: dict[str, Any]) -> None:
    target = resources["EndpointScalableTarget"]["Properties"]
    assert target["MinCapacity"] == 0
    assert target["MaxCapacity"] == {"Ref": "MaxInstances"}
    assert target["ServiceNamespace"] == "sagemaker"
    assert target["ScalableDimension"] == "sagemaker:variant:DesiredInstanceCount"
    assert target["ResourceId"] == {
        "Fn::Sub": "endpoint/${Endpoint.EndpointName}/variant/AllTraffic"
    }


def test_target_tracking_follows_the_backlog_per_instance(resources: dict[str, Any]) -> None:
    policies = resources_of_type(
        {"Resources": resources}, "AWS::ApplicationAutoScaling::ScalingPolicy"
    )
    tracking = [
        p["Properties"]
        for p in policies.values()
        if p["Properties"]["PolicyType"] == "TargetTrackingScaling"
    ]
    [policy] = tracking
    assert policy["ScalingTargetId"] == {"Ref": "EndpointScalableTarget"}
    metric = policy["TargetTrackingScalingPolicyConfiguration"]["CustomizedMetricSpecification"]
    assert metric["Namespace"] == "AWS/SageMaker"
    assert metric["MetricName"] == "ApproximateBacklogSizePerInstance"
    assert metric["Dimensions"] == [
        {"Name": "EndpointName", "Value": {"Fn::GetAtt": ["Endpoint", "EndpointName"]}}
    ]


def test_an_alarm_on_backlog_without_capacity_wakes_the_endpoint_from_zero(
    resources: dict[str, Any],
) -> None:
    policies = resources_of_type(
        {"Resources": resources}, "AWS::ApplicationAutoScaling::ScalingPolicy"
    )
    stepping = {
        name: p["Properties"]
        for name, p in policies.items()
        if p["Properties"]["PolicyType"] == "StepScaling"
    }
    [(step_name, step)] = stepping.items()
    assert step["ScalingTargetId"] == {"Ref": "EndpointScalableTarget"}
    configuration = step["StepScalingPolicyConfiguration"]
    assert configuration["AdjustmentType"] == "ChangeInCapacity"
    assert all(adj["ScalingAdjustment"] >= 1 for adj in configuration["StepAdjustments"])
    alarms = [
        a["Properties"]
        for a in resources_of_type({"Resources": resources}, "AWS::CloudWatch::Alarm").values()
        if a["Properties"]["MetricName"] == "HasBacklogWithoutCapacity"
    ]
    [alarm] = alarms
    assert alarm["Namespace"] == "AWS/SageMaker"
    assert alarm["Dimensions"] == [
        {"Name": "EndpointName", "Value": {"Fn::GetAtt": ["Endpoint", "EndpointName"]}}
    ]
    assert alarm["AlarmActions"] == [{"Ref": step_name}]
    assert alarm["ComparisonOperator"] == "GreaterThanOrEqualToThreshold"
    assert alarm["Threshold"] == 1


def test_execution_role_reads_inputs_and_writes_only_results_and_failures(
    resources: dict[str, Any],
) -> None:
    role = resources["SageMakerExecutionRole"]["Properties"]
    [trust] = statements(role["AssumeRolePolicyDocument"])
    assert trust["Principal"] == {"Service": "sagemaker.amazonaws.com"}
    grants: dict[str, list[Any]] = {}
    for policy in role["Policies"]:
        for statement in statements(policy["PolicyDocument"]):
            for action in actions(statement):
                grants.setdefault(action, []).append(statement["Resource"])
    assert {"Fn::Sub": "${UploadsBucket.Arn}/uploads/*"} in grants["s3:GetObject"][1]
    writes = grants["s3:PutObject"]
    assert writes == [
        [
            {"Fn::Sub": "${UploadsBucket.Arn}/results/*"},
            {"Fn::Sub": "${UploadsBucket.Arn}/failures/*"},
        ]
    ]
    artifact = grants["s3:GetObject"][0]["Fn::Sub"]
    assert artifact[1]["Path"] == {
        "Fn::Select": [1, {"Fn::Split": ["s3://", {"Ref": "ModelDataUrl"}]}]
    }
    assert grants["sns:Publish"] == [[{"Ref": "SuccessTopic"}, {"Ref": "ErrorTopic"}]]
    assert {"ecr:BatchGetImage", "logs:PutLogEvents", "cloudwatch:PutMetricData"} <= set(grants)
