"""``vsent train``: model/train.py as a SageMaker training job."""

from __future__ import annotations

from typing import Annotated

import typer

from vsent.errors import reported
from vsent.ops import images, job_watch
from vsent.ops import settings as s
from vsent.ops.aws import OpsError, s3_uri
from vsent.ops.commands.common import JobLaunch, StackTarget, launch_job

app = typer.Typer()

# Options vsent train does not know are train.py's hyperparameters (see vsent.ops.hyperparameters).
_PASS_THROUGH = {"allow_extra_args": True, "ignore_unknown_options": True}


@app.command("train", context_settings=_PASS_THROUGH)
def train(
    ctx: typer.Context,
    bucket: s.Bucket = None,
    role: s.RoleArn = None,
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
    ] = True,
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
    framework_version: Annotated[
        str, typer.Option(help="PyTorch container version (the endpoint's).")
    ] = images.FRAMEWORK_VERSION,
    py_version: Annotated[str, typer.Option(help="Python of the container.")] = images.PY_VERSION,
    image_uri: Annotated[str | None, typer.Option(help="Use this image instead.")] = None,
    preset: Annotated[str, typer.Option(help="Model preset.")] = "paper",
    tag: s.Tags = [],  # noqa: B006 (typer copies list defaults)
    wait: s.Wait = True,
    region: s.Region = s.DEFAULT_REGION,
    stack: s.StackName = s.DEFAULT_STACK,
    dry_run: s.DryRun = False,
) -> None:
    """Train on SageMaker: model/train.py on a GPU instance, spot, checkpoints, TensorBoard, DDP.

    Every other option is a train.py hyperparameter and goes to the job as given, checked by
    train.py's own parser first: for example --epochs 12 --lr-text 2e-5 --freeze-text --amp bf16
    (python model/train.py --help lists them).
    """
    from vs_model.metric_lines import METRIC_DEFINITIONS
    from vsent.ops import training_job
    from vsent.ops.hyperparameters import parse_hyperparameters
    from vsent.ops.sourcedir import MODEL_DIR

    launch = JobLaunch(StackTarget(region, stack, dry_run), bucket, role, tag, wait)
    with reported(OpsError, ValueError):
        hyperparameters = parse_hyperparameters(["--preset", preset, *ctx.args])
        bucket_name = launch.bucket_name()
        name = images.job_name("train")
        cache = s3_uri(bucket_name, s.CACHE_PREFIX)
        base = s3_uri(bucket_name, s.TRAINING_PREFIX)
        if distributed is None:
            gpus = images.gpus_per_instance(instance_type, region)
            distributed = instance_count * gpus > 1
        spec = training_job.TrainingJobSpec(
            job_name=name,
            role_arn=launch.role_arn(),
            tags=launch.tag_map(),
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
            hyperparameters=hyperparameters,
            instance_type=instance_type,
            instance_count=instance_count,
            volume_gb=volume_gb,
            spot=spot,
            max_runtime_s=max_runtime_s,
            max_wait_s=max_wait_s,
            distributed=distributed,
        )
    started = (
        f"started training job {name} on {instance_count} × {instance_type}\n"
        f"TensorBoard: tensorboard --logdir {spec.tensorboard_uri}"
    )
    request = training_job.build_request(spec)
    job = launch_job(
        launch, job_watch.TRAINING, name, request, {spec.source_uri: MODEL_DIR}, started
    )
    if job is None:
        return
    billable = job.get("BillableTimeInSeconds")
    if billable is not None:
        typer.echo(f"billable seconds: {billable} (of {job.get('TrainingTimeInSeconds')})")
    typer.echo(f"model artifact: {job['ModelArtifacts']['S3ModelArtifacts']}")
