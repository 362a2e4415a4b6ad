"""The request manifest the submit function writes for the endpoint (requests/{job_id}.json).

model/inference.py reads the same shape; the two are separate deployables, so each keeps its model.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field


class ManifestOptions(BaseModel):
    """Choices the endpoint honours; unset means the endpoint's own default."""

    segmentation: Literal["auto", "transcript", "asr", "vad", "fixed"] | None = None
    window_s: float | None = Field(default=None, ge=0.5, le=60.0)
    language: str | None = Field(default=None, min_length=2, max_length=16)


class Manifest(BaseModel):
    """What the endpoint reads: the video (and the version of it that submit checked), an
    optional transcript sidecar, the job and options."""

    video: str
    video_version_id: str | None = None
    transcript: str | None = None
    job_id: str
    options: ManifestOptions = Field(default_factory=ManifestOptions)

    def to_json(self) -> bytes:
        """The manifest as UTF-8 JSON, leaving out every field that is not set."""
        return self.model_dump_json(exclude_none=True).encode("utf-8")
