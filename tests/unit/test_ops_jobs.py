"""`vsent train` and `vsent dataset cache`: exact SageMaker requests, dry runs, following."""

from __future__ import annotations

import io
import json
import tarfile
from pathlib import Path
from typing import Any

import boto3
import pytest
import typer
from botocore.stub import Stubber
from moto import mock_aws
from ops_stubs import describe_training_job
from typer.testing import CliRunner

from vs_model.metric_lines import METRIC_DEFINITIONS
from vsent.cli import app as vsent_app
from vsent.ops import aws, cache_entry, hyperparameters, images, job_watch
from vsent.ops.sourcedir import MODEL_DIR, build_sourcedir

ROLE = "arn:aws:iam::123456789012:role/vsent-sagemaker"
JOB = "vsent-train-20240601-120000"
CACHE_JOB = "vsent-cache-20240601-120000"


@pytest.fixture
def cli(monkeypatch: pytest.MonkeyPatch) -> typer.Typer:
    monkeypatch.setattr(images, "job_name", lambda kind: f"vsent-{kind}-20240601-120000")
    return vsent_app


def _dry_run(cli: typer.Typer, args: list[str]) -> dict[str, Any]:
    result = CliRunner().invoke(cli, [*args, "--dry-run"])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_training_request(cli: typer.Typer) -> None:
    out = _dry_run(
        cli,
        [
            "train",
            "--bucket",
            "ops-bucket",
            "--role",
            ROLE,
            "--epochs",
            "12",
            "--lr-text",
            "2e-5",
            "--freeze-text",
            "--amp",
            "bf16",
            "--tag",
            "owner=ops",
        ],
    )
    request = out["CreateTrainingJob"]

    assert out["uploads"] == {
        f"s3://ops-bucket/training/source/{JOB}/sourcedir.tar.gz": str(MODEL_DIR)
    }
    assert request["AlgorithmSpecification"] == {
        "TrainingImage": "763104351884.dkr.ecr.us-east-1.amazonaws.com/"
        "pytorch-training:2.6.0-gpu-py312",
        "TrainingInputMode": "File",
        "MetricDefinitions": METRIC_DEFINITIONS,
        "EnableSageMakerMetricsTimeSeries": True,
    }
    assert request["ResourceConfig"] == {
        "InstanceType": "ml.g5.xlarge",
        "InstanceCount": 1,
        "VolumeSizeInGB": 100,
    }
    assert request["EnableManagedSpotTraining"] is True
    assert request["StoppingCondition"] == {
        "MaxRuntimeInSeconds": 86400,
        "MaxWaitTimeInSeconds": 129600,
    }
    assert request["CheckpointConfig"] == {
        "S3Uri": f"s3://ops-bucket/training/checkpoints/{JOB}/",
        "LocalPath": "/opt/ml/checkpoints",
    }
    assert request["TensorBoardOutputConfig"] == {
        "S3OutputPath": f"s3://ops-bucket/training/tensorboard/{JOB}/",
        "LocalPath": "/opt/ml/output/tensorboard",
    }
    assert request["OutputDataConfig"] == {"S3OutputPath": "s3://ops-bucket/training/output/"}
    assert [
        (c["ChannelName"], c["DataSource"]["S3DataSource"]["S3Uri"])
        for c in request["InputDataConfig"]
    ] == [
        ("training", "s3://ops-bucket/datasets/meld-cache/train/"),
        ("validation", "s3://ops-bucket/datasets/meld-cache/dev/"),
        ("test", "s3://ops-bucket/datasets/meld-cache/test/"),
    ]
    # JSON-encoded like the SDK; one GPU, so no torchrun.
    assert request["HyperParameters"] == {
        "preset": '"paper"',
        "epochs": "12",
        "lr-text": "2e-05",
        "freeze-text": "true",
        "amp": '"bf16"',
        "sagemaker_program": '"train.py"',
        "sagemaker_submit_directory": f'"s3://ops-bucket/training/source/{JOB}/sourcedir.tar.gz"',
        "sagemaker_region": '"us-east-1"',
        "sagemaker_job_name": f'"{JOB}"',
        "sagemaker_container_log_level": "20",
    }
    assert {"Key": "project", "Value": "video-sentiment"} in request["Tags"]
    assert {"Key": "owner", "Value": "ops"} in request["Tags"]


