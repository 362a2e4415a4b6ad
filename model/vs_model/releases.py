"""Pretrained files that come from pip packages in pieces: checked, joined once, cached.

Model hubs are out of reach, so some upstream releases are installed as pip packages that hold
them split into parts. Each is joined into a folder under the cache directory, and every file the
project reads is checked against the upstream release's size and SHA-256 before use: a swapped or
damaged copy is refused, never run.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import os
import shutil
import tempfile
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path

# A release's files: relative path → (size in bytes, SHA-256).
Manifest = Mapping[str, tuple[int, str]]


def file_sha256(path: str | Path) -> str:
    """Hex SHA-256 of a file's content, read in 1 MiB blocks."""
    digest = hashlib.sha256()
    with Path(path).open("rb") as data:
        for block in iter(lambda: data.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


@functools.lru_cache(maxsize=64)
def _verified_digest(path: Path, size: int, mtime_ns: int, inode: int) -> str:
    # Keyed on the file's identity and stat: a process loading the same folder twice hashes once.
    return file_sha256(path)


def release_problems(folder: Path, manifest: Manifest) -> list[str]:
    """What keeps ``folder`` from being the release ``manifest`` describes: one line per file."""
    problems = []
    for name, (size, expected) in manifest.items():
        path = folder / name
        if not path.is_file():
            problems.append(f"{name} is missing")
            continue
        stat = path.stat()
        if stat.st_size != size:
            problems.append(f"{name} has {stat.st_size} bytes, the release has {size}")
            continue
        actual = _verified_digest(path.resolve(), stat.st_size, stat.st_mtime_ns, stat.st_ino)
        if actual != expected:
            problems.append(f"{name} has sha256 {actual}, the release has {expected}")
    return problems


def default_cache_dir() -> Path:
    """Where joined releases are kept: ``$XDG_CACHE_HOME`` (or ~/.cache)/video-sentiment."""
    root = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(root) / "video-sentiment"


def join_files(parts: Iterable[Path], into: Path) -> str:
    """Concatenate ``parts`` into the file ``into``; returns the joined content's SHA-256."""
    digest = hashlib.sha256()
    with into.open("wb") as joined:
        for part in parts:
            with part.open("rb") as piece:
                for block in iter(lambda piece=piece: piece.read(1 << 20), b""):
                    digest.update(block)
                    joined.write(block)
    return digest.hexdigest()


def publish(target: Path, build: Callable[[Path], None], ready: Callable[[Path], bool]) -> None:
    """Build a folder in a staging directory next to ``target``, then move it there atomically.

    ``build`` fills the staging folder and raises to abandon it; nothing half-built is ever left
    at ``target``. Where another process published first (``ready`` holds), its copy is kept.
    """
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}-", dir=target.parent))
    try:
        build(staging)
        if not ready(target):
            shutil.rmtree(target, ignore_errors=True)
            # OSError: another process published its copy first, which `ready` accepts later.
            with contextlib.suppress(OSError):
                os.replace(staging, target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
