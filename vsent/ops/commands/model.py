"""``vsent model package|deploy``: the endpoint's package from a training artifact, and the stack
switched to it."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Annotated

import typer

from vsent.errors import reported
from vsent.ops import settings as s
from vsent.ops.aws import OpsError, S3Uri, s3_uri
from vsent.ops.commands.common import StackTarget, print_json, switch_model

app = typer.Typer(
    name="model",
    help="Package a trained model and put it behind the endpoint.",
    no_args_is_help=True,
)


@app.command("package")
def package(
    training_artifact: Annotated[
        str | None,
        typer.Argument(
            help="Training output: s3://…/model.tar.gz, a local tar.gz or folder"
            " (default: the shipped MELD text model, models/meld-text)."
        ),
    ] = None,
    bucket: s.Bucket = None,
    name: Annotated[
        str | None, typer.Option(help="Model name in the key (default: the training job's).")
    ] = None,
    asr_model: Annotated[
        Path | None,
        typer.Option(help="Whisper base folder to ship inside (default: the pip-installed one)."),
    ] = None,
    asr: Annotated[
        bool, typer.Option("--asr/--no-asr", help="Ship Whisper base for 'asr' segmentation.")
    ] = True,
    region: s.Region = s.DEFAULT_REGION,
    stack: s.StackName = s.DEFAULT_STACK,
    dry_run: s.DryRun = False,
) -> None:
    """Build the endpoint's model.tar.gz from a training artifact and upload it; prints its URL.

    A LoRA-trained model (the default one) is shipped with its updates merged into full weights.
    """
    target = StackTarget(region, stack, dry_run)
    if training_artifact is None:
        from vsent.local.default_model import DefaultModelError, default_model

        with reported(DefaultModelError):
            training_artifact = str(default_model())
    with reported(OpsError):
        package_uri = S3Uri.parse(
            s3_uri(
                target.bucket_name(bucket),
                s.MODELS_PREFIX,
                name or model_name(training_artifact),
                "model.tar.gz",
            )
        )
        artifact = S3Uri.parse(training_artifact) if training_artifact.startswith("s3://") else None
    if dry_run:
        print_json(
            {
                "download": str(artifact) if artifact else None,
                "package": {
                    "training_output": training_artifact,
                    "asr_model": asr_model if asr else None,
                    "with_asr": asr,
                },
                "PutObject": {"Bucket": package_uri.bucket, "Key": package_uri.key},
            }
        )
        return
    from vs_model.packaging import PackagingError, build_package

    with tempfile.TemporaryDirectory(prefix="vsent-package-") as scratch:
        source = Path(training_artifact)
        s3 = target.client("s3")
        if artifact is not None:
            source = Path(scratch) / "training-model.tar.gz"
            s3.download_file(artifact.bucket, artifact.key, str(source))
        out = Path(scratch) / "model.tar.gz"
        with reported(PackagingError, FileNotFoundError, ValueError):
            digest = build_package(source, out, asr_model, asr)
        s3.upload_file(
            str(out),
            package_uri.bucket,
            package_uri.key,
            ExtraArgs={"Metadata": {"sha256": digest}},
        )
    typer.echo(f"sha256 {digest}")
    typer.echo(str(package_uri))


def model_name(artifact: str) -> str:
    """The name a package gets from its training artifact: the training job's, when the artifact
    is ``…/{job}/output/model.tar.gz``, else the file or folder name."""
    parts = [p for p in artifact.split("/") if p]
    if len(parts) >= 3 and parts[-1] == "model.tar.gz" and parts[-2] == "output":
        return parts[-3]
    stem = Path(artifact.rstrip("/")).name
    return stem.removesuffix(".tar.gz") or "model"


@app.command("deploy")
def deploy_model(
    model_url: Annotated[str, typer.Argument(help="s3://…/model.tar.gz built by `model package`.")],
    build: s.SamBuild = None,
    wait: Annotated[bool, typer.Option(help="Print the endpoint's state until it serves.")] = True,
    region: s.Region = s.DEFAULT_REGION,
    stack: s.StackName = s.DEFAULT_STACK,
    dry_run: s.DryRun = False,
) -> None:
    """Point the stack at a model (`sam deploy` with ModelDataUrl) and wait for the endpoint."""
    from vsent.ops import deploy

    target = StackTarget(region, stack, dry_run)
    with reported(OpsError):
        S3Uri.parse(model_url)
        switch_model(model_url, target, build)
        if dry_run or not wait:
            return
        sm = target.client("sagemaker")
        names = deploy.stack_endpoints(target.client("cloudformation"), sm, stack)
        if not names:
            raise OpsError(f"stack {stack} has no endpoint after the deploy")
        autoscaling = target.client("application-autoscaling")
        for endpoint in names:
            deploy.wait_for_endpoint(sm, autoscaling, endpoint, typer.echo)
