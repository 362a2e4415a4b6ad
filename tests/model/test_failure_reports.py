"""Failure reports of the model server: a code from the schema and a sentence naming the file."""

from __future__ import annotations

import json
from pathlib import Path

import av
import numpy as np
import pytest

from vs_model.failures import FAILURE_CODES, UPLOADED, report, request_filename
from vs_model.predictor import InvalidInput
from vs_model.transcripts import TranscriptError
from vs_model.video_file import MediaError
from vs_model.video_probe import probe

FAKE_MP4 = b"\x00\x00\x00\x18ftypisom\x00\x00\x02\x00isomiso2" + bytes(range(256)) * 64


def _audio_only(path: Path) -> Path:
    with av.open(str(path), "w") as container:
        stream = container.add_stream("aac", rate=16000)
        stream.layout = "mono"
        samples = np.zeros((1, 16000), dtype=np.float32)
        frame = av.AudioFrame.from_ndarray(samples, format="fltp", layout="mono")
        frame.sample_rate = 16000
        for packet in stream.encode(frame):
            container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)
    return path


def _media_error(path: Path) -> MediaError:
    with pytest.raises(MediaError) as caught:
        probe(path)
    return caught.value


def test_the_codes_are_the_schemas(repo_root: Path) -> None:
    schema = json.loads(
        (repo_root / "layers/common/vs_common/schemas/result.schema.json").read_text()
    )
    assert list(FAILURE_CODES) == schema["$defs"]["failureCode"]["enum"]


@pytest.mark.parametrize(
    ("write", "code", "sentence"),
    [
        (lambda p: p.write_bytes(b""), "empty_file", "'talk.mp4' is empty (0 bytes)."),
        (
            lambda p: p.write_bytes(b"just some notes\n" * 20),
            "not_a_video",
            "'talk.mp4' is not a video: it is not readable as video.",
        ),
        (
            lambda p: p.write_bytes(FAKE_MP4),
            "corrupt_video",
            "'talk.mp4' is corrupt or truncated: its video could not be decoded.",
        ),
        (_audio_only, "no_video_stream", "'talk.mp4' has no video stream: it holds only audio."),
    ],
)
def test_media_errors_become_sentences_about_the_users_file(
    tmp_path: Path, write, code: str, sentence: str
) -> None:
    temporary = tmp_path / "vs-video-bx8dwjsh.mp4"
    write(temporary)
    error = _media_error(temporary)
    wrapped = InvalidInput(str(error))
    wrapped.__cause__ = error

    for exc in (error, wrapped):
        failure = report(exc, "talk.mp4")
        assert (failure.status, failure.code, failure.message) == (400, code, sentence)
        assert "vs-video-" not in failure.message


def test_input_errors_keep_their_code_and_read_as_a_sentence() -> None:
    too_long = InvalidInput(
        "the video lasts 700.0 s, longer than the 600 s this service accepts", code="too_long"
    )
    assert report(too_long, "talk.mp4").body() == {
        "code": 400,
        "type": "too_long",
        "message": "'talk.mp4': the video lasts 700.0 s, longer than the 600 s this service"
        " accepts.",
    }
    transcript = InvalidInput("transcript 'talk.srt': SRT line 2 is not a timing")
    transcript.__cause__ = TranscriptError("SRT line 2 is not a timing")
    assert report(transcript, "talk.mp4").code == "bad_transcript"
    media_type = InvalidInput("unsupported content type 'text/csv'", status=415)
    assert report(media_type, UPLOADED).message.startswith("The uploaded video: unsupported")
    assert report(media_type, UPLOADED).status == 415


def test_anything_else_is_a_model_error_without_details() -> None:
    failure = report(RuntimeError("CUDA error at /opt/ml/model/code/x.py:12"), "talk.mp4")
    assert failure.status == 500
    assert failure.code == "model_error"
    assert "CUDA" not in failure.message and "/opt/ml" not in failure.message


def test_the_users_file_name_comes_from_the_manifest() -> None:
    body = json.dumps({"video": "s3://bucket/uploads/j1/my talk.mp4"}).encode()
    assert request_filename(body, "application/json") == "my talk.mp4"
    assert request_filename(b"{broken", "application/json") == UPLOADED
    assert request_filename(b"\x00\x00", "video/mp4") == UPLOADED
