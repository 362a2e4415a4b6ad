"""The settings every ops command shares, as typer options with their environment fallbacks.

This is the one place that names the environment variables the ops commands read.
"""

from __future__ import annotations

from typing import Annotated

import typer

DEFAULT_REGION = "us-east-1"
DEFAULT_STACK = "video-sentiment"
DATASET_PREFIX = "datasets/meld/"
CACHE_PREFIX = "datasets/meld-cache/"
TRAINING_PREFIX = "training/"
MODELS_PREFIX = "models/"
PROJECT_TAG = {"project": "video-sentiment"}

Region = Annotated[
    str,
    typer.Option(
        "--region",
        envvar=["AWS_REGION", "AWS_DEFAULT_REGION"],
        help="AWS region.",
        show_default=True,
    ),
]
StackName = Annotated[
    str,
    typer.Option("--stack-name", envvar="VSENT_STACK_NAME", help="CloudFormation stack name."),
]
Bucket = Annotated[
    str | None,
    typer.Option(
        "--bucket",
        envvar="VSENT_BUCKET",
        help="S3 bucket of the stack (default: the stack's BucketName output).",
    ),
]
RoleArn = Annotated[
    str | None,
    typer.Option(
        "--role",
        envvar="VSENT_SAGEMAKER_ROLE",
        help="IAM role SageMaker jobs run as (default: the stack's SageMaker role output).",
    ),
]
DryRun = Annotated[
    bool,
    typer.Option("--dry-run", help="Print the request as JSON and change nothing (no AWS calls)."),
]
