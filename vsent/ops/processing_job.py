"""The feature-cache Processing job: vs_model's cache over the MELD clips in S3, sharded by key."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from vs_model.meld import CLIP_FOLDERS, CSV_NAMES, SPLITS
from vsent.ops.aws import s3_uri

ENTRY_SCRIPT = Path(__file__).with_name("cache_entry.py")
_INPUT = "/opt/ml/processing/input"
_OUTPUT = "/opt/ml/processing/output/cache"


@dataclass(frozen=True)
class CacheJobSpec:
    """Everything that defines one feature-cache job."""

    job_name: str
    role_arn: str
    image_uri: str
    bucket: str
    dataset_prefix: str
    cache_prefix: str
    source_uri: str
    entry_uri: str
    instance_type: str = "ml.c5.4xlarge"
    instance_count: int = 4
    volume_gb: int = 100
    max_runtime_s: int = 6 * 3600
    preset: str = "paper"
    text_model: str | None = None
    shard_size: int = 128
    tags: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.instance_count < 1:
            raise ValueError("instance count must be at least 1")

    @property
    def output_uri(self) -> str:
        """Where the caches land: ``{split}/`` (one instance) or ``{split}/part-…/`` folders."""
        return s3_uri(self.bucket, self.cache_prefix, "")


def _s3_input(name: str, uri: str, local: str, distribution: str) -> dict[str, Any]:
    return {
        "InputName": name,
        "S3Input": {
            "S3Uri": uri,
            "LocalPath": local,
            "S3DataType": "S3Prefix",
            "S3InputMode": "File",
            "S3DataDistributionType": distribution,
        },
    }


def container_script(spec: CacheJobSpec) -> str:
    """The shell the container runs: unpack the source, install requirements, build."""
    arguments = [
        f"--csv-dir {_INPUT}/csv",
        f"--clips-dir {_INPUT}/clips",
        f"--output {_OUTPUT}",
        f"--preset {spec.preset}",
        f"--shard-size {spec.shard_size}",
    ]
    if spec.text_model:
        arguments.append(f"--text-model {spec.text_model}")
    return " && ".join(
        [
            "set -euo pipefail",
            "mkdir -p /opt/ml/code",
            f"tar -xzf {_INPUT}/code/sourcedir.tar.gz -C /opt/ml/code",
            "pip install --quiet -r /opt/ml/code/requirements.txt",
            "cd /opt/ml/code",
            f"PYTHONPATH=/opt/ml/code python {_INPUT}/entry/cache_entry.py " + " ".join(arguments),
        ]
    )


def build_request(spec: CacheJobSpec) -> dict[str, Any]:
    """The CreateProcessingJob request for ``spec``.

    The CSVs go to every instance (FullyReplicated); the clips of each split folder are divided
    between the instances (ShardedByS3Key), so N instances decode about 1/N of the clips each.
    """
    inputs = [
        _s3_input("code", spec.source_uri, f"{_INPUT}/code", "FullyReplicated"),
        _s3_input("entry", spec.entry_uri, f"{_INPUT}/entry", "FullyReplicated"),
    ]
    for split in SPLITS:
        csv_uri = s3_uri(spec.bucket, spec.dataset_prefix, CSV_NAMES[split])
        inputs.append(
            _s3_input(f"csv-{split}", csv_uri, f"{_INPUT}/csv/{split}", "FullyReplicated")
        )
    for split in SPLITS:
        folder = CLIP_FOLDERS[split]
        clips_uri = s3_uri(spec.bucket, spec.dataset_prefix, folder, "")
        inputs.append(
            _s3_input(f"clips-{split}", clips_uri, f"{_INPUT}/clips/{folder}", "ShardedByS3Key")
        )
    return {
        "ProcessingJobName": spec.job_name,
        "RoleArn": spec.role_arn,
        "AppSpecification": {
            "ImageUri": spec.image_uri,
            "ContainerEntrypoint": ["bash", "-c", container_script(spec)],
        },
        "ProcessingResources": {
            "ClusterConfig": {
                "InstanceCount": spec.instance_count,
                "InstanceType": spec.instance_type,
                "VolumeSizeInGB": spec.volume_gb,
            }
        },
        "ProcessingInputs": inputs,
        "ProcessingOutputConfig": {
            "Outputs": [
                {
                    "OutputName": "cache",
                    "S3Output": {
                        "S3Uri": spec.output_uri,
                        "LocalPath": _OUTPUT,
                        "S3UploadMode": "EndOfJob",
                    },
                }
            ]
        },
        "StoppingCondition": {"MaxRuntimeInSeconds": spec.max_runtime_s},
        "Environment": {"PYTHONUNBUFFERED": "1"},
        "Tags": [{"Key": k, "Value": v} for k, v in spec.tags.items()],
    }
