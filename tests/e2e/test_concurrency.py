"""Twenty uploads at once: every one completes, none is lost, none is processed twice."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from vsent.client.api import ApiClient
from vsent.client.commands import submit_video
from vsent.local.sample import sample_copies
from vsent.local_info import StackInfo

UPLOADS = 20


def test_twenty_concurrent_uploads_each_complete_once(
    stack: StackInfo,
    ledger: Callable[[str], Counter[str]],
    client: ApiClient,
    tmp_path: Path,
) -> None:
    copies = sample_copies(tmp_path, UPLOADS)

    with ThreadPoolExecutor(max_workers=8) as pool:
        created = list(pool.map(lambda pair: submit_video(client, *pair, progress=False), copies))
        job_ids = [c["job_id"] for c in created]
        jobs = list(pool.map(lambda job_id: client.wait(job_id, timeout_s=300), job_ids))

    assert len(set(job_ids)) == UPLOADS
    assert [job["status"] for job in jobs] == ["COMPLETED"] * UPLOADS
    invoked, processed = ledger("invoked"), ledger("processed")
    assert all(invoked[job_id] == 1 and processed[job_id] == 1 for job_id in job_ids)

    s3 = stack.aws_client("s3")
    listed = s3.list_object_versions(Bucket=stack.bucket, Prefix="results/")
    outputs = [v["Key"] for v in listed.get("Versions", [])]
    for job_id in job_ids:
        assert outputs.count(f"results/{job_id}.out") == 1
