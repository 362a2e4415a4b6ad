"""Botocore Stubber responses the ops tests share."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from botocore.stub import Stubber


def describe_training_job(
    stub: Stubber, name: str, status: str, secondary: str, artifact: str | None = None
) -> None:
    """Queue a DescribeTrainingJob answer for job ``name`` (billable times once Completed)."""
    response: dict[str, Any] = {
        "TrainingJobName": name,
        "TrainingJobArn": f"arn:aws:sagemaker:us-east-1:1:training-job/{name}",
        "TrainingJobStatus": status,
        "SecondaryStatus": secondary,
        "ModelArtifacts": {"S3ModelArtifacts": artifact or ""},
        "AlgorithmSpecification": {"TrainingInputMode": "File"},
        "ResourceConfig": {
            "InstanceType": "ml.g5.xlarge",
            "InstanceCount": 1,
            "VolumeSizeInGB": 100,
        },
        "StoppingCondition": {"MaxRuntimeInSeconds": 1},
        "CreationTime": datetime(2024, 6, 1, tzinfo=UTC),
    }
    if status == "Completed":
        response |= {"BillableTimeInSeconds": 600, "TrainingTimeInSeconds": 1800}
    stub.add_response("describe_training_job", response, {"TrainingJobName": name})
