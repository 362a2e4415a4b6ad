"""Job ids and object keys: how one is derived from the other, and S3 URIs."""

from __future__ import annotations

import re
import unicodedata
import uuid
from pathlib import PurePosixPath
from urllib.parse import unquote_plus

# Fixed so that the same upload always maps to the same job id, on any machine.
JOB_NAMESPACE = uuid.UUID("6f1c3f0e-4b7a-5d2e-9c61-3a8e2b7d9f10")
_JOB_ID = re.compile(r"^[0-9a-f]{32}$")
MAX_FILENAME_CHARS = 255


class InvalidKey(ValueError):
    """A key, file name or S3 URI that cannot be used."""


def decode_event_key(raw: str) -> str:
    """The object key from an S3 event notification, where it is form-URL-encoded.

    S3 writes a space as '+', and a literal '+' as '%2B'; unicode arrives as UTF-8 %-escapes.
    """
    return unquote_plus(raw, encoding="utf-8", errors="strict")


def new_job_id() -> str:
    """A fresh random job id (32 lowercase hex digits)."""
    return uuid.uuid4().hex


def is_job_id(value: str) -> bool:
    """Whether `value` has the shape of a job id."""
    return bool(_JOB_ID.match(value))


def derived_job_id(bucket: str, key: str, version_token: str) -> str:
    """A deterministic job id for an object uploaded straight to S3.

    `version_token` is the version id, or the event sequencer when the bucket is unversioned,
    so that duplicate deliveries of one event agree and a re-upload makes a new job.
    """
    return uuid.uuid5(JOB_NAMESPACE, f"{bucket}\n{key}\n{version_token}").hex


def upload_key(upload_prefix: str, job_id: str, filename: str) -> str:
    """The key a presigned POST binds: `uploads/{job_id}/{file name}`."""
    return f"{upload_prefix}{job_id}/{filename}"


def job_id_from_key(upload_prefix: str, key: str) -> str | None:
    """The job id embedded in a key of the shape `uploads/{job_id}/{file name}`, if it has one."""
    if not key.startswith(upload_prefix):
        return None
    parts = key[len(upload_prefix) :].split("/")
    if len(parts) == 2 and is_job_id(parts[0]) and parts[1]:
        return parts[0]
    return None


def job_prefix(upload_prefix: str, job_id: str) -> str:
    """The folder that holds everything uploaded for an API job."""
    return f"{upload_prefix}{job_id}/"


def clean_filename(name: str) -> str:
    """A user's file name made safe for a key: the last path part, NFC, no control characters."""
    base = PurePosixPath(name.replace("\\", "/")).name.strip()
    base = unicodedata.normalize("NFC", base)
    if not base or base in {".", ".."}:
        raise InvalidKey("the file name is empty")
    if any(unicodedata.category(ch).startswith("C") for ch in base):
        raise InvalidKey("the file name contains control characters")
    if len(base) > MAX_FILENAME_CHARS:
        raise InvalidKey(f"the file name is longer than {MAX_FILENAME_CHARS} characters")
    return base


def filename_of(key: str) -> str:
    """The file name part of an object key."""
    return key.rsplit("/", 1)[-1]


def sidecar_keys(key: str, extensions: tuple[str, ...]) -> list[str]:
    """Keys of possible transcript sidecars of a video: the same stem with each extension."""
    path = PurePosixPath(key)
    stem = str(path.with_suffix("")) if path.suffix else key
    return [stem + ext for ext in extensions]


def s3_uri(bucket: str, key: str) -> str:
    """`s3://bucket/key`."""
    return f"s3://{bucket}/{key}"


def parse_s3_uri(uri: str) -> tuple[str, str]:
    """Split `s3://bucket/key` into bucket and key."""
    if not uri.startswith("s3://"):
        raise InvalidKey(f"not an S3 URI: {uri!r}")
    bucket, _, key = uri[len("s3://") :].partition("/")
    if not bucket or not key:
        raise InvalidKey(f"not an S3 URI with a bucket and a key: {uri!r}")
    return bucket, key


def is_under(uri: str, bucket: str, prefix: str) -> bool:
    """Whether `uri` names an object in `bucket` whose key starts with `prefix`."""
    try:
        uri_bucket, key = parse_s3_uri(uri)
    except InvalidKey:
        return False
    return uri_bucket == bucket and key.startswith(prefix) and len(key) > len(prefix)
