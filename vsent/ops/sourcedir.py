"""``sourcedir.tar.gz``: the model/ folder as script mode unpacks it in /opt/ml/code."""

from __future__ import annotations

import gzip
import io
import tarfile
from pathlib import Path

from vsent.paths import REPO_ROOT

# Never shipped: caches and build leftovers that would only bloat the archive.
_EXCLUDED_PARTS = {"__pycache__", ".pytest_cache", ".ipynb_checkpoints"}
_EXCLUDED_SUFFIXES = {".pyc", ".pyo"}

MODEL_DIR = REPO_ROOT / "model"


def source_files(source_dir: Path) -> list[Path]:
    """The files that go into the archive, in a stable order."""
    return sorted(
        p
        for p in source_dir.rglob("*")
        if p.is_file()
        and not _EXCLUDED_PARTS.intersection(p.relative_to(source_dir).parts)
        and p.suffix not in _EXCLUDED_SUFFIXES
    )


def build_sourcedir(source_dir: Path) -> bytes:
    """A gzipped tar of ``source_dir`` : the same files give the same bytes."""
    source_dir = Path(source_dir)
    if not (source_dir / "train.py").is_file():
        raise FileNotFoundError(f"{source_dir}: no train.py; expected the model/ source folder")
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for path in source_files(source_dir):
            info = tarfile.TarInfo(path.relative_to(source_dir).as_posix())
            info.size = path.stat().st_size
            info.mode = 0o644
            info.mtime = 0
            with path.open("rb") as handle:
                tar.addfile(info, handle)
    return gzip.compress(raw.getvalue(), mtime=0)
