"""Deleting everything a job put in the bucket: its video (and sidecar), manifest and output."""

from __future__ import annotations

from typing import Any

from vs_common.jobs import Job
from vs_common.keys import InvalidKey, job_prefix, parse_s3_uri
from vs_common.objects import delete_everything
from vs_common.settings import Settings


def _owned_keys(job: Job, bucket: str) -> set[str]:
    """Keys the pipeline wrote for the job in `bucket`: manifest, result, output or failure."""
    owned = [job.manifest_key, job.result_key]
    for uri in (job.output_location, job.failure_location):
        if uri:
            try:
                uri_bucket, key = parse_s3_uri(uri)
            except InvalidKey:
                continue
            if uri_bucket == bucket:
                owned.append(key)
    return {k for k in owned if k}


def delete_job_objects(s3: Any, settings: Settings, job: Job) -> int:
    """Delete every version of every object of `job`; returns how many versions went."""
    deleted = 0
    folder = job_prefix(settings.upload_prefix, job.job_id)
    if job.object_key.startswith(folder):
        # The job's folder also holds any transcript sidecar uploaded with the video.
        deleted += delete_everything(s3, settings.bucket, folder)
    else:
        deleted += delete_everything(s3, settings.bucket, job.object_key, exact=True)
    for key in _owned_keys(job, settings.bucket):
        deleted += delete_everything(s3, settings.bucket, key, exact=True)
    return deleted
