"""Why an inference failed, for the person who uploaded the video: a status, a code, a sentence.

The codes are the `failureCode` enum of the result JSON Schema (layers/common/vs_common/
schemas/result.schema.json; a model-tier test keeps the two lists equal). The model server
answers failures as ``{"code": status, "type": code, "message": sentence}``; SageMaker quotes
that body in the failure reason, and the complete function takes code and sentence from it.
Sentences name the user's file, never the temporary copy the model read, and never what the
decoding library said: that goes to the server's log.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from http import HTTPStatus
from pathlib import PurePosixPath

from vs_model.predictor import InvalidInput
from vs_model.segmentation import SegmentationError
from vs_model.transcripts import TranscriptError
from vs_model.video_file import MediaError

FAILURE_CODES = (
    "not_a_video",
    "empty_file",
    "too_large",
    "too_long",
    "no_video_stream",
    "corrupt_video",
    "not_found",
    "bad_transcript",
    "bad_request",
    "model_error",
    "unavailable",
)
UPLOADED = "the uploaded video"
# MediaError messages open with what went wrong; the rest names the temporary file.
_MEDIA_CODES = (
    ("video file not found", "not_found"),
    ("not a video file", "not_a_video"),
    ("no video stream", "no_video_stream"),
    ("corrupt or truncated video", "corrupt_video"),
)


@dataclass(frozen=True)
class FailureReport:
    """An HTTP status, a failure code and a sentence naming the user's file."""

    status: HTTPStatus
    code: str
    message: str

    def body(self) -> dict[str, object]:
        """The error body (TorchServe's shape, with the failure code as its type)."""
        return {"code": int(self.status), "type": self.code, "message": self.message}


def request_filename(body: bytes, content_type: str) -> str:
    """The name of the user's file a request is about (the manifest's video), for sentences."""
    if content_type.split(";", 1)[0].strip().lower() != "application/json":
        return UPLOADED
    try:
        video = json.loads(body).get("video")
    except (ValueError, AttributeError):
        return UPLOADED
    name = PurePosixPath(video).name if isinstance(video, str) else ""
    return name or UPLOADED


def _media_sentence(code: str, name: str, detail: str) -> str:
    if code == "not_found":
        return f"{name} was deleted before it could be analysed."
    if code == "no_video_stream":
        audio = "audio file" in detail
        return f"{name} has no video stream" + (": it holds only audio." if audio else ".")
    if code == "empty_file":
        return f"{name} is empty (0 bytes)."
    if code == "not_a_video":
        what = "a still image" if "still image" in detail else "not readable as video"
        return f"{name} is not a video: it is {what}."
    return f"{name} is corrupt or truncated: its video could not be decoded."


def _media_code(error: MediaError) -> str:
    text = str(error)
    if text.startswith("not a video file") and text.endswith("is empty"):
        return "empty_file"
    return next((code for prefix, code in _MEDIA_CODES if text.startswith(prefix)), "corrupt_video")


def report(exc: BaseException, filename: str) -> FailureReport:
    """The status, code and sentence for an exception raised while serving `filename`."""
    name = repr(filename) if filename != UPLOADED else UPLOADED
    media = exc if isinstance(exc, MediaError) else exc.__cause__
    if isinstance(media, MediaError):
        code = _media_code(media)
        return FailureReport(HTTPStatus.BAD_REQUEST, code, _media_sentence(code, name, str(media)))
    if not isinstance(exc, InvalidInput):
        return FailureReport(
            HTTPStatus.INTERNAL_SERVER_ERROR,
            "model_error",
            f"The model failed on {name} because of an error in the service, not in the video.",
        )
    code = exc.code
    if isinstance(exc.__cause__, TranscriptError):
        code = "bad_transcript"
    elif isinstance(exc.__cause__, SegmentationError):
        code = "bad_request"
    sentence = f"{name[0].upper()}{name[1:]}: {exc.reason.rstrip('.')}."
    return FailureReport(HTTPStatus(exc.status), code, sentence)
