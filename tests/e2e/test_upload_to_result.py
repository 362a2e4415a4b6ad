"""The main job end to end: presigned upload with a sidecar → submit → endpoint → complete → API."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable
from importlib.resources import files
from pathlib import Path

import jsonschema
import pytest

from vs_model.transcripts import load_transcript
from vsent.client.api import ApiClient
from vsent.client.commands import submit_video
from vsent.client.plot import plot_timeline
from vsent.local_info import StackInfo

SCHEMA = json.loads(files("vs_common").joinpath("schemas/result.schema.json").read_text())


def test_speech_video_completes_with_sidecar_utterances(
    stack: StackInfo,
    ledger: Callable[[str], Counter[str]],
    client: ApiClient,
    sample: tuple[Path, Path],
    tmp_path: Path,
) -> None:
    video, transcript = sample
    created = submit_video(client, video, transcript, progress=False)
    seen: list[str] = []
    job = client.wait(
        created["job_id"], on_change=lambda j: seen.append(j["status"]), timeout_s=240
    )

    assert job["status"] == "COMPLETED", job.get("reason")
    assert seen[-1] == "COMPLETED"
    result = client.result(job)
    assert result is not None
    jsonschema.validate(result, SCHEMA)
    assert result["job_id"] == created["job_id"]
    assert result["segmentation"] == "transcript"
    cues = load_transcript(transcript)
    times = [t for u in result["utterances"] for t in (u["start_s"], u["end_s"])]
    assert times == pytest.approx([t for c in cues for t in (c.start_s, c.end_s)], abs=0.01)
    assert [u["text"] for u in result["utterances"]] == [c.text for c in cues]
    assert ledger("invoked")[created["job_id"]] == 1

    picture = plot_timeline(result, tmp_path / "timeline.png")
    assert picture.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
