"""Resuming a run: the epoch loop's state and the checkpoint a restarted job continues from.

The checkpoint lives in ``/opt/ml/checkpoints``, which SageMaker syncs to S3, so a spot job that
is interrupted and restarted goes on at the next epoch instead of starting again.
"""

from __future__ import annotations

import math
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch

from vs_model.config import ModelConfig

RESUME_FILE = "resume.pt"


@dataclass
class RunState:
    """Where the epoch loop is: the last epoch done, the best so far and early stopping's count."""

    epoch: int = 0
    best_score: float = -math.inf
    best_epoch: int = 0
    bad_epochs: int = 0
    finished: bool = False
    stopped_early: bool = False
    history: list[dict[str, float]] = field(default_factory=list)


def load_resume(path: Path, cfg: ModelConfig) -> dict[str, Any] | None:
    """The resume checkpoint at ``path``, or None when there is none; refuses another model's."""
    if not path.is_file():
        return None
    state = torch.load(path, map_location="cpu", weights_only=True)
    if state["config"] != cfg.to_dict():
        raise ValueError(
            f"{path} belongs to a run with another model configuration; "
            "remove the checkpoint folder or point --checkpoint-dir elsewhere"
        )
    return state


def restore(resumed: dict[str, Any], parts: dict[str, Any], epochs: int) -> RunState:
    """Load each part's (model, optimizer…) saved state; the run state to go on from."""
    for name, part in parts.items():
        part.load_state_dict(resumed[name])
    state = RunState(**resumed["state"])
    # A run resumed with more epochs goes on; an early stop stays stopped.
    state.finished = state.stopped_early or state.epoch >= epochs
    return state


def save_resume(path: Path, cfg: ModelConfig, parts: dict[str, Any], state: RunState) -> None:
    """Write the checkpoint atomically: a job killed while writing keeps the previous one."""
    payload = {
        "config": cfg.to_dict(),
        **{name: part.state_dict() for name, part in parts.items()},
        "state": asdict(state),
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_suffix(".partial")
    torch.save(payload, temporary)
    os.replace(temporary, path)
