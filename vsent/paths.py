"""Where vsent keeps its files (sessions, the default model's cache, the local stack's state) and
where the repository is; the one place VSENT_CACHE_DIR is read."""

from __future__ import annotations

import os
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]


def cache_dir() -> Path:
    """`VSENT_CACHE_DIR`, else ~/.cache/video-sentiment (the demo model lives here)."""
    configured = os.environ.get("VSENT_CACHE_DIR", "").strip()
    return Path(configured).expanduser() if configured else Path.home() / ".cache/video-sentiment"


def default_state_dir() -> Path:
    """Where `vsent up` writes its pid file, connection details, logs and ledger."""
    return cache_dir() / "stack"


def default_template() -> Path:
    """The repository's template.yaml."""
    return REPO_ROOT / "template.yaml"
