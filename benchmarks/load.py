"""Load on the local stack: many uploads at once, optionally with faults, and what became of them.

    .venv/bin/python benchmarks/load.py --uploads 200 --kill-model-server --restart

Starts a private local stack (an untrained tiny model unless --model is given), uploads one
generated clip --uploads times through the API from --workers threads, and waits until every
job is settled. --kill-model-server SIGKILLs the model server once, a quarter of the way in;
--restart stops the whole stack once every upload is in, and starts it again on the same state
folder. Prints lost (no settled job), failed, duplicated (invoked more than once), throughput
and the p50 / p95 time from upload to settled, and the persistence figures. On demand only;
never in CI.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import statistics
import sys
import tempfile
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from pathlib import Path
from typing import Any

import torch

from vs_model.checkpoint import save_model
from vs_model.config import preset
from vs_model.network import MultimodalSentimentModel
from vs_model.text import build_tokenizer
from vsent.client.api import ApiClient
from vsent.client.commands import submit_video
from vsent.client.settings import local_settings
from vsent.local.async_endpoint import Ledger
from vsent.local.moto_state import SNAPSHOT_FILE
from vsent.local.process import StackProcess
from vsent.local.sample import make_sample
from vsent.local.synthetic import SyntheticUtterance
from vsent.local.template_reader import build_spec
from vsent.local_info import MODEL_SERVER_PID_FILE, StackInfo
from vsent.paths import default_template

SETTLED = ("COMPLETED", "FAILED")


def _tiny_model(folder: Path) -> Path:
    torch.manual_seed(0)
    cfg = preset("tiny")
    return save_model(folder, MultimodalSentimentModel(cfg), build_tokenizer(cfg), cfg)


def _rows(info: StackInfo, table: str) -> dict[str, dict[str, Any]]:
    dynamodb = info.aws_resource("dynamodb").Table(table)
    rows: dict[str, dict[str, Any]] = {}
    kwargs: dict[str, Any] = {}
    while True:
        page = dynamodb.scan(**kwargs)
        rows.update({item["job_id"]: item for item in page["Items"]})
        if "LastEvaluatedKey" not in page:
            return rows
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def _instant(stamp: str) -> float:
    return datetime.strptime(stamp, "%Y-%m-%dT%H:%M:%S.%fZ").timestamp()


def _percentile(values: list[float], q: float) -> float:
    if len(values) < 2:
        return values[0] if values else float("nan")
    return statistics.quantiles(values, n=100, method="inclusive")[int(q) - 1]


def _killer(info: StackInfo, after: int, done: threading.Event, out: dict[str, Any]) -> None:
    """SIGKILL the model server once `after` invocations are processed."""
    while not done.is_set():
        if sum(Ledger(info.ledger).counts("processed").values()) >= after:
            pid = int((Path(info.state_dir) / MODEL_SERVER_PID_FILE).read_text())
            os.kill(pid, signal.SIGKILL)
            out["killed_pid"] = pid
            out["killed_at_processed"] = after
            print(f"killed the model server (pid {pid}) after {after} invocations", flush=True)
            return
        time.sleep(0.2)


def main(argv: list[str] | None = None) -> int:
    """Run the load and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--uploads", type=int, default=200)
    parser.add_argument("--workers", type=int, default=16)
    parser.add_argument("--model", type=Path, help="model folder or model.tar.gz")
    parser.add_argument("--kill-model-server", action="store_true")
    parser.add_argument("--restart", action="store_true", help="down and up once, mid-run")
    parser.add_argument("--timeout", type=float, default=3600)
    args = parser.parse_args(argv)

    work = Path(tempfile.mkdtemp(prefix="vsent-load-"))
    model = args.model or _tiny_model(work / "model")
    line = (SyntheticUtterance("Hello there, how are you?", 0.2, 1.6, "joy"),)
    video, transcript = make_sample(work / "media", "clip", line)
    table = build_spec(default_template()).names["JobsTable"]
    stack = StackProcess(model, work / "state")
    figures: dict[str, Any] = {}
    started = time.monotonic()
    info = stack.start()
    figures["start_s"] = round(time.monotonic() - started, 1)
    settings = local_settings(info)
    client = ApiClient(settings.api_url, settings.api_key)
    done = threading.Event()
    if args.kill_model_server:
        threading.Thread(
            target=_killer, args=(info, max(1, args.uploads // 4), done, figures), daemon=True
        ).start()

    def upload(index: int) -> str:
        copy = work / "media" / f"clip-{index:04d}.mp4"
        shutil.copyfile(video, copy)
        shutil.copyfile(transcript, copy.with_suffix(".srt"))
        return str(submit_video(client, copy, copy.with_suffix(".srt"), progress=False)["job_id"])

    first = time.time()
    with ThreadPoolExecutor(max_workers=args.workers) as pool:
        job_ids = list(pool.map(upload, range(args.uploads)))
    figures["upload_s"] = round(time.time() - first, 1)
    print(f"{len(job_ids)} uploads in {figures['upload_s']} s", flush=True)

    if args.restart:
        clock = time.monotonic()
        stack.stop()
        figures["down_s"] = round(time.monotonic() - clock, 1)
        figures["snapshot_bytes"] = (work / "state" / SNAPSHOT_FILE).stat().st_size
        clock = time.monotonic()
        stack = StackProcess(model, work / "state")
        info = stack.start()
        figures["up_s"] = round(time.monotonic() - clock, 1)
        print(f"down in {figures['down_s']} s, up in {figures['up_s']} s", flush=True)

    deadline = time.monotonic() + args.timeout
    try:
        while True:
            rows = _rows(info, table)
            settled = [j for j in job_ids if rows.get(j, {}).get("status") in SETTLED]
            if len(settled) == len(job_ids) or time.monotonic() > deadline:
                break
            time.sleep(2)
    finally:
        done.set()
        invoked = Ledger(info.ledger).counts("invoked")
        stack.stop()

    statuses = Counter(rows.get(j, {}).get("status", "MISSING") for j in job_ids)
    latencies = [
        _instant(rows[j]["updated_at"]) - _instant(rows[j]["created_at"])
        for j in job_ids
        if rows.get(j, {}).get("status") == "COMPLETED"
    ]
    ends = [_instant(rows[j]["updated_at"]) for j in job_ids if j in rows and j in settled]
    span_min = (max(ends) - first) / 60 if ends else float("nan")
    log = (work / "state" / "stack.log").read_text(encoding="utf-8")
    figures.update(
        uploads=len(job_ids),
        completed=statuses["COMPLETED"],
        failed=statuses["FAILED"],
        lost=len(job_ids) - len(settled),
        duplicated=sum(1 for j in job_ids if invoked[j] > 1),
        never_invoked=sum(1 for j in job_ids if invoked[j] == 0),
        throughput_per_min=round(statuses["COMPLETED"] / span_min, 1),
        p50_s=round(_percentile(latencies, 50), 1),
        p95_s=round(_percentile(latencies, 95), 1),
        model_server_restarts=log.count("the model server is back"),
        snapshot_bytes_final=(work / "state" / SNAPSHOT_FILE).stat().st_size,
        failure_codes=dict(
            Counter(
                rows[j].get("reason_code")
                for j in job_ids
                if rows.get(j, {}).get("status") == "FAILED"
            )
        ),
    )
    print(json.dumps(figures, indent=2))
    print(f"state folder (logs, ledger): {work / 'state'}")
    return 0 if figures["lost"] == 0 and figures["duplicated"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
