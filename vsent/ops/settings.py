"""The settings every ops command shares, as typer options with their environment fallbacks.

This is the one place that names the environment variables the ops commands read. Commands take
these aliases as parameters and build :class:`vsent.ops.commands.common.StackTarget` or
:class:`~vsent.ops.commands.common.JobLaunch` from them in their body.
"""

from __future__ import annotations

from typing import Annotated, NamedTuple

import typer

DEFAULT_REGION = "us-east-1"
DEFAULT_STACK = "video-sentiment"
DATASET_PREFIX = "datasets/meld/"
CACHE_PREFIX = "datasets/meld-cache/"
TRAINING_PREFIX = "training/"
MODELS_PREFIX = "models/"
PROJECT_TAG = {"project": "video-sentiment"}
# The stack output that names the bucket (template.yaml's Outputs).
BUCKET_OUTPUT = "UploadsBucketName"


class Tag(NamedTuple):
    """One ``--tag KEY=VALUE``."""

    key: str
    value: str


def parse_tag(text: str) -> Tag:
    """``KEY=VALUE`` as a :class:`Tag`; anything else is a usage error."""
    key, sep, value = text.partition("=")
    if not sep or not key:
        raise typer.BadParameter(f"{text!r} is not KEY=VALUE")
    return Tag(key, value)


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
        help=f"S3 bucket of the stack (default: the stack's {BUCKET_OUTPUT} output).",
    ),
]
RoleArn = Annotated[
    str | None,
    typer.Option(
        "--role",
        envvar="VSENT_SAGEMAKER_ROLE",
        help="IAM role SageMaker jobs run as (required; the stack does not create one: see the "
        "README's runbook).",
    ),
]
Tags = Annotated[
    list[Tag],
    typer.Option(
        "--tag", parser=parse_tag, metavar="KEY=VALUE", help="Extra tag KEY=VALUE (repeatable)."
    ),
]
Wait = Annotated[bool, typer.Option(help="Follow the job's status and logs.")]
DryRun = Annotated[
    bool,
    typer.Option("--dry-run", help="Print the request as JSON and change nothing (no AWS calls)."),
]
SamBuild = Annotated[
    bool | None, typer.Option(help="Run `sam build` first (default: when never built).")
]
