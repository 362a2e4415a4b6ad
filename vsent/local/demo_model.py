"""The synthetic demo model: trained once on the synthetic MELD-shaped dataset, then cached.

Only a checkout without the shipped default model (models/meld-text) falls back to it. It is the
`tiny` preset (a random tiny text encoder), which the predictor labels as a demo model in every
result.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from vsent.paths import REPO_ROOT, cache_dir

DEMO_DIALOGUES = {"train": 24, "dev": 6, "test": 6}
DEMO_SEED = 7
_MARKER = "demo-model.json"


class DemoModelError(RuntimeError):
    """Training the demo model failed."""


def demo_model_dir() -> Path:
    """Where the cached demo model lives."""
    return cache_dir() / "demo-model"


def ensure_demo_model(log: Path | None = None) -> Path:
    """The cached demo model folder, training it first if there is none (about a minute)."""
    target = demo_model_dir()
    if (target / _MARKER).is_file():
        return target
    from vsent.local.synthetic import make_meld_dataset

    target.parent.mkdir(parents=True, exist_ok=True)
    train_script = REPO_ROOT / "model" / "train.py"
    with tempfile.TemporaryDirectory(prefix="vsent-demo-", dir=target.parent) as scratch:
        work = Path(scratch)
        make_meld_dataset(work / "meld", DEMO_DIALOGUES, seed=DEMO_SEED)
        command = [
            sys.executable, str(train_script), "--preset", "tiny",
            "--data-root", str(work / "meld"), "--work-dir", str(work / "run"),
            "--seed", str(DEMO_SEED), "--progress", "false",
        ]  # fmt: skip
        with (log or work / "train.log").open("ab") as output:
            finished = subprocess.run(
                command, stdout=output, stderr=subprocess.STDOUT, env=dict(os.environ), check=False
            )
        if finished.returncode != 0:
            raise DemoModelError(
                f"training the demo model failed (exit status {finished.returncode}); "
                f"see {log or 'the training log'}"
            )
        model = work / "run" / "model"
        (model / _MARKER).write_text(
            json.dumps({"demo": True, "dataset": "synthetic", "dialogues": DEMO_DIALOGUES}),
            encoding="utf-8",
        )
        staged = target.with_name(target.name + ".new")
        shutil.rmtree(staged, ignore_errors=True)
        shutil.copytree(model, staged)
        shutil.rmtree(target, ignore_errors=True)
        staged.rename(target)
    return target
