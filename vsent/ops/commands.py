"""``vsent dataset``, ``vsent train``, ``vsent model`` and ``vsent stack costs|stop-endpoint``.

Every command that changes something has ``--dry-run``: it prints the complete request as JSON
and makes no AWS call.
"""

from __future__ import annotations

import json
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any

import typer
from botocore import xform_name

from vsent.ops import job_watch
from vsent.ops import settings as s
from vsent.ops.aws import OpsError, S3Uri, client, resolve, s3_uri
from vsent.option_groups import option_group

dataset_app = typer.Typer(
    help="The MELD dataset in S3 and its feature cache.", no_args_is_help=True
)
model_app = typer.Typer(
    help="Package a trained model and put it behind the endpoint.", no_args_is_help=True
)
stack_app = typer.Typer(
    help="What the deployed stack runs and costs; stop paying for it.", no_args_is_help=True
)

_BUCKET_OUTPUTS = ("UploadsBucketName", "BucketName")

SamBuild = Annotated[
    bool | None, typer.Option(help="Run `sam build` first (default: when never built).")
]


def register(app: typer.Typer) -> None:
    """Add the operations commands to the ``vsent`` app."""
    app.add_typer(dataset_app, name="dataset")
    app.command("train")(train)
    app.add_typer(model_app, name="model")
    app.add_typer(stack_app, name="stack")


def _key_values(pairs: list[str], what: str, form: str) -> dict[str, str]:
    values = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise OpsError(f"{what} {pair!r} is not {form}")
        values[key] = value
    return values


def _print_json(data: Any) -> None:
    typer.echo(json.dumps(data, indent=2, default=str))


def _fail(error: Exception) -> typer.Exit:
    typer.secho(f"error: {error}", err=True, fg=typer.colors.RED)
    return typer.Exit(2)


@dataclass(frozen=True)
class StackTarget:
    """The region and stack a command works on, and whether it only prints what it would do."""

    region: s.Region = s.DEFAULT_REGION
    stack: s.StackName = s.DEFAULT_STACK
    dry_run: s.DryRun = False

    def bucket_name(self, bucket: str | None) -> str:
        """``bucket`` (--bucket), else the stack's bucket output (a dry run reads no stack)."""
        return resolve(
            bucket,
            dry_run=self.dry_run,
            region=self.region,
            stack=self.stack,
            keys=_BUCKET_OUTPUTS,
            what="bucket",
            option="--bucket",
        )


stack_target = option_group(StackTarget)


@dataclass(frozen=True)
class LaunchOptions:
    """The options of every command that starts a SageMaker job."""

    bucket: s.Bucket = None
    role: s.RoleArn = None
    tag: Annotated[list[str], typer.Option(help="Extra tag KEY=VALUE (repeatable).")] = field(
        default_factory=list
    )
    wait: Annotated[bool, typer.Option(help="Follow the job's status and logs.")] = True
    region: s.Region = s.DEFAULT_REGION
    stack: s.StackName = s.DEFAULT_STACK
    dry_run: s.DryRun = False

    def bucket_name(self) -> str:
        """--bucket, else the stack's bucket output (a dry run reads no stack)."""
        return StackTarget(self.region, self.stack, self.dry_run).bucket_name(self.bucket)

    def role_arn(self) -> str:
        """--role; without it the job cannot start."""
        if not self.role:
            raise OpsError(
                "pass --role (or VSENT_SAGEMAKER_ROLE): the ARN of an IAM role SageMaker may "
                "assume with read/write access to the bucket (see the README's runbook)"
            )
        return self.role

    def tags(self) -> dict[str, str]:
        """The project tag and every --tag KEY=VALUE."""
        return {**s.PROJECT_TAG, **_key_values(self.tag, "tag", "KEY=VALUE")}


launch_options = option_group(LaunchOptions, before=("bucket", "role"))


def _upload_bytes(region: str, uri: str, data: bytes) -> None:
    target = S3Uri.parse(uri)
    client(region, "s3").put_object(Bucket=target.bucket, Key=target.key, Body=data)


def _start_job(
    launch: LaunchOptions, operation: str, request: dict[str, Any], uploads: dict[str, Path]
) -> Any | None:
    """Upload each file (a folder as a source dir tarball) and send the SageMaker ``operation``;
    returns the SageMaker client. A dry run prints both instead and returns None."""
    region = launch.region
    if launch.dry_run:
        paths = {uri: str(path) for uri, path in uploads.items()}
        _print_json({"uploads": paths, operation: request})
        return None
    from vsent.ops.sourcedir import build_sourcedir

    for uri, path in uploads.items():
        _upload_bytes(region, uri, build_sourcedir(path) if path.is_dir() else path.read_bytes())
    sm = client(region, "sagemaker")
    getattr(sm, xform_name(operation))(**request)
    return sm


