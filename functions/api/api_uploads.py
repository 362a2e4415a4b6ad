"""POST /uploads: a new job awaiting its video, and the presigned POSTs that upload it."""

from typing import Any

from api_errors import ApiError

from vs_common.api_models import UploadRequest
from vs_common.jobs import Job, JobStatus, utc_now
from vs_common.keys import new_job_id, upload_key
from vs_common.presign import transcript_post, video_post
from vs_common.settings import Settings
from vs_common.sidecars import transcript_key
from vs_common.store import JobStore


def new_upload(
    store: JobStore, s3: Any, settings: Settings, owner: str, request: UploadRequest
) -> dict[str, Any]:
    """Store the owner's new job; its id, object key and a presigned POST that only accepts
    its video, with `transcript_filename` also one for its sidecar. ApiError if too large."""
    if request.size_bytes is not None and request.size_bytes > settings.max_video_bytes:
        raise ApiError(
            422,
            "too_large",
            f"size_bytes {request.size_bytes} is over the limit of {settings.max_video_bytes}",
        )
    job_id = new_job_id()
    key = upload_key(settings.upload_prefix, job_id, request.filename)
    now = utc_now()
    store.create(
        Job(
            job_id=job_id,
            owner=owner,
            status=JobStatus.AWAITING_UPLOAD,
            created_at=now,
            updated_at=now,
            object_key=key,
            filename=request.filename,
            content_type=request.content_type,
            size_bytes=request.size_bytes,
            expires_at=store.expiry(),
        )
    )
    body: dict[str, Any] = {
        "job_id": job_id,
        "key": key,
        "upload": video_post(s3, settings, key, owner, request.content_type),
        "expires_in": settings.upload_url_expires_s,
    }
    if request.transcript_filename is not None:
        sidecar = transcript_key(key, request.transcript_filename)
        body["transcript_upload"] = transcript_post(s3, settings, sidecar, owner)
    return body
