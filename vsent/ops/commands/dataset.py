"""``vsent dataset upload|cache``: the MELD release in S3 and its feature cache."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from vsent.errors import fail, reported
from vsent.ops import aws, job_watch
from vsent.ops import settings as s
from vsent.ops.aws import OpsError, s3_uri
from vsent.ops.commands.common import JobLaunch, StackTarget, launch_job, print_json

app = typer.Typer(
    name="dataset", help="The MELD dataset in S3 and its feature cache.", no_args_is_help=True
)


@app.command("upload")
def upload(
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
        print_json(
            {
                "download": {"url": source, "to": str(workdir / Path(source).name)},
                "unpack": [str(workdir / "unpacked"), *meld_release.NESTED_ARCHIVES],
                "check": "three CSVs, three split folders, missing and unreadable clips",
                "upload": {"Bucket": bucket, "Prefix": prefix, "skip": "objects of the same size"},
            }
        )
        return
    with reported(meld_release.ReleaseError, OSError):
        root = meld_release.prepare_source(source, workdir)
    report = meld_release.check_release(root, workers=workers, decode=check_clips)
    for line in report.lines():
        typer.echo(line, err=dry_run)
    if not report.ok:
        raise fail("not a complete MELD release; nothing uploaded")
    items = s3sync.items_for(root, meld_release.release_files(root), prefix)
    if dry_run:
        print_json(s3sync.plan_upload(items, bucket, prefix, {}).to_request())
        return
    s3 = aws.client(region, "s3")
    plan = s3sync.plan_upload(items, bucket, prefix, s3sync.existing_sizes(s3, bucket, prefix))
    typer.echo(
        f"{len(plan.send)} files ({plan.send_bytes / 1e9:.2f} GB) to send, "
        f"{len(plan.skip)} already in s3://{bucket}/{prefix}"
    )
    sent = s3sync.upload(s3, plan, workers=workers)
    typer.echo(f"uploaded {sent} files to s3://{bucket}/{prefix}")


@app.command("cache")
def cache(
    bucket: s.Bucket = None,
    role: s.RoleArn = None,
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
    tag: s.Tags = [],  # noqa: B006 (typer copies list defaults)
    wait: s.Wait = True,
    region: s.Region = s.DEFAULT_REGION,
    stack: s.StackName = s.DEFAULT_STACK,
    dry_run: s.DryRun = False,
) -> None:
    """Build the feature cache in AWS: a SageMaker Processing job sharded over several instances."""
    from vsent.ops import images, processing_job
    from vsent.ops.sourcedir import MODEL_DIR

    launch = JobLaunch(StackTarget(region, stack, dry_run), bucket, role, tag, wait)
    with reported(OpsError, ValueError):
        bucket_name = launch.bucket_name()
        name = images.job_name("cache")
        spec = processing_job.CacheJobSpec(
            job_name=name,
            role_arn=launch.role_arn(),
            tags=launch.tag_map(),
            image_uri=images.pytorch_training_image(region, instance_type),
            bucket=bucket_name,
            dataset_prefix=dataset_prefix,
            cache_prefix=cache_prefix,
            source_uri=s3_uri(bucket_name, s.TRAINING_PREFIX, "source", name, "sourcedir.tar.gz"),
            entry_uri=s3_uri(bucket_name, s.TRAINING_PREFIX, "source", name, "cache_entry.py"),
            instance_type=instance_type,
            instance_count=instance_count,
            volume_gb=volume_gb,
            max_runtime_s=max_runtime_s,
            preset=preset,
            text_model=text_model,
        )
    uploads = {spec.source_uri: MODEL_DIR, spec.entry_uri: processing_job.ENTRY_SCRIPT}
    started = f"started processing job {name}; caches go to {spec.output_uri}"
    request = processing_job.build_request(spec)
    if launch_job(launch, job_watch.PROCESSING, name, request, uploads, started) is not None:
        typer.echo(f"feature cache: {spec.output_uri}")