def _finished_job(sm: Any, region: str, kind: job_watch.JobKind, name: str) -> dict[str, Any]:
    """Follow the job's status and logs until it ends; a job that did not complete fails."""
    job = job_watch.follow(sm, client(region, "logs"), kind, name, typer.echo)
    if job[kind.status_key] != "Completed":
        raise _fail(OpsError(f"{name}: {job.get('FailureReason', job[kind.status_key])}"))
    return job


# ---------------------------------------------------------------------------- dataset


@dataset_app.command("upload")
def dataset_upload(
    source: Annotated[
        str, typer.Argument(help="MELD folder, MELD.Raw.tar.gz, or its http(s) URL.")
    ],
    bucket: Annotated[str, typer.Option("--bucket", envvar="VSENT_BUCKET", help="Target bucket.")],
    prefix: Annotated[str, typer.Option(help="Key prefix in the bucket.")] = s.DATASET_PREFIX,
    workdir: Annotated[
        Path, typer.Option(help="Where a downloaded archive is kept and unpacked.")
    ] = Path(".vsent-meld"),
    check_clips: Annotated[
        bool, typer.Option(help="Open every clip and decode one frame to find unreadable ones.")
    ] = True,
    workers: Annotated[int, typer.Option(help="Parallel clip checks and uploads.")] = 8,
    region: s.Region = s.DEFAULT_REGION,
    dry_run: s.DryRun = False,
) -> None:
    """Check a MELD release (CSVs, split folders, missing and unreadable clips) and upload it.

    Objects already in S3 with the same size are skipped, so an interrupted upload resumes.
    """
    from vsent.ops import meld_release, s3sync

    if dry_run and source.startswith(("http://", "https://")):
        _print_json(
            {
                "download": {"url": source, "to": str(workdir / Path(source).name)},
                "unpack": [str(workdir / "unpacked"), *meld_release.NESTED_ARCHIVES],
                "check": "three CSVs, three split folders, missing and unreadable clips",
                "upload": {"Bucket": bucket, "Prefix": prefix, "skip": "objects of the same size"},
            }
        )
        return
    try:
        root = meld_release.prepare_source(source, workdir)
    except (meld_release.ReleaseError, OSError) as error:
        raise _fail(error) from error
    report = meld_release.check_release(root, workers=workers, decode=check_clips)
    for line in report.lines():
        typer.echo(line, err=dry_run)
    if not report.ok:
        raise _fail(OpsError("not a complete MELD release; nothing uploaded"))
    items = s3sync.items_for(root, meld_release.release_files(root), prefix)
    if dry_run:
        _print_json(s3sync.plan_upload(items, bucket, prefix, {}).to_request())
        return
    s3 = client(region, "s3")
    plan = s3sync.plan_upload(items, bucket, prefix, s3sync.existing_sizes(s3, bucket, prefix))
    typer.echo(
        f"{len(plan.send)} files ({plan.send_bytes / 1e9:.2f} GB) to send, "
        f"{len(plan.skip)} already in s3://{bucket}/{prefix}"
    )
    sent = s3sync.upload(s3, plan, workers=workers)
    typer.echo(f"uploaded {sent} files to s3://{bucket}/{prefix}")