def test_several_gpus_run_under_torchrun(cli: typer.Typer) -> None:
    request = _dry_run(
        cli,
        [
            "train",
            "--bucket",
            "ops-bucket",
            "--role",
            ROLE,
            "--instance-type",
            "ml.g5.12xlarge",
            "--instance-count",
            "2",
            "--no-spot",
        ],
    )["CreateTrainingJob"]

    assert request["HyperParameters"]["sagemaker_torch_distributed_enabled"] == "true"
    assert request["HyperParameters"]["sagemaker_instance_type"] == '"ml.g5.12xlarge"'
    assert request["ResourceConfig"]["InstanceCount"] == 2
    assert request["EnableManagedSpotTraining"] is False
    assert "MaxWaitTimeInSeconds" not in request["StoppingCondition"]


def test_spot_wait_shorter_than_runtime_is_refused(cli: typer.Typer) -> None:
    result = CliRunner().invoke(
        cli,
        [
            "train",
            "--bucket",
            "ops-bucket",
            "--role",
            ROLE,
            "--max-runtime-s",
            "7200",
            "--max-wait-s",
            "3600",
            "--dry-run",
        ],
    )
    assert result.exit_code == 1
    assert "max wait (3600 s) must be at least the max runtime (7200 s)" in result.output


def test_dry_run_without_role_says_what_to_pass(cli: typer.Typer) -> None:
    result = CliRunner().invoke(cli, ["train", "--bucket", "ops-bucket", "--dry-run"], env={})
    assert result.exit_code == 1
    assert "pass --role" in result.output


def test_cache_request_shards_clips_and_replicates_csvs(cli: typer.Typer) -> None:
    out = _dry_run(cli, ["dataset", "cache", "--bucket", "ops-bucket", "--role", ROLE])
    request = out["CreateProcessingJob"]
    inputs = {i["InputName"]: i["S3Input"] for i in request["ProcessingInputs"]}

    assert request["ProcessingResources"]["ClusterConfig"] == {
        "InstanceCount": 4,
        "InstanceType": "ml.c5.4xlarge",
        "VolumeSizeInGB": 100,
    }
    assert request["AppSpecification"]["ImageUri"].endswith("pytorch-training:2.6.0-cpu-py312")
    assert inputs["clips-train"] == {
        "S3Uri": "s3://ops-bucket/datasets/meld/train_splits/",
        "LocalPath": "/opt/ml/processing/input/clips/train_splits",
        "S3DataType": "S3Prefix",
        "S3InputMode": "File",
        "S3DataDistributionType": "ShardedByS3Key",
    }
    assert inputs["clips-dev"]["S3Uri"] == "s3://ops-bucket/datasets/meld/dev_splits_complete/"
    assert (
        inputs["clips-test"]["S3Uri"]
        == "s3://ops-bucket/datasets/meld/output_repeated_splits_test/"
    )
    assert inputs["csv-test"]["S3Uri"] == "s3://ops-bucket/datasets/meld/test_sent_emo.csv"
    replicated = {n for n, i in inputs.items() if i["S3DataDistributionType"] == "FullyReplicated"}
    assert replicated == {"code", "entry", "csv-train", "csv-dev", "csv-test"}
    assert request["ProcessingOutputConfig"]["Outputs"][0]["S3Output"]["S3Uri"] == (
        "s3://ops-bucket/datasets/meld-cache/"
    )
    script = request["AppSpecification"]["ContainerEntrypoint"][2]
    assert "cache_entry.py --csv-dir /opt/ml/processing/input/csv" in script
    assert "--preset paper" in script
    assert out["uploads"][f"s3://ops-bucket/training/source/{CACHE_JOB}/cache_entry.py"].endswith(
        "cache_entry.py"
    )


def _clients(session: boto3.Session) -> dict[str, Any]:
    return {name: session.client(name) for name in ("s3", "sagemaker", "logs")}


