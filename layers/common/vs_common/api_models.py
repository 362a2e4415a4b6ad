"""What the API reads and answers: the POST /uploads body and the view of a job."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from vs_common.jobs import Job, JobStatus
from vs_common.keys import InvalidKey, clean_filename
from vs_common.presign import presigned_get
from vs_common.settings import Settings
from vs_common.videos import (
    TRANSCRIPT_EXTENSIONS,
    VIDEO_CONTENT_TYPES,
    extension,
    name_problem,
)


def _clean(filename: str) -> str:
    try:
        return clean_filename(filename)
    except InvalidKey as exc:
        raise ValueError(str(exc)) from exc


class UploadRequest(BaseModel):
    """Body of POST /uploads."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    filename: str = Field(min_length=1, max_length=1024)
    content_type: str = Field(min_length=1, max_length=255)
    size_bytes: int | None = Field(default=None, ge=1)
    transcript_filename: str | None = Field(default=None, min_length=1, max_length=1024)

    @field_validator("filename")
    @classmethod
    def _filename_is_video(cls, value: str) -> str:
        name = _clean(value)
        problem = name_problem(name)
        if problem:
            raise ValueError(problem)
        return name

    @field_validator("transcript_filename")
    @classmethod
    def _filename_is_transcript(cls, value: str | None) -> str | None:
        if value is None:
            return None
        name = _clean(value)
        if extension(name) not in TRANSCRIPT_EXTENSIONS:
            raise ValueError(
                f"not a transcript: {name!r} does not end in a transcript extension "
                f"({', '.join(TRANSCRIPT_EXTENSIONS)})"
            )
        return name

    @field_validator("content_type")
    @classmethod
    def _content_type_is_video(cls, value: str) -> str:
        # Exact members only: the value goes into the POST policy and the row, so parameters,
        # unknown subtypes and control characters (header injection) never get that far.
        canonical = value.lower()
        if canonical not in VIDEO_CONTENT_TYPES:
            raise ValueError(
                f"content_type must be one of {', '.join(sorted(VIDEO_CONTENT_TYPES))}, "
                f"not {value!r}"
            )
        return canonical


class JobView(BaseModel):
    """What a caller sees of a job.

    The optional fields are only present when they apply (a FAILED job's reason, a COMPLETED
    job's result or its link), so `body()` leaves out the ones never set rather than sending nulls.
    """

    job_id: str
    status: JobStatus
    key: str
    filename: str
    content_type: str | None
    size_bytes: int | None
    created_at: str
    updated_at: str
    reason: str | None = None
    reason_code: str | None = None
    result: dict[str, Any] | None = None
    result_url: str | None = None
    result_url_expires_in: int | None = None
    video_url: str | None = None

    @classmethod
    def summary(cls, job: Job) -> JobView:
        """The job without its result, as a listing shows it."""
        fields: dict[str, Any] = {
            "job_id": job.job_id,
            "status": job.status,
            "key": job.object_key,
            "filename": job.filename,
            "content_type": job.content_type,
            "size_bytes": job.size_bytes,
            "created_at": job.created_at,
            "updated_at": job.updated_at,
        }
        if job.status is JobStatus.FAILED:
            fields["reason"] = job.reason
            fields["reason_code"] = job.reason_code
        return cls(**fields)

    @classmethod
    def detail(cls, job: Job, s3: Any, settings: Settings) -> JobView:
        """The job with its result (inline, or a presigned link when the row only has its key),
        and a presigned link to its video once uploaded, for the web page's player."""
        view = cls.summary(job)
        if job.status is JobStatus.AWAITING_UPLOAD:
            return view
        view = view.model_copy(update={"video_url": presigned_get(s3, settings, job.object_key)})
        if job.status is not JobStatus.COMPLETED:
            return view
        if job.result_json:
            return view.model_copy(update={"result": job.result})
        if job.result_key:
            return view.model_copy(
                update={
                    "result_url": presigned_get(s3, settings, job.result_key),
                    "result_url_expires_in": settings.upload_url_expires_s,
                }
            )
        return view

    def body(self) -> dict[str, Any]:
        """The JSON body of this view."""
        return self.model_dump(mode="json", exclude_unset=True)