@dataset_app.command("cache")
@launch_options
def dataset_cache(
    launch: LaunchOptions,
    dataset_prefix: Annotated[str, typer.Option(help="Where the MELD release is.")] = (
        s.DATASET_PREFIX
    ),
    cache_prefix: Annotated[str, typer.Option(help="Where the caches go.")] = s.CACHE_PREFIX,
    instance_type: Annotated[str, typer.Option(help="Processing instance type.")] = "ml.c5.4xlarge",
    instance_count: Annotated[
        int, typer.Option(help="Instances; the clips are sharded by S3 key over them.")
    ] = 4,
    volume_gb: Annotated[int, typer.Option(help="Disk per instance (GB).")] = 100,
    preset: Annotated[str, typer.Option(help="Model preset the features are for.")] = "paper",
    text_model: Annotated[str | None, typer.Option(help="Text encoder (tokenizer).")] = None,
    max_runtime_s: Annotated[int, typer.Option(help="Stop the job after this long.")] = 6 * 3600,
) -> None:
    """Build the feature cache in AWS: a SageMaker Processing job sharded over several instances."""
    from vsent.ops import images, processing_job
    from vsent.ops.sourcedir import MODEL_DIR

    region = launch.region
    try:
        bucket = launch.bucket_name()
        name = images.job_name("cache")
        spec = processing_job.CacheJobSpec(
            job_name=name,
            role_arn=launch.role_arn(),
            tags=launch.tags(),
            image_uri=images.pytorch_training_image(region, instance_type),
            bucket=bucket,
            dataset_prefix=dataset_prefix,
            cache_prefix=cache_prefix,
            source_uri=s3_uri(bucket, s.TRAINING_PREFIX, "source", name, "sourcedir.tar.gz"),
            entry_uri=s3_uri(bucket, s.TRAINING_PREFIX, "source", name, "cache_entry.py"),
            instance_type=instance_type,
            instance_count=instance_count,
            volume_gb=volume_gb,
            max_runtime_s=max_runtime_s,
            preset=preset,
            text_model=text_model,
        )
    except (OpsError, ValueError) as error:
        raise _fail(error) from error
    uploads = {spec.source_uri: MODEL_DIR, spec.entry_uri: processing_job.ENTRY_SCRIPT}
    sm = _start_job(launch, "CreateProcessingJob", processing_job.build_request(spec), uploads)
    if sm is None:
        return
    typer.echo(f"started processing job {name}; caches go to {spec.output_uri}")
    if launch.wait:
        _finished_job(sm, launch.region, job_watch.PROCESSING, name)
        typer.echo(f"feature cache: {spec.output_uri}")


# ---------------------------------------------------------------------------- train


def _hyperparameters(explicit: dict[str, Any], extra: list[str]) -> dict[str, Any]:
    values = {k: v for k, v in explicit.items() if v is not None}
    return {**values, **_key_values(extra, "hyperparameter", "NAME=VALUE")}


