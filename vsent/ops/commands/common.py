"""What the ops command groups share: the stack a command targets, launching and following a
SageMaker job, switching the stack's model, and printing a dry run."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import typer
from botocore import xform_name

from vsent.errors import fail
from vsent.ops import aws, job_watch
from vsent.ops import settings as s
from vsent.ops.aws import OpsError, S3Uri


def print_json(data: Any) -> None:
    """Print ``data`` as indented JSON (what every dry run prints)."""
    typer.echo(json.dumps(data, indent=2, default=str))


@dataclass(frozen=True)
class StackTarget:
    """The region and stack a command works on, and whether it only prints what it would do."""

    region: str = s.DEFAULT_REGION
    stack: str = s.DEFAULT_STACK
    dry_run: bool = False

    def bucket_name(self, bucket: str | None) -> str:
        """``bucket`` (--bucket), else the stack's bucket output (a dry run reads no stack)."""
        return aws.resolve(
            bucket,
            dry_run=self.dry_run,
            region=self.region,
            stack=self.stack,
            keys=(s.BUCKET_OUTPUT,),
            what="bucket",
            option="--bucket",
        )

    def client(self, service: str) -> Any:
        """A boto3 client of ``service`` in this region."""
        return aws.client(self.region, service)


@dataclass(frozen=True)
class JobLaunch:
    """The options of every command that starts a SageMaker job."""

    target: StackTarget
    bucket: str | None = None
    role: str | None = None
    tags: list[s.Tag] = field(default_factory=list)
    wait: bool = True

    def bucket_name(self) -> str:
        """--bucket, else the stack's bucket output (a dry run reads no stack)."""
        return self.target.bucket_name(self.bucket)

    def role_arn(self) -> str:
        """--role; without it the job cannot start."""
        if not self.role:
            raise OpsError(
                "pass --role (or VSENT_SAGEMAKER_ROLE): the ARN of an IAM role SageMaker may "
                "assume with read/write access to the bucket (see the README's runbook)"
            )
        return self.role

    def tag_map(self) -> dict[str, str]:
        """The project tag and every --tag KEY=VALUE."""
        return {**s.PROJECT_TAG, **dict(self.tags)}


def launch_job(
    launch: JobLaunch,
    kind: job_watch.JobKind,
    name: str,
    request: dict[str, Any],
    uploads: dict[str, Path],
    started: str,
) -> dict[str, Any] | None:
    """Upload each file (a folder as a source dir tarball), create the job, print ``started``,
    and with --wait follow it until it ends; a job that did not complete fails the command.

    Returns the finished job's description; None for a dry run (which prints the uploads and the
    request instead) or --no-wait."""
    target = launch.target
    if target.dry_run:
        print_json(
            {"uploads": {uri: str(path) for uri, path in uploads.items()}, kind.create: request}
        )
        return None
    from vsent.ops.sourcedir import build_sourcedir

    s3 = target.client("s3")
    for uri, path in uploads.items():
        location = S3Uri.parse(uri)
        body = build_sourcedir(path) if path.is_dir() else path.read_bytes()
        s3.put_object(Bucket=location.bucket, Key=location.key, Body=body)
    sm = target.client("sagemaker")
    getattr(sm, xform_name(kind.create))(**request)
    typer.echo(started)
    if not launch.wait:
        return None
    job = job_watch.follow(sm, target.client("logs"), kind, name, typer.echo)
    if job[kind.status_key] != "Completed":
        raise fail(f"{name}: {job.get('FailureReason', job[kind.status_key])}")
    return job


def switch_model(model_url: str, target: StackTarget, build: bool | None) -> None:
    """``sam deploy`` the stack with ModelDataUrl (empty: no endpoint); a dry run prints it."""
    from vsent.ops import deploy

    try:
        sam = deploy.sam_executable()
    except OpsError:
        if not target.dry_run:
            raise
        sam = "sam"
    commands = deploy.sam_commands(
        sam,
        target.stack,
        target.region,
        model_url,
        build=deploy.needs_build() if build is None else build,
    )
    if target.dry_run:
        print_json({"cwd": str(deploy.REPO_ROOT), "commands": commands})
        return
    deploy.run_commands(commands)
