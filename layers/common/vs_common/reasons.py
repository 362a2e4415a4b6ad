"""Why a job failed, for the person who uploaded the video: a stable code and a sentence.

The codes are the `failureCode` enum of the result JSON Schema (one list for the endpoint and
the functions). Sentences name the user's file; hosts, ports, temporary paths and library
messages go to the log only.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from enum import StrEnum

from vs_common.results import schema
from vs_common.videos import VIDEO_EXTENSIONS, container_of, extension, human_bytes


class FailureCode(StrEnum):
    """Stable failure codes; the first group are problems of the upload that the user can fix."""

    NOT_A_VIDEO = "not_a_video"
    EMPTY_FILE = "empty_file"
    TOO_LARGE = "too_large"
    TOO_LONG = "too_long"
    NO_VIDEO_STREAM = "no_video_stream"
    CORRUPT_VIDEO = "corrupt_video"
    NOT_FOUND = "not_found"
    BAD_TRANSCRIPT = "bad_transcript"
    BAD_REQUEST = "bad_request"
    MODEL_ERROR = "model_error"
    UNAVAILABLE = "unavailable"


# Codes whose sentence the model server writes itself (it knows durations, stream kinds, cues).
INPUT_CODES = frozenset(FailureCode) - {FailureCode.MODEL_ERROR, FailureCode.UNAVAILABLE}
MAX_MESSAGE_CHARS = 600

_WITH_MESSAGE = re.compile(r'with message "(?P<message>.*)"', re.DOTALL)
# What SageMaker and HTTP stacks say when the container could not be reached or answered late.
_UNAVAILABLE = re.compile(
    r"timed out|timeout|connection|unavailable|throttl|\((?:429|502|503|504)\)", re.IGNORECASE
)


def schema_codes() -> frozenset[str]:
    """The failure codes the result JSON Schema lists."""
    return frozenset(schema()["$defs"]["failureCode"]["enum"])


@dataclass(frozen=True)
class Failure:
    """A code and a sentence for the user."""

    code: FailureCode
    message: str


def upload_failure(filename: str, size: int, max_bytes: int) -> Failure | None:
    """Why an upload cannot be processed, judged by its name and size; None when it can."""
    if extension(filename) not in VIDEO_EXTENSIONS:
        return Failure(
            FailureCode.NOT_A_VIDEO,
            f"{filename!r} is not a video: its name does not end in a video extension "
            f"({', '.join(VIDEO_EXTENSIONS)}).",
        )
    if size <= 0:
        return Failure(FailureCode.EMPTY_FILE, f"{filename!r} is empty (0 bytes).")
    if size > max_bytes:
        return Failure(
            FailureCode.TOO_LARGE,
            f"{filename!r} is {human_bytes(size)}, over the limit of {human_bytes(max_bytes)}.",
        )
    return None


def content_failure(filename: str, head: bytes) -> Failure | None:
    """Why the first bytes of an upload are not a video container; None when they are."""
    if container_of(head) is not None:
        return None
    return Failure(
        FailureCode.NOT_A_VIDEO,
        f"{filename!r} is not a video: its content is not an MP4/MOV, Matroska/WebM or AVI file.",
    )


def service_failure(code: FailureCode, filename: str) -> Failure:
    """The sentence for a failure on the service's side (no detail of it reaches the user)."""
    if code is FailureCode.UNAVAILABLE:
        return Failure(
            code,
            f"{filename!r} could not be analysed because the model was unavailable; "
            "please upload it again later.",
        )
    return Failure(
        FailureCode.MODEL_ERROR,
        f"The model failed on {filename!r} because of an error in the service, not in the "
        "video; the operators have the details.",
    )


def inference_failure(reason: str | None, filename: str) -> Failure:
    """The failure of an asynchronous inference, from SageMaker's failure reason.

    SageMaker quotes the container's error body: 'ClientError: Received client error (400)
    from primary with message "{json}". See https://… for more information.' The model
    server's body carries a code and a sentence; anything else (timeouts, a container that
    could not be reached, an unexpected body) becomes model_error or unavailable.
    """
    text = (reason or "").strip()
    quoted = _WITH_MESSAGE.search(text)
    body = _json_object(quoted.group("message") if quoted else text)
    code = body.get("type") if body else None
    message = body.get("message") if body else None
    if code in INPUT_CODES and isinstance(message, str) and message.strip():
        return Failure(FailureCode(code), " ".join(message.split())[:MAX_MESSAGE_CHARS])
    if code == FailureCode.UNAVAILABLE or (code is None and _UNAVAILABLE.search(text)):
        return service_failure(FailureCode.UNAVAILABLE, filename)
    return service_failure(FailureCode.MODEL_ERROR, filename)


def _json_object(text: str) -> dict[str, object] | None:
    try:
        value = json.loads(text)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None
