"""The web page's config.json: what the page is told at run time (no secrets), the same
document on AWS (written by the site publisher) and locally (served by `vsent up`)."""

from __future__ import annotations

from typing import Any

from vs_common.sidecars import MAX_TRANSCRIPT_BYTES
from vs_common.videos import VIDEO_EXTENSIONS

# JSON sidecars exist for scripts; the page offers the subtitle formats people have.
PAGE_TRANSCRIPT_EXTENSIONS = (".srt", ".vtt")


def page_config(
    api_url: str,
    region: str,
    cognito_endpoint: str,
    user_pool_id: str,
    client_id: str,
    max_video_bytes: int,
    max_video_seconds: int,
    local: bool = False,
) -> dict[str, Any]:
    """config.json: the API, the user pool, and the upload limits the page checks first."""
    return {
        "apiUrl": api_url.rstrip("/"),
        "region": region,
        "cognito": {
            "endpoint": cognito_endpoint,
            "userPoolId": user_pool_id,
            "clientId": client_id,
        },
        "limits": {
            "maxVideoBytes": max_video_bytes,
            "maxVideoSeconds": max_video_seconds,
            "maxTranscriptBytes": MAX_TRANSCRIPT_BYTES,
            "videoExtensions": list(VIDEO_EXTENSIONS),
            "transcriptExtensions": list(PAGE_TRANSCRIPT_EXTENSIONS),
        },
        "local": local,
    }