@launch_options
def train(
    launch: LaunchOptions,
    training: Annotated[
        str | None, typer.Option(help="Training channel (S3 cache or MELD).")
    ] = None,
    validation: Annotated[str | None, typer.Option(help="Validation channel.")] = None,
    test: Annotated[str | None, typer.Option(help="Test channel.")] = None,
    instance_type: Annotated[str, typer.Option(help="Training instance type.")] = "ml.g5.xlarge",
    instance_count: Annotated[int, typer.Option(help="Instances (DDP across them).")] = 1,
    volume_gb: Annotated[int, typer.Option(help="Disk per instance (GB).")] = 100,
    spot: Annotated[
        bool, typer.Option(help="Managed spot training (resumes from checkpoints).")
    ] = (True),
    max_runtime_s: Annotated[int, typer.Option(help="Longest training time.")] = 24 * 3600,
    max_wait_s: Annotated[
        int, typer.Option(help="Longest time including waits for spot capacity (≥ runtime).")
    ] = 36 * 3600,
    distributed: Annotated[
        bool | None,
        typer.Option(help="torchrun over every GPU of every instance (default: when > 1 GPU)."),
    ] = None,
    checkpoint_uri: Annotated[
        str | None, typer.Option(help="S3 checkpoints (reuse one to resume an earlier job).")
    ] = None,
    framework_version: Annotated[str, typer.Option(help="PyTorch container version.")] = "2.6.0",
    py_version: Annotated[str, typer.Option(help="Python of the container.")] = "py312",
    image_uri: Annotated[str | None, typer.Option(help="Use this image instead.")] = None,
    preset: Annotated[str, typer.Option(help="Model preset.")] = "paper",
    epochs: Annotated[int | None, typer.Option()] = None,
    batch_size: Annotated[int | None, typer.Option()] = None,
    lr_text: Annotated[float | None, typer.Option()] = None,
    lr_video: Annotated[float | None, typer.Option()] = None,
    lr_audio: Annotated[float | None, typer.Option()] = None,
    lr_head: Annotated[float | None, typer.Option()] = None,
    weight_decay: Annotated[float | None, typer.Option()] = None,
    label_smoothing: Annotated[float | None, typer.Option()] = None,
    grad_clip: Annotated[float | None, typer.Option()] = None,
    patience: Annotated[int | None, typer.Option()] = None,
    num_workers: Annotated[int | None, typer.Option()] = None,
    text_model: Annotated[str | None, typer.Option()] = None,
    freeze_text: Annotated[bool | None, typer.Option("--freeze-text/--train-text")] = None,
    seed: Annotated[int | None, typer.Option()] = None,
    hyperparameter: Annotated[
        list[str], typer.Option("--hyperparameter", "-H", help="Any other NAME=VALUE for train.py.")
    ] = [],  # noqa: B006
) -> None:
    """Train on SageMaker: model/train.py on a GPU instance, spot, checkpoints, TensorBoard, DDP."""
    from vs_model.metric_lines import METRIC_DEFINITIONS
    from vsent.ops import images, training_job
    from vsent.ops.sourcedir import MODEL_DIR

    region = launch.region
    try:
        bucket = launch.bucket_name()
        name = images.job_name("train")
        cache = s3_uri(bucket, s.CACHE_PREFIX)
        base = s3_uri(bucket, s.TRAINING_PREFIX)
        if distributed is None:
            gpus = images.gpus_per_instance(instance_type, region)
            distributed = instance_count * gpus > 1
        hyper = _hyperparameters(
            {
                "preset": preset,
                "epochs": epochs,
                "batch-size": batch_size,
                "lr-text": lr_text,
                "lr-video": lr_video,
                "lr-audio": lr_audio,
                "lr-head": lr_head,
                "weight-decay": weight_decay,
                "label-smoothing": label_smoothing,
                "grad-clip": grad_clip,
                "patience": patience,
                "num-workers": num_workers,
                "text-model": text_model,
                "freeze-text": freeze_text,
                "seed": seed,
            },
            hyperparameter,
        )
        spec = training_job.TrainingJobSpec(
            job_name=name,
            role_arn=launch.role_arn(),
            tags=launch.tags(),
            region=region,
            image_uri=image_uri
            or images.pytorch_training_image(region, instance_type, framework_version, py_version),
            source_uri=f"{base}source/{name}/sourcedir.tar.gz",
            channels={
                "training": training or f"{cache}train/",
                "validation": validation or f"{cache}dev/",
                "test": test or f"{cache}test/",
            },
            output_uri=f"{base}output/",
            checkpoint_uri=checkpoint_uri or f"{base}checkpoints/{name}/",
            tensorboard_uri=f"{base}tensorboard/{name}/",
            metric_definitions=METRIC_DEFINITIONS,
            hyperparameters=hyper,
            instance_type=instance_type,
            instance_count=instance_count,
            volume_gb=volume_gb,
            spot=spot,
            max_runtime_s=max_runtime_s,
            max_wait_s=max_wait_s,
            distributed=distributed,
        )
    except (OpsError, ValueError) as error:
        raise _fail(error) from error
    request = training_job.build_request(spec)
    sm = _start_job(launch, "CreateTrainingJob", request, {spec.source_uri: MODEL_DIR})
    if sm is None:
        return
    typer.echo(f"started training job {name} on {instance_count} × {instance_type}")
    typer.echo(f"TensorBoard: tensorboard --logdir {spec.tensorboard_uri}")
    if not launch.wait:
        return
    job = _finished_job(sm, launch.region, job_watch.TRAINING, name)
    billable = job.get("BillableTimeInSeconds")
    if billable is not None:
        typer.echo(f"billable seconds: {billable} (of {job.get('TrainingTimeInSeconds')})")
    typer.echo(f"model artifact: {job['ModelArtifacts']['S3ModelArtifacts']}")


# ---------------------------------------------------------------------------- model


@model_app.command("package")
@stack_target
def model_package(
    target: StackTarget,
    training_artifact: Annotated[
        str, typer.Argument(help="Training output: s3://…/model.tar.gz, a local tar.gz or folder.")
    ],
    bucket: s.Bucket = None,
    name: Annotated[
        str | None, typer.Option(help="Model name in the key (default: the training job's).")
    ] = None,
    asr_model: Annotated[
        Path | None, typer.Option(help="Whisper model folder to ship inside the package.")
    ] = None,
) -> None:
    """Build the endpoint's model.tar.gz from a training artifact and upload it; prints its URL."""
    try:
        bucket = target.bucket_name(bucket)
        name = name or _model_name(training_artifact)
        package_uri = s3_uri(bucket, s.MODELS_PREFIX, name, "model.tar.gz")
    except OpsError as error:
        raise _fail(error) from error
    if target.dry_run:
        _print_json(
            {
                "download": training_artifact if training_artifact.startswith("s3://") else None,
                "package": {"training_output": training_artifact, "asr_model": asr_model},
                "PutObject": {"Bucket": bucket, "Key": S3Uri.parse(package_uri).key},
            }
        )
        return
    from vs_model.packaging import PackagingError, build_package

    with tempfile.TemporaryDirectory(prefix="vsent-package-") as scratch:
        source = Path(training_artifact)
        s3 = client(target.region, "s3")
        if training_artifact.startswith("s3://"):
            artifact = S3Uri.parse(training_artifact)
            source = Path(scratch) / "training-model.tar.gz"
            s3.download_file(artifact.bucket, artifact.key, str(source))
        out = Path(scratch) / "model.tar.gz"
        try:
            digest = build_package(source, out, asr_model)
        except (PackagingError, FileNotFoundError) as error:
            raise _fail(error) from error
        key = S3Uri.parse(package_uri).key
        s3.upload_file(str(out), bucket, key, ExtraArgs={"Metadata": {"sha256": digest}})
    typer.echo(f"sha256 {digest}")
    typer.echo(package_uri)