@mock_aws
def test_train_sends_the_dry_run_request_and_prints_the_artifact(
    cli: typer.Typer, monkeypatch: pytest.MonkeyPatch
) -> None:
    args = ["train", "--bucket", "ops-bucket", "--role", ROLE, "--epochs", "2"]
    request = _dry_run(cli, args)["CreateTrainingJob"]
    session = boto3.Session(region_name="us-east-1")
    clients = _clients(session)
    clients["s3"].create_bucket(Bucket="ops-bucket")
    monkeypatch.setattr(aws, "client", lambda region, service: clients[service])
    monkeypatch.setattr(job_watch.time, "sleep", lambda _: None)
    artifact = f"s3://ops-bucket/training/output/{JOB}/output/model.tar.gz"
    with Stubber(clients["sagemaker"]) as sm, Stubber(clients["logs"]) as logs:
        sm.add_response("create_training_job", {"TrainingJobArn": "arn:x"}, request)
        describe_training_job(sm, JOB, "InProgress", "Training")
        logs.add_response(
            "describe_log_streams", {"logStreams": [{"logStreamName": f"{JOB}/algo-1-1717243200"}]}
        )
        logs.add_response(
            "get_log_events",
            {
                "events": [{"timestamp": 1, "message": "[metrics] epoch=1 train_loss=1.2"}],
                "nextForwardToken": "f/1",
            },
        )
        logs.add_response("get_log_events", {"events": [], "nextForwardToken": "f/1"})
        describe_training_job(sm, JOB, "Completed", "Completed", artifact)
        logs.add_response(
            "describe_log_streams", {"logStreams": [{"logStreamName": f"{JOB}/algo-1-1717243200"}]}
        )
        logs.add_response("get_log_events", {"events": [], "nextForwardToken": "f/1"})

        result = CliRunner().invoke(cli, args)

        sm.assert_no_pending_responses()
    assert result.exit_code == 0, result.output
    assert f"training job {JOB}: InProgress (Training)" in result.output
    assert "[algo-1-1717243200] [metrics] epoch=1 train_loss=1.2" in result.output
    assert result.output.strip().endswith(f"model artifact: {artifact}")
    uploaded = (
        clients["s3"]
        .get_object(Bucket="ops-bucket", Key=f"training/source/{JOB}/sourcedir.tar.gz")["Body"]
        .read()
    )
    with tarfile.open(fileobj=io.BytesIO(uploaded)) as tar:
        names = tar.getnames()
    assert {"train.py", "requirements.txt", "vs_model/metric_lines.py"} <= set(names)


@mock_aws
def test_cache_job_sends_the_dry_run_request(
    cli: typer.Typer, monkeypatch: pytest.MonkeyPatch
) -> None:
    args = ["dataset", "cache", "--bucket", "ops-bucket", "--role", ROLE, "--no-wait"]
    request = _dry_run(cli, args)["CreateProcessingJob"]
    clients = _clients(boto3.Session(region_name="us-east-1"))
    clients["s3"].create_bucket(Bucket="ops-bucket")
    monkeypatch.setattr(aws, "client", lambda region, service: clients[service])
    with Stubber(clients["sagemaker"]) as sm:
        sm.add_response("create_processing_job", {"ProcessingJobArn": "arn:p"}, request)
        result = CliRunner().invoke(cli, args)
        sm.assert_no_pending_responses()
    assert result.exit_code == 0, result.output
    entry = clients["s3"].get_object(
        Bucket="ops-bucket", Key=f"training/source/{CACHE_JOB}/cache_entry.py"
    )
    assert entry["Body"].read() == Path(cache_entry.__file__).read_bytes()


def test_sourcedir_is_reproducible_and_clean(tmp_path: Path) -> None:
    source = tmp_path / "model"
    (source / "vs_model" / "__pycache__").mkdir(parents=True)
    (source / "train.py").write_text("print('train')\n")
    (source / "vs_model" / "labels.py").write_text("EMOTIONS = ()\n")
    (source / "vs_model" / "__pycache__" / "labels.cpython-311.pyc").write_bytes(b"\0")

    first = build_sourcedir(source)
    (source / "train.py").touch()  # a newer mtime changes nothing
    assert build_sourcedir(source) == first
    with tarfile.open(fileobj=io.BytesIO(first)) as tar:
        assert tar.getnames() == ["train.py", "vs_model/labels.py"]


