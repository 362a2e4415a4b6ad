"""A stopped or crashed local stack comes back with its data, and queued work finishes."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import pytest

from vsent.client.api import ApiClient
from vsent.client.commands import submit_video
from vsent.client.settings import local_settings
from vsent.local.async_endpoint import Ledger
from vsent.local.moto_state import SNAPSHOT_FILE
from vsent.local.process import StackProcess
from vsent.local.sample import sample_copies
from vsent.local_info import StackInfo

QUEUED_AT_STOP = 6


def _client(info: StackInfo) -> ApiClient:
    settings = local_settings(info)
    return ApiClient(settings.api_url, settings.api_key)


def _stable(job: dict[str, object]) -> dict[str, object]:
    """A job view without its presigned links, which are signed anew on every read."""
    return {k: v for k, v in job.items() if not k.endswith(("_url", "_expires_in"))}


@pytest.fixture(scope="module")
def clips(tmp_path_factory: pytest.TempPathFactory) -> list[tuple[Path, Path]]:
    return sample_copies(tmp_path_factory.mktemp("clips"), QUEUED_AT_STOP + 1)


def test_down_and_up_keep_everything_and_finish_queued_work(
    tiny_model: Path, tmp_path: Path, clips: list[tuple[Path, Path]]
) -> None:
    state = tmp_path / "state"
    first = StackProcess(tiny_model, state)
    info = first.start()
    client = _client(info)
    done = submit_video(client, *clips[0], progress=False)
    before = client.wait(done["job_id"], timeout_s=120)
    assert before["status"] == "COMPLETED"
    queued = [submit_video(client, *pair, progress=False)["job_id"] for pair in clips[1:]]
    first.stop()
    invoked_at_stop = Ledger(info.ledger).counts("invoked")
    unfinished = [job for job in queued if invoked_at_stop[job] == 0]

    second = StackProcess(tiny_model, state)
    again = second.start()
    try:
        assert again.api_key == info.api_key
        client = _client(again)
        assert _stable(client.get_job(done["job_id"])) == _stable(before)
        jobs = [client.wait(job, timeout_s=300) for job in queued]
        assert [job["status"] for job in jobs] == ["COMPLETED"] * len(queued)
        invoked = Ledger(again.ledger).counts("invoked")
        assert all(invoked[job] == 1 for job in [done["job_id"], *queued])
        video = (
            again.aws_client("s3").get_object(Bucket=again.bucket, Key=before["key"])["Body"].read()
        )
        assert video == clips[0][0].read_bytes()
    finally:
        second.stop()
    log = (state / "stack.log").read_text(encoding="utf-8")
    assert log.count("local stack ready") == 2
    resumed = sum(1 for line in again.ledger.read_text().splitlines() if '"resumed"' in line)
    # How much the stop left to the second run depends on timing; for the record.
    print(f"left at the stop: {len(unfinished)} not yet invoked, {resumed} invocations resumed")


def test_a_killed_stack_comes_back_from_its_last_snapshot(
    tiny_model: Path, tmp_path: Path, clips: list[tuple[Path, Path]]
) -> None:
    state = tmp_path / "state"
    first = StackProcess(tiny_model, state)
    info = first.start()
    client = _client(info)
    created = submit_video(client, *clips[0], progress=False)
    job = client.wait(created["job_id"], timeout_s=120)
    snapshot = state / SNAPSHOT_FILE
    written = snapshot.stat().st_mtime if snapshot.exists() else 0.0
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if snapshot.exists() and snapshot.stat().st_mtime > written:
            break
        time.sleep(0.5)
    os.kill(info.pid, signal.SIGKILL)
    first.wait()

    second = StackProcess(tiny_model, state)
    again = second.start()
    try:
        client = _client(again)
        assert again.api_key == info.api_key
        assert _stable(client.get_job(created["job_id"])) == _stable(job)
    finally:
        second.stop()
