"""Two-process DDP on CPU (gloo) through torchrun, as a multi-GPU SageMaker job launches it."""

import json
import os
import subprocess
import sys
from pathlib import Path


def test_two_process_ddp_trains_one_epoch(
    synthetic_meld: Path, tmp_path: Path, repo_root: Path
) -> None:
    work = tmp_path / "run"
    env = {**os.environ, "PYTHONPATH": str(repo_root / "model"), "OMP_NUM_THREADS": "1"}
    command = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--standalone",
        "--nproc-per-node",
        "2",
        str(repo_root / "model" / "train.py"),
        "--preset",
        "tiny",
        "--data-root",
        str(synthetic_meld),
        "--work-dir",
        str(work),
        "--epochs",
        "1",
        "--max-train-samples",
        "32",
        "--progress",
        "false",
    ]
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stderr[-3000:]
    # Only rank 0 reports and writes.
    assert done.stdout.count("[metrics] epoch=1 ") == 1
    assert done.stdout.count("[metrics] test_loss=") == 1
    assert len(list((work / "tensorboard").glob("events.out.tfevents.*"))) == 1
    summary = json.loads((work / "output" / "training_summary.json").read_text())
    assert [m["epoch"] for m in summary["history"]] == [1]
    assert summary["options"]["max_train_samples"] == 32
    assert (work / "model" / "model.pt").is_file()
    assert (work / "checkpoints" / "resume.pt").is_file()
