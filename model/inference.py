"""SageMaker PyTorch inference entry point: model_fn, input_fn, predict_fn, output_fn.

Requests are either a JSON manifest naming the video (and optionally a transcript sidecar) in S3,
as the submit function writes it for asynchronous inference, or the raw bytes of a video. Every
error a user can fix is raised with a message starting "invalid input:"; the asynchronous endpoint
stores that message as the failure reason the complete function shows to the user.
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Any, Literal
from urllib.parse import urlparse

import boto3
from botocore.exceptions import BotoCoreError, ClientError
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from vs_model.predictor import InvalidInput, PredictionResult, Predictor
from vs_model.segmentation import SegmentationOptions
from vs_model.transcripts import TranscriptError, Utterance, parse_transcript

JSON = "application/json"
RAW_VIDEO_TYPES = ("video/", "application/octet-stream")


class RequestOptions(BaseModel):
    """Per-request choices a manifest may carry under "options"."""

    model_config = ConfigDict(extra="forbid")

    segmentation: Literal["auto", "transcript", "asr", "vad", "fixed"] = "auto"
    window_s: float = Field(5.0, ge=0.5, le=60.0)
    language: str | None = Field(None, min_length=2, max_length=16)

    def segmentation_options(self) -> SegmentationOptions:
        """The segmentation settings these options ask for."""
        return SegmentationOptions(
            method=self.segmentation, fixed_window_s=self.window_s, language=self.language
        )


class Manifest(BaseModel):
    """The request manifest: ``{"video": "s3://…", "transcript": "s3://…", "options": {…}}``."""

    model_config = ConfigDict(extra="forbid")

    video: str = Field(pattern=r"^s3://[^/]+/.+")
    # The object version the submit function checked; the endpoint reads exactly that one.
    video_version_id: str | None = Field(None, min_length=1, max_length=1024)
    transcript: str | None = Field(None, pattern=r"^s3://[^/]+/.+")
    options: RequestOptions = Field(default_factory=RequestOptions)
    job_id: str | None = Field(None, min_length=1, max_length=128)


@dataclass(frozen=True)
class VideoRequest:
    """A parsed request: where the video is (S3 URI or bytes), its transcript, and its options."""

    options: SegmentationOptions
    video_uri: str | None = None
    video_version_id: str | None = None
    video_bytes: bytes | None = None
    transcript: list[Utterance] | None = None
    job_id: str | None = None


def _s3_location(uri: str) -> tuple[str, str]:
    parsed = urlparse(uri)
    return parsed.netloc, parsed.path.lstrip("/")


def _s3() -> Any:
    # boto3 takes AWS_ENDPOINT_URL from the environment itself, which points it at moto locally.
    return boto3.client("s3")


def _s3_failure(uri: str, exc: Exception) -> Exception:
    code = exc.response.get("Error", {}).get("Code", "") if isinstance(exc, ClientError) else ""
    if code in ("404", "NoSuchKey", "NoSuchBucket", "NotFound"):
        return InvalidInput(f"{uri} does not exist", code="not_found")
    return RuntimeError(f"cannot read {uri}: {exc}")


def _read_transcript(uri: str) -> list[Utterance]:
    bucket, key = _s3_location(uri)
    try:
        body = _s3().get_object(Bucket=bucket, Key=key)["Body"].read()
    except (ClientError, BotoCoreError) as exc:
        raise _s3_failure(uri, exc) from exc
    try:
        return parse_transcript(body, PurePosixPath(key).name)
    except TranscriptError as exc:
        raise InvalidInput(str(exc)) from exc


def _manifest(body: bytes | str) -> VideoRequest:
    try:
        manifest = Manifest.model_validate_json(body)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in error['loc']) or 'manifest'}: {error['msg']}"
            for error in exc.errors()
        )
        raise InvalidInput(f"bad manifest ({problems})") from None
    return VideoRequest(
        options=manifest.options.segmentation_options(),
        video_uri=manifest.video,
        video_version_id=manifest.video_version_id,
        transcript=_read_transcript(manifest.transcript) if manifest.transcript else None,
        job_id=manifest.job_id,
    )


def model_fn(model_dir: str) -> Predictor:
    """Load the model (and the speech recognizer, when one is configured) once per worker."""
    return Predictor(model_dir)


def input_fn(request_body: bytes | str, request_content_type: str) -> VideoRequest:
    """Parse a manifest (application/json) or take the raw bytes of a video (video/*)."""
    content_type = (request_content_type or "").split(";", 1)[0].strip().lower()
    if content_type == JSON:
        return _manifest(request_body)
    if content_type.startswith(RAW_VIDEO_TYPES):
        data = request_body.encode() if isinstance(request_body, str) else bytes(request_body)
        if not data:
            raise InvalidInput("the request body is empty")
        return VideoRequest(options=SegmentationOptions(), video_bytes=data)
    raise InvalidInput(
        f"unsupported content type {request_content_type!r}: send application/json (a manifest"
        " naming the video in S3) or the video itself as video/*",
        status=415,
    )


def predict_fn(request: VideoRequest, model: Predictor) -> PredictionResult:
    """Score the video; its bytes pass through a temporary file that is always removed."""
    name = PurePosixPath(_s3_location(request.video_uri)[1]).name if request.video_uri else ""
    descriptor, path = tempfile.mkstemp(prefix="vs-video-", suffix=PurePosixPath(name).suffix)
    try:
        with os.fdopen(descriptor, "wb") as handle:
            if request.video_bytes is not None:
                handle.write(request.video_bytes)
            else:
                bucket, key = _s3_location(request.video_uri or "")
                version = (
                    {"VersionId": request.video_version_id} if request.video_version_id else None
                )
                try:
                    _s3().download_fileobj(bucket, key, handle, ExtraArgs=version)
                except (ClientError, BotoCoreError) as exc:
                    raise _s3_failure(request.video_uri or "", exc) from exc
        return model.predict(path, request.transcript, request.options, request.job_id)
    finally:
        os.unlink(path)


def output_fn(prediction: PredictionResult, accept: str | None) -> str:
    """The result document as JSON."""
    wanted = {part.split(";", 1)[0].strip().lower() for part in (accept or JSON).split(",")}
    if not wanted & {JSON, "*/*", "application/*", ""}:
        raise InvalidInput(
            f"unsupported accept type {accept!r}: results are application/json", status=406
        )
    return json.dumps(prediction.to_dict(), ensure_ascii=False)
