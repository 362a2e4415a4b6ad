"""The request manifest the submit function writes for the endpoint (requests/{job_id}.json)."""

from __future__ import annotations

from pydantic import BaseModel, Field


class ManifestOptions(BaseModel):
    """Per-job settings the endpoint honours."""

    job_id: str
    filename: str
    max_video_seconds: int = Field(gt=0)


class Manifest(BaseModel):
    """What the endpoint reads: the video, an optional transcript sidecar, and options."""

    video: str
    transcript: str | None = None
    options: ManifestOptions

    def to_json(self) -> bytes:
        """The manifest as UTF-8 JSON, without a transcript field when there is none."""
        return self.model_dump_json(exclude_none=True).encode("utf-8")
