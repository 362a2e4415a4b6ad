"""The training job: model/train.py in the PyTorch training container.

Script mode: the framework container downloads ``sourcedir.tar.gz`` (``sagemaker_submit_directory``)
to /opt/ml/code, installs its requirements.txt and runs ``sagemaker_program`` with the user
hyperparameters as ``--name value`` arguments; with ``sagemaker_torch_distributed_enabled`` it
starts the program through torchrun, one process per GPU on every instance.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from vsent.ops.aws import OpsError, S3Uri

CHANNELS = ("training", "validation", "test")
CHECKPOINT_LOCAL_PATH = "/opt/ml/checkpoints"
TENSORBOARD_LOCAL_PATH = "/opt/ml/output/tensorboard"
ENTRY_POINT = "train.py"


@dataclass(frozen=True)
class TrainingJobSpec:
    """Everything that defines one training job."""

    job_name: str
    role_arn: str
    region: str
    image_uri: str
    source_uri: str
    channels: dict[str, str]
    output_uri: str
    checkpoint_uri: str
    tensorboard_uri: str
    metric_definitions: list[dict[str, str]]
    hyperparameters: dict[str, str | int | float | bool] = field(default_factory=dict)
    instance_type: str = "ml.g5.xlarge"
    instance_count: int = 1
    volume_gb: int = 100
    spot: bool = True
    max_runtime_s: int = 24 * 3600
    max_wait_s: int = 36 * 3600
    distributed: bool = False
    tags: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        problems = []
        if set(self.channels) != set(CHANNELS):
            problems.append(f"channels must be exactly {', '.join(CHANNELS)}")
        for uri in [
            *self.channels.values(),
            self.source_uri,
            self.output_uri,
            self.checkpoint_uri,
            self.tensorboard_uri,
        ]:
            try:
                S3Uri.parse(uri)
            except OpsError as error:
                problems.append(str(error))
        if self.instance_count < 1:
            problems.append("instance count must be at least 1")
        if self.spot and self.max_wait_s < self.max_runtime_s:
            problems.append(
                f"max wait ({self.max_wait_s} s) must be at least the max runtime "
                f"({self.max_runtime_s} s) for spot training"
            )
        if problems:
            raise ValueError("; ".join(problems))


def script_mode_hyperparameters(spec: TrainingJobSpec) -> dict[str, str]:
    """User and framework hyperparameters, JSON-encoded as the SageMaker SDK sends them."""
    values: dict[str, Any] = dict(spec.hyperparameters)
    values.update(
        {
            "sagemaker_program": ENTRY_POINT,
            "sagemaker_submit_directory": spec.source_uri,
            "sagemaker_region": spec.region,
            "sagemaker_job_name": spec.job_name,
            "sagemaker_container_log_level": 20,
        }
    )
    if spec.distributed:
        values["sagemaker_torch_distributed_enabled"] = True
        values["sagemaker_instance_type"] = spec.instance_type
    return {str(k): json.dumps(v) for k, v in values.items()}


def _channel(name: str, uri: str) -> dict[str, Any]:
    return {
        "ChannelName": name,
        "DataSource": {
            "S3DataSource": {
                "S3DataType": "S3Prefix",
                "S3Uri": uri,
                # Every rank reads the whole set through its DistributedSampler.
                "S3DataDistributionType": "FullyReplicated",
            }
        },
        "InputMode": "File",
    }


def build_request(spec: TrainingJobSpec) -> dict[str, Any]:
    """The CreateTrainingJob request for ``spec``."""
    stopping: dict[str, int] = {"MaxRuntimeInSeconds": spec.max_runtime_s}
    if spec.spot:
        stopping["MaxWaitTimeInSeconds"] = spec.max_wait_s
    return {
        "TrainingJobName": spec.job_name,
        "RoleArn": spec.role_arn,
        "AlgorithmSpecification": {
            "TrainingImage": spec.image_uri,
            "TrainingInputMode": "File",
            "MetricDefinitions": spec.metric_definitions,
            "EnableSageMakerMetricsTimeSeries": True,
        },
        "HyperParameters": script_mode_hyperparameters(spec),
        "InputDataConfig": [_channel(name, spec.channels[name]) for name in CHANNELS],
        "OutputDataConfig": {"S3OutputPath": spec.output_uri},
        "ResourceConfig": {
            "InstanceType": spec.instance_type,
            "InstanceCount": spec.instance_count,
            "VolumeSizeInGB": spec.volume_gb,
        },
        "StoppingCondition": stopping,
        "EnableManagedSpotTraining": spec.spot,
        "CheckpointConfig": {"S3Uri": spec.checkpoint_uri, "LocalPath": CHECKPOINT_LOCAL_PATH},
        "TensorBoardOutputConfig": {
            "S3OutputPath": spec.tensorboard_uri,
            "LocalPath": TENSORBOARD_LOCAL_PATH,
        },
        "Environment": {"PYTHONUNBUFFERED": "1"},
        "Tags": [{"Key": k, "Value": v} for k, v in spec.tags.items()],
    }
