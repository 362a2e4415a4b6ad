"""An upload that looks like an mp4 but cannot be decoded: submit accepts it, the endpoint
fails it, and the job says why."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from pathlib import Path

from vsent.client.api import ApiClient
from vsent.client.commands import submit_video
from vsent.local_info import StackInfo

# An ISO BMFF `ftyp` box (what submit sniffs), then bytes no decoder can read.
FAKE_MP4 = b"\x00\x00\x00\x18ftypisom\x00\x00\x02\x00isomiso2" + bytes(range(256)) * 64


def test_undecodable_upload_fails_with_a_readable_reason(
    stack: StackInfo,
    ledger: Callable[[str], Counter[str]],
    client: ApiClient,
    tmp_path: Path,
) -> None:
    broken = tmp_path / "broken.mp4"
    broken.write_bytes(FAKE_MP4)
    created = submit_video(client, broken, progress=False)
    job = client.wait(created["job_id"], timeout_s=120)

    assert job["status"] == "FAILED"
    # It reached the endpoint: the failure is the model server's, not submit's sniffing.
    assert ledger("processed")[created["job_id"]] == 1
    failed = client.get_job(created["job_id"])
    assert failed["reason_code"] == "corrupt_video"
    assert failed["reason"] == (
        "'broken.mp4' is corrupt or truncated: its video could not be decoded."
    )
    assert "result" not in job
