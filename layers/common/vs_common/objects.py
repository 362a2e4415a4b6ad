"""Small S3 operations the functions share: ranged reads, existence checks, full deletes."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from botocore.exceptions import ClientError

_MISSING = {"404", "NoSuchKey", "NoSuchVersion", "NotFound"}
_DELETE_BATCH = 1000


def is_missing(exc: ClientError) -> bool:
    """Whether an S3 error says the object (or version) does not exist."""
    return exc.response.get("Error", {}).get("Code") in _MISSING


def _forbidden(exc: ClientError) -> bool:
    error = exc.response.get("Error", {})
    return error.get("Code") in {"403", "AccessDenied", "Forbidden"}


def _listed(s3: Any, bucket: str, key: str) -> bool:
    listing = s3.list_objects_v2(Bucket=bucket, Prefix=key, MaxKeys=1)
    return any(entry["Key"] == key for entry in listing.get("Contents", []))


def head(s3: Any, bucket: str, key: str, version_id: str | None = None) -> dict[str, Any] | None:
    """The object's metadata, or None when it does not exist.

    S3 answers a HEAD of a missing key with 403 to a role whose ListBucket is limited to
    prefixes; a listing of exactly that key (which such a role may make) tells the two apart.
    """
    kwargs: dict[str, Any] = {"Bucket": bucket, "Key": key}
    if version_id:
        kwargs["VersionId"] = version_id
    try:
        return s3.head_object(**kwargs)
    except ClientError as exc:
        if is_missing(exc) or (_forbidden(exc) and not _listed(s3, bucket, key)):
            return None
        raise


def read_head(s3: Any, bucket: str, key: str, n: int, version_id: str | None = None) -> bytes:
    """The first `n` bytes of a non-empty object, fetched with a ranged GET."""
    kwargs: dict[str, Any] = {"Bucket": bucket, "Key": key, "Range": f"bytes=0-{n - 1}"}
    if version_id:
        kwargs["VersionId"] = version_id
    body = s3.get_object(**kwargs)["Body"]
    try:
        return body.read(n)
    finally:
        body.close()


def _versions(s3: Any, bucket: str, prefix: str) -> Iterator[dict[str, str]]:
    paginator = s3.get_paginator("list_object_versions")
    for page in paginator.paginate(Bucket=bucket, Prefix=prefix):
        for entry in page.get("Versions", []) + page.get("DeleteMarkers", []):
            yield {"Key": entry["Key"], "VersionId": entry["VersionId"]}


def delete_everything(s3: Any, bucket: str, prefix: str, exact: bool = False) -> int:
    """Delete every version and delete marker under `prefix` (only of that key when `exact`).

    Returns how many were deleted. On a versioned bucket a plain delete would only hide the
    object, which is not what a user asking for deletion means.
    """
    batch: list[dict[str, str]] = []
    deleted = 0

    def flush() -> None:
        nonlocal deleted
        if not batch:
            return
        response = s3.delete_objects(Bucket=bucket, Delete={"Objects": batch, "Quiet": True})
        errors = response.get("Errors", [])
        if errors:
            first = errors[0]
            raise RuntimeError(f"could not delete s3://{bucket}/{first['Key']}: {first['Message']}")
        deleted += len(batch)
        batch.clear()

    for version in _versions(s3, bucket, prefix):
        if exact and version["Key"] != prefix:
            continue
        batch.append(version)
        if len(batch) == _DELETE_BATCH:
            flush()
    flush()
    return deleted