def _model_name(artifact: str) -> str:
    # s3://…/training/output/{job}/output/model.tar.gz → the job's name.
    parts = [p for p in artifact.split("/") if p]
    if len(parts) >= 3 and parts[-1] == "model.tar.gz" and parts[-2] == "output":
        return parts[-3]
    stem = Path(artifact.rstrip("/")).name
    return stem.removesuffix(".tar.gz") or "model"


def _switch_model(model_url: str, target: StackTarget, build: bool | None) -> None:
    from vsent.ops import deploy

    commands = deploy.sam_commands(
        deploy.sam_executable() if not target.dry_run else _sam_for_dry_run(),
        target.stack,
        target.region,
        model_url,
        build=deploy.needs_build() if build is None else build,
    )
    if target.dry_run:
        _print_json({"cwd": str(deploy.REPO_ROOT), "commands": commands})
        return
    deploy.run_commands(commands)


def _sam_for_dry_run() -> str:
    from vsent.ops import deploy

    try:
        return deploy.sam_executable()
    except OpsError:
        return "sam"


@model_app.command("deploy")
@stack_target
def model_deploy(
    target: StackTarget,
    model_url: Annotated[str, typer.Argument(help="s3://…/model.tar.gz built by `model package`.")],
    build: SamBuild = None,
    wait: Annotated[bool, typer.Option(help="Print the endpoint's state until it serves.")] = True,
) -> None:
    """Point the stack at a model (`sam deploy` with ModelDataUrl) and wait for the endpoint."""
    from vsent.ops import deploy

    try:
        S3Uri.parse(model_url)
        _switch_model(model_url, target, build)
        if target.dry_run or not wait:
            return
        region = target.region
        sm = client(region, "sagemaker")
        names = deploy.stack_endpoints(client(region, "cloudformation"), sm, target.stack)
        if not names:
            raise OpsError(f"stack {target.stack} has no endpoint after the deploy")
        autoscaling = client(region, "application-autoscaling")
        for endpoint in names:
            deploy.wait_for_endpoint(sm, autoscaling, endpoint, typer.echo)
    except OpsError as error:
        raise _fail(error) from error


# ---------------------------------------------------------------------------- stack


@stack_app.command("costs")
def stack_costs(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    region: s.Region = s.DEFAULT_REGION,
    stack: s.StackName = s.DEFAULT_STACK,
) -> None:
    """What runs now (endpoint instances, scaling, jobs) and an hourly cost estimate."""
    from vsent.ops import costs, deploy

    sm = client(region, "sagemaker")
    autoscaling = client(region, "application-autoscaling")
    try:
        names = deploy.stack_endpoints(client(region, "cloudformation"), sm, stack)
    except sm.exceptions.ClientError as error:
        raise _fail(OpsError(f"cannot read stack {stack}: {error}")) from error
    states = [deploy.endpoint_state(sm, autoscaling, n) for n in names]
    data = costs.report(
        [costs.endpoint_cost(st) for st in states if st is not None], costs.running_jobs(sm), stack
    )
    if as_json:
        _print_json(data)
        return
    for line in [*costs.lines(data), *costs.stop_paying_advice(stack)]:
        typer.echo(line)


@stack_app.command("stop-endpoint")
@stack_target
def stack_stop_endpoint(target: StackTarget, build: SamBuild = None) -> None:
    """Delete the endpoint and its model but keep the bucket, jobs and tables (ModelDataUrl="")."""
    try:
        _switch_model("", target, build)
    except OpsError as error:
        raise _fail(error) from error
    if not target.dry_run:
        typer.echo(
            f"stack {target.stack} has no endpoint now; `vsent model deploy` brings one back"
        )
