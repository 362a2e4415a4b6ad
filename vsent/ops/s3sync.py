"""Upload a folder to S3 with one progress bar, skipping objects already there with the same size.

Skipping same-size objects is what makes an interrupted upload resumable: run the command again
and only the files that did not make it are sent.
"""

from __future__ import annotations

import mimetypes
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from boto3.s3.transfer import TransferConfig
from tqdm import tqdm


@dataclass(frozen=True)
class UploadItem:
    """One local file and the key it goes to."""

    path: Path
    key: str
    size: int


@dataclass(frozen=True)
class UploadPlan:
    """The files to send and those skipped because S3 already holds them with the same size."""

    bucket: str
    prefix: str
    send: list[UploadItem]
    skip: list[UploadItem]

    @property
    def send_bytes(self) -> int:
        """Bytes still to upload."""
        return sum(item.size for item in self.send)

    def to_request(self) -> dict[str, Any]:
        """The PutObject requests the plan makes, as JSON-ready data."""
        return {
            "Bucket": self.bucket,
            "Prefix": self.prefix,
            "PutObject": [
                {
                    "Key": item.key,
                    "Body": str(item.path),
                    "ContentLength": item.size,
                    "ContentType": content_type(item.path),
                }
                for item in self.send
            ],
            "skipped_same_size": len(self.skip),
            "bytes": self.send_bytes,
        }


def content_type(path: Path) -> str:
    """MIME type of a file from its name (``application/octet-stream`` when unknown)."""
    return mimetypes.guess_type(path.name)[0] or "application/octet-stream"


def items_for(root: Path, files: list[Path], prefix: str) -> list[UploadItem]:
    """Upload items for ``files`` under ``root``, keyed ``prefix`` + their path relative to root."""
    prefix = prefix if not prefix or prefix.endswith("/") else prefix + "/"
    return [
        UploadItem(path, prefix + path.relative_to(root).as_posix(), path.stat().st_size)
        for path in files
    ]


def existing_sizes(s3: Any, bucket: str, prefix: str) -> dict[str, int]:
    """Size of every object under ``prefix`` (one paginated listing, not a HEAD per file)."""
    sizes: dict[str, int] = {}
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        for obj in page.get("Contents", []):
            sizes[obj["Key"]] = obj["Size"]
    return sizes


def plan_upload(
    items: list[UploadItem], bucket: str, prefix: str, existing: dict[str, int]
) -> UploadPlan:
    """Split ``items`` into those to send and those S3 already holds with the same size."""
    send = [i for i in items if existing.get(i.key) != i.size]
    skip = [i for i in items if existing.get(i.key) == i.size]
    return UploadPlan(bucket, prefix, send, skip)


def upload(s3: Any, plan: UploadPlan, *, workers: int = 8) -> int:
    """Send the plan's files in parallel with a byte progress bar; returns the number sent.

    Large files go up in multipart chunks (boto3's managed transfer); a failure stops the run
    with the error, and a rerun skips what already arrived.
    """
    config = TransferConfig(multipart_threshold=64 * 1024 * 1024, max_concurrency=4)
    with (
        tqdm(total=plan.send_bytes, unit="B", unit_scale=True, desc="upload") as bar,
        ThreadPoolExecutor(max_workers=max(1, workers)) as pool,
    ):

        def send(item: UploadItem) -> None:
            s3.upload_file(
                str(item.path),
                plan.bucket,
                item.key,
                ExtraArgs={"ContentType": content_type(item.path)},
                Callback=bar.update,
                Config=config,
            )

        for _ in pool.map(send, plan.send):
            pass
    return len(plan.send)