def test_cache_entry_parts_and_release_links(tmp_path: Path) -> None:
    config = tmp_path / "resourceconfig.json"
    config.write_text(
        json.dumps({"current_host": "algo-3", "hosts": ["algo-2", "algo-1", "algo-3"]})
    )
    assert cache_entry.host_position(config) == (2, 3)
    assert cache_entry.host_position(tmp_path / "absent.json") == (0, 1)
    out = Path("/out")
    assert cache_entry.part_folder(out, "dev", 2, 3) == out / "dev" / "part-002-of-003"
    assert cache_entry.part_folder(out, "dev", 0, 1) == out / "dev"

    (tmp_path / "csv" / "dev").mkdir(parents=True)
    (tmp_path / "csv" / "dev" / "dev_sent_emo.csv").write_text("x")
    (tmp_path / "clips" / "dev_splits_complete").mkdir(parents=True)
    release = cache_entry.assemble_release(tmp_path / "csv", tmp_path / "clips", tmp_path / "m")
    assert (release / "dev_sent_emo.csv").read_text() == "x"
    assert (release / "dev_splits_complete").is_dir()
    assert (release / "train_splits").is_dir()  # a split this instance got no clips of


def test_hyperparameters_pass_through_as_train_py_reads_them() -> None:
    values = hyperparameters.parse_hyperparameters(
        ["--preset", "tiny", "--batch-size", "4", "--text-pooling=mean", "--decode-every-epoch"]
    )
    assert values == {
        "preset": "tiny",
        "batch-size": 4,
        "text-pooling": "mean",
        "decode-every-epoch": True,
    }
    assert "--lr-head" in hyperparameters.hyperparameter_names()
    assert "--model-dir" not in hyperparameters.hyperparameter_names()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--epochs", "many"], "invalid int value: 'many'"),
        (["--amp", "fp8"], "invalid choice: 'fp8'"),
        (["--learning-rate", "1"], "neither vsent train nor train.py takes --learning-rate 1"),
        (["--model-dir", "/tmp/m"], "--model-dir: SageMaker sets train.py's folders"),
    ],
)
def test_train_refuses_what_train_py_would(cli: typer.Typer, args: list[str], message: str) -> None:
    result = CliRunner().invoke(cli, ["train", "--bucket", "b", "--role", ROLE, *args, "--dry-run"])
    assert result.exit_code == 1
    assert message in result.output


def test_a_bad_tag_is_a_usage_error(cli: typer.Typer) -> None:
    result = CliRunner().invoke(cli, ["dataset", "cache", "--tag", "owner", "--dry-run"])
    assert result.exit_code == 2
    assert "'owner' is not KEY=VALUE" in result.output


def test_log_lines_of_several_hosts_come_in_time_order_once() -> None:
    logs = boto3.Session(region_name="us-east-1").client("logs")
    streams = {"logStreams": [{"logStreamName": f"j/algo-{i}-1"} for i in (2, 1)]}
    first = [{"timestamp": 5, "message": "a1"}, {"timestamp": 9, "message": "a2"}]
    with Stubber(logs) as stub:
        stub.add_response("describe_log_streams", streams)
        stub.add_response("get_log_events", {"events": first, "nextForwardToken": "f/1"})
        stub.add_response(
            "get_log_events",
            {"events": [{"timestamp": 7, "message": "b1\n"}], "nextForwardToken": "f/2"},
        )
        stub.add_response("get_log_events", {"events": [], "nextForwardToken": "f/1"})
        stub.add_response("get_log_events", {"events": [], "nextForwardToken": "f/2"})
        tail = job_watch.LogTail(logs, "/aws/sagemaker/TrainingJobs", "j")
        assert tail.new_lines() == ["[algo-1-1] a1", "[algo-2-1] b1", "[algo-1-1] a2"]
        # The next read starts at each stream's last timestamp and skips what was shown.
        stub.add_response("describe_log_streams", streams)
        again = {"events": [first[1], {"timestamp": 9, "message": "a3"}], "nextForwardToken": "x"}
        stub.add_response(
            "get_log_events",
            again,
            {
                "logGroupName": "/aws/sagemaker/TrainingJobs",
                "logStreamName": "j/algo-1-1",
                "startTime": 9,
                "startFromHead": True,
            },
        )
        stub.add_response("get_log_events", {"events": [], "nextForwardToken": "f/2"})
        stub.add_response("get_log_events", {"events": [], "nextForwardToken": "x"})
        assert tail.new_lines() == ["[algo-1-1] a3"]
        stub.assert_no_pending_responses()
