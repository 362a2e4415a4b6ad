"""The local stack under faults: a model server killed mid-batch, duplicate events racing,
and a burst of API clients."""

from __future__ import annotations

import json
import os
import signal
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import requests

from vsent.client.api import ApiClient
from vsent.client.commands import submit_video
from vsent.local.sample import sample_copies
from vsent.local.template_reader import build_spec
from vsent.local_info import MODEL_SERVER_PID_FILE, StackInfo
from vsent.paths import default_template

BATCH = 10
RACES = 12


def test_a_killed_model_server_is_restarted_and_the_batch_completes(
    stack: StackInfo,
    ledger: Callable[[str], Counter[str]],
    client: ApiClient,
    tmp_path: Path,
) -> None:
    pid_file = Path(stack.state_dir) / MODEL_SERVER_PID_FILE
    victim = int(pid_file.read_text())
    pairs = sample_copies(tmp_path, BATCH)
    with ThreadPoolExecutor(max_workers=4) as pool:
        created = list(pool.map(lambda pair: submit_video(client, *pair, progress=False), pairs))
        job_ids = [c["job_id"] for c in created]
        deadline = time.monotonic() + 60
        while not ledger("processed") and time.monotonic() < deadline:
            time.sleep(0.1)
        os.kill(victim, signal.SIGKILL)
        jobs = list(pool.map(lambda job_id: client.wait(job_id, timeout_s=300), job_ids))

    assert [job["status"] for job in jobs] == ["COMPLETED"] * BATCH
    invoked = ledger("invoked")
    assert all(invoked[job_id] == 1 for job_id in job_ids)
    assert int(pid_file.read_text()) != victim
    log = (Path(stack.state_dir) / "stack.log").read_text(encoding="utf-8")
    assert f"ERROR vsent.local.model_server: the model server (pid {victim}) exited" in log


def test_racing_duplicate_events_invoke_each_job_once(
    stack: StackInfo, ledger: Callable[[str], Counter[str]], tmp_path: Path
) -> None:
    s3, sqs = stack.aws_client("s3"), stack.aws_client("sqs")
    spec = build_spec(default_template(), region=stack.region)
    queue_url = sqs.get_queue_url(QueueName=spec.names["UploadsQueue"])["QueueUrl"]
    video = sample_copies(tmp_path, 1)[0][0].read_bytes()
    events = []
    for index in range(RACES):
        key = f"uploads/race/clip-{index:02d}.mp4"
        put = s3.put_object(Bucket=stack.bucket, Key=key, Body=video, ContentType="video/mp4")
        record = {
            "eventVersion": "2.1",
            "eventSource": "aws:s3",
            "awsRegion": stack.region,
            "eventTime": "2026-01-01T00:00:00.000Z",
            "eventName": "ObjectCreated:Put",
            "userIdentity": {"principalId": "AWS:LOCAL"},
            "requestParameters": {"sourceIPAddress": "127.0.0.1"},
            "responseElements": {"x-amz-request-id": "R", "x-amz-id-2": "I"},
            "s3": {
                "s3SchemaVersion": "1.0",
                "configurationId": "race",
                "bucket": {
                    "name": stack.bucket,
                    "ownerIdentity": {"principalId": "LOCAL"},
                    "arn": f"arn:aws:s3:::{stack.bucket}",
                },
                "object": {
                    "key": key,
                    "size": len(video),
                    "eTag": put["ETag"].strip('"'),
                    "versionId": put["VersionId"],
                    "sequencer": f"00RACE{index:04d}",
                },
            },
        }
        events.append(json.dumps({"Records": [record]}))

    def deliver(body: str) -> None:
        sqs.send_message(QueueUrl=queue_url, MessageBody=body)

    # Each event three times at once, beside the one S3 sent itself.
    with ThreadPoolExecutor(max_workers=12) as pool:
        list(pool.map(deliver, [body for body in events for _ in range(3)]))
    jobs = stack.aws_client("dynamodb")
    table = spec.names["JobsTable"]
    deadline = time.monotonic() + 300
    keys = [json.loads(body)["Records"][0]["s3"]["object"]["key"] for body in events]
    while time.monotonic() < deadline:
        rows = jobs.scan(TableName=table)["Items"]
        settled = [
            row for row in rows
            if row["object_key"]["S"] in keys and row["status"]["S"] in ("COMPLETED", "FAILED")
        ]  # fmt: skip
        if len(settled) == RACES:
            break
        time.sleep(1)
    assert len(settled) == RACES
    assert all(row["status"]["S"] == "COMPLETED" for row in settled)
    invoked = ledger("invoked")
    assert all(invoked[row["job_id"]["S"]] == 1 for row in settled)


def test_forty_clients_at_once_are_all_answered(stack: StackInfo, client: ApiClient) -> None:
    def list_jobs(_: int) -> int:
        return requests.get(
            f"{stack.api_url}/jobs?limit=1", headers={"x-api-key": stack.api_key}, timeout=60
        ).status_code

    with ThreadPoolExecutor(max_workers=40) as pool:
        statuses = list(pool.map(list_jobs, range(40)))
    assert all(status in (200, 429) for status in statuses)
