"""`vsent model deploy`, `vsent stack stop-endpoint`, `vsent stack costs` and endpoint watching."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import boto3
import pytest
import typer
from botocore.stub import Stubber
from ops_stubs import describe_training_job
from typer.testing import CliRunner

from vsent.cli import app as vsent_app
from vsent.ops import aws, costs, deploy

MODEL = "s3://ops-bucket/models/vsent-train-20240601-120000/model.tar.gz"
SAM_PYTHON = deploy.REPO_ROOT / ".venv-sam" / "bin" / "python"


@pytest.fixture
def cli() -> typer.Typer:
    return vsent_app


def _commands(cli: typer.Typer, args: list[str]) -> list[list[str]]:
    result = CliRunner().invoke(cli, [*args, "--dry-run", "--stack-name", "vs", "--no-build"])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)["commands"]


def test_deploy_sets_only_the_model_parameter(cli: typer.Typer) -> None:
    (command,) = _commands(cli, ["model", "deploy", MODEL, "--region", "eu-west-1"])
    assert Path(command[0]).name == "sam"
    assert command[1:] == [
        "deploy",
        "--stack-name",
        "vs",
        "--region",
        "eu-west-1",
        "--parameter-overrides",
        f'ModelDataUrl="{MODEL}"',
        "--no-confirm-changeset",
        "--no-fail-on-empty-changeset",
    ]


def test_stop_endpoint_empties_the_model_url(cli: typer.Typer) -> None:
    (command,) = _commands(cli, ["stack", "stop-endpoint"])
    assert command[command.index("--parameter-overrides") + 1] == 'ModelDataUrl=""'


def test_deploy_builds_first_when_asked() -> None:
    first, second = deploy.sam_commands("sam", "vs", "us-east-1", MODEL, build=True)
    assert first == ["sam", "build"] and second[1] == "deploy"


def test_deploy_refuses_a_url_that_is_not_s3(cli: typer.Typer) -> None:
    result = CliRunner().invoke(cli, ["model", "deploy", "https://x/model.tar.gz", "--dry-run"])
    assert result.exit_code == 1 and "not an S3 URI" in result.output


@pytest.mark.skipif(not SAM_PYTHON.is_file(), reason="needs .venv-sam (make setup)")
@pytest.mark.parametrize(("url", "expected"), [(MODEL, MODEL), ("", "")])
def test_sam_reads_the_override_as_meant(url: str, expected: str) -> None:
    (command,) = deploy.sam_commands("sam", "vs", "us-east-1", url, build=False)
    override = command[command.index("--parameter-overrides") + 1]
    code = (
        "import json, sys; from samcli.cli.types import CfnParameterOverridesType as T; "
        "print(json.dumps(T().convert((sys.argv[1],), None, None)))"
    )
    parsed = subprocess.run(
        [str(SAM_PYTHON), "-c", code, override], capture_output=True, text=True, check=True
    )
    assert json.loads(parsed.stdout) == {"ModelDataUrl": expected}


def _stubbed(service: str) -> tuple[object, Stubber]:
    client = boto3.Session(region_name="us-east-1").client(service)
    return client, Stubber(client)


def _endpoint(stub: Stubber, status: str, current: int) -> None:
    stub.add_response(
        "describe_endpoint",
        {
            "EndpointName": "ep",
            "EndpointArn": "arn:aws:sagemaker:us-east-1:1:endpoint/ep",
            "EndpointConfigName": "cfg",
            "EndpointStatus": status,
            "CreationTime": "2024-06-01T00:00:00Z",
            "LastModifiedTime": "2024-06-01T00:00:00Z",
            "ProductionVariants": [
                {
                    "VariantName": "AllTraffic",
                    "CurrentInstanceCount": current,
                    "DesiredInstanceCount": current,
                }
            ],
        },
        {"EndpointName": "ep"},
    )
    stub.add_response(
        "describe_endpoint_config",
        {
            "EndpointConfigName": "cfg",
            "EndpointConfigArn": "arn:aws:sagemaker:us-east-1:1:endpoint-config/cfg",
            "CreationTime": "2024-06-01T00:00:00Z",
            "ProductionVariants": [{"VariantName": "AllTraffic", "InstanceType": "ml.g4dn.xlarge"}],
        },
        {"EndpointConfigName": "cfg"},
    )


def _target(stub: Stubber) -> None:
    stub.add_response(
        "describe_scalable_targets",
        {
            "ScalableTargets": [
                {
                    "ServiceNamespace": "sagemaker",
                    "ResourceId": "endpoint/ep/variant/AllTraffic",
                    "ScalableDimension": "sagemaker:variant:DesiredInstanceCount",
                    "MinCapacity": 0,
                    "MaxCapacity": 2,
                    "RoleARN": "arn:aws:iam::123456789012:role/autoscaling",
                    "CreationTime": "2024-06-01T00:00:00Z",
                }
            ]
        },
        {
            "ServiceNamespace": "sagemaker",
            "ResourceIds": ["endpoint/ep/variant/AllTraffic"],
            "ScalableDimension": "sagemaker:variant:DesiredInstanceCount",
        },
    )


def test_wait_prints_states_until_in_service_scaled_to_zero() -> None:
    sm, sm_stub = _stubbed("sagemaker")
    autoscaling, as_stub = _stubbed("application-autoscaling")
    _endpoint(sm_stub, "Creating", 0)
    _target(as_stub)
    _endpoint(sm_stub, "InService", 0)
    _target(as_stub)
    lines: list[str] = []
    with sm_stub, as_stub:
        state = deploy.wait_for_endpoint(sm, autoscaling, "ep", lines.append, sleep=lambda _: None)
    assert state.scaled_to_zero
    assert lines == [
        "endpoint ep: Creating; 0 × ml.g4dn.xlarge running; autoscaling 0..2",
        "endpoint ep: InService; 0 × ml.g4dn.xlarge running; autoscaling 0..2; "
        "scaled to zero: the first request wakes it",
    ]


def test_costs_of_a_running_endpoint_and_a_training_job(monkeypatch: pytest.MonkeyPatch) -> None:
    cfn, cfn_stub = _stubbed("cloudformation")
    sm, sm_stub = _stubbed("sagemaker")
    autoscaling, as_stub = _stubbed("application-autoscaling")
    cfn_stub.add_response(
        "list_stack_resources",
        {
            "StackResourceSummaries": [
                {
                    "LogicalResourceId": "Endpoint",
                    "PhysicalResourceId": "ep",
                    "ResourceType": "AWS::SageMaker::Endpoint",
                    "ResourceStatus": "CREATE_COMPLETE",
                    "LastUpdatedTimestamp": "2024-06-01T00:00:00Z",
                }
            ]
        },
        {"StackName": "vs"},
    )
    _endpoint(sm_stub, "InService", 2)
    _target(as_stub)
    sm_stub.add_response(
        "list_training_jobs",
        {
            "TrainingJobSummaries": [
                {
                    "TrainingJobName": "t1",
                    "TrainingJobArn": "arn:aws:sagemaker:us-east-1:1:training-job/t1",
                    "TrainingJobStatus": "InProgress",
                    "CreationTime": "2024-06-01T00:00:00Z",
                }
            ]
        },
        {"StatusEquals": "InProgress"},
    )
    describe_training_job(sm_stub, "t1", "InProgress", "Training")
    sm_stub.add_response(
        "list_processing_jobs", {"ProcessingJobSummaries": []}, {"StatusEquals": "InProgress"}
    )
    clients = {"cloudformation": cfn, "sagemaker": sm, "application-autoscaling": autoscaling}
    monkeypatch.setattr(aws, "client", lambda region, service: clients[service])
    app = vsent_app

    with cfn_stub, sm_stub, as_stub:
        result = CliRunner().invoke(app, ["stack", "costs", "--stack-name", "vs", "--json"])

    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    (endpoint,) = data["endpoints"]
    assert endpoint["current_instances"] == 2 and endpoint["max_capacity"] == 2
    assert endpoint["usd_per_hour_now"] == pytest.approx(2 * costs.HOURLY_USD["ml.g4dn.xlarge"])
    assert data["running_jobs"][0]["usd_per_hour"] == costs.HOURLY_USD["ml.g5.xlarge"]
    assert data["usd_per_hour_now"] == pytest.approx(2 * 0.7364 + 1.408)
    assert costs.PRICES_AS_OF in data["estimate"]


def test_costs_text_says_how_to_stop_paying() -> None:
    data = costs.report([], [], "vs")
    text = "\n".join([*costs.lines(data), *costs.stop_paying_advice("vs")])
    assert "no endpoint" in text
    assert "vsent stack stop-endpoint --stack-name vs" in text
    assert "ESTIMATE" in text


def test_package_defaults_to_the_shipped_text_model(cli: typer.Typer) -> None:
    result = CliRunner().invoke(cli, ["model", "package", "--bucket", "b", "--dry-run"])
    assert result.exit_code == 0, result.output
    request = json.loads(result.stdout)
    assert request["package"]["training_output"] == str(deploy.REPO_ROOT / "models" / "meld-text")
    assert request["PutObject"] == {"Bucket": "b", "Key": "models/meld-text/model.tar.gz"}
