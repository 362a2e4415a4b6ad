"""Presigned S3 requests the API hands out: POSTs that accept one upload, GETs of results."""

from __future__ import annotations

from typing import Any

from vs_common.settings import Settings
from vs_common.sidecars import MAX_TRANSCRIPT_BYTES, TRANSCRIPT_CONTENT_TYPES
from vs_common.videos import extension


def presigned_get(s3: Any, settings: Settings, key: str) -> str:
    """A URL that downloads `key` from the stack's bucket until the upload URL expiry."""
    return s3.generate_presigned_url(
        "get_object",
        Params={"Bucket": settings.bucket, "Key": key},
        ExpiresIn=settings.upload_url_expires_s,
    )


def presigned_post(
    s3: Any,
    settings: Settings,
    key: str,
    owner: str,
    content_type: str,
    max_bytes: int,
    type_condition: list[str] | dict[str, str],
) -> dict[str, Any]:
    """A presigned POST for exactly `key`, bound to a size range, a type and the owner."""
    post = s3.generate_presigned_post(
        Bucket=settings.bucket,
        Key=key,
        Fields={"Content-Type": content_type, "x-amz-meta-owner": owner},
        Conditions=[
            ["content-length-range", 1, max_bytes],
            type_condition,
            {"x-amz-meta-owner": owner},
        ],
        ExpiresIn=settings.upload_url_expires_s,
    )
    return {"url": post["url"], "fields": post["fields"]}


def video_post(
    s3: Any, settings: Settings, key: str, owner: str, content_type: str
) -> dict[str, Any]:
    """A presigned POST for a job's video: exactly `content_type`, up to the video size limit."""
    return presigned_post(
        s3,
        settings,
        key,
        owner,
        content_type,
        settings.max_video_bytes,
        {"Content-Type": content_type},
    )


def transcript_post(s3: Any, settings: Settings, key: str, owner: str) -> dict[str, Any]:
    """A presigned POST (url, fields, key) for the sidecar at `key`, bound to its one type."""
    content_type = TRANSCRIPT_CONTENT_TYPES[extension(key)]
    post = presigned_post(
        s3,
        settings,
        key,
        owner,
        content_type,
        MAX_TRANSCRIPT_BYTES,
        {"Content-Type": content_type},
    )
    return {**post, "key": key}
