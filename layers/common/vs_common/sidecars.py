"""Transcript sidecars: the file beside a video, with its stem, that submit hands the endpoint."""

from __future__ import annotations

from typing import Any

from vs_common.keys import s3_uri, sidecar_keys
from vs_common.videos import TRANSCRIPT_EXTENSIONS, extension

MAX_TRANSCRIPT_BYTES = 10 * 1024 * 1024
# The type each sidecar is stored with; the presigned POST binds exactly this one.
TRANSCRIPT_CONTENT_TYPES = {
    ".srt": "application/x-subrip",
    ".vtt": "text/vtt",
    ".json": "application/json",
}


def transcript_key(video_key: str, transcript_filename: str) -> str:
    """Where submit looks for the video's sidecar: its stem with the transcript's extension."""
    return sidecar_keys(video_key, (extension(transcript_filename),))[0]


def find_transcript(s3: Any, bucket: str, video_key: str) -> str | None:
    """The S3 URI of the first sidecar (in extension order) that exists beside the video, or None.

    One listing of the video's stem rather than a HEAD per candidate: a HEAD of a missing key
    answers 403, not 404, to a role whose ListBucket is limited to a prefix.
    """
    candidates = sidecar_keys(video_key, TRANSCRIPT_EXTENSIONS)
    # Every candidate is the video's stem plus an extension.
    stem = candidates[0].removesuffix(TRANSCRIPT_EXTENSIONS[0])
    listing = s3.list_objects_v2(Bucket=bucket, Prefix=stem, MaxKeys=1000)
    present = {entry["Key"] for entry in listing.get("Contents", [])}
    for candidate in candidates:
        if candidate in present:
            return s3_uri(bucket, candidate)
    return None
