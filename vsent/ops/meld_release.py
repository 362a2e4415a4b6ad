"""The MELD release on disk: fetch the official archive, unpack it, and check what it holds.

The official ``MELD.Raw.tar.gz`` holds a ``MELD.Raw/`` folder with the three CSVs and three more
archives (``train.tar.gz``, ``dev.tar.gz``, ``test.tar.gz``) that unpack to the clip folders.
"""

from __future__ import annotations

import tarfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import av
import requests
from tqdm import tqdm

from vs_model.meld import (
    CLIP_FOLDERS,
    CSV_NAMES,
    KNOWN_BAD_CLIPS,
    SPLITS,
    MeldFormatError,
    read_csv,
)

OFFICIAL_URL = "https://web.eecs.umich.edu/~mihalcea/downloads/MELD.Raw.tar.gz"
NESTED_ARCHIVES = ("train.tar.gz", "dev.tar.gz", "test.tar.gz")
_MP4_BRANDS = (b"ftyp",)
_CHUNK = 1 << 20


class ReleaseError(ValueError):
    """The folder or archive is not a usable MELD release (the message says what is missing)."""


@dataclass
class SplitReport:
    """What one split holds: CSV rows, clips, and the clips that are missing or unreadable."""

    split: str
    csv: str
    clip_folder: str
    rows: int = 0
    clips: int = 0
    missing: list[str] = field(default_factory=list)
    unreadable: dict[str, str] = field(default_factory=dict)
    extra: list[str] = field(default_factory=list)
    duplicate_rows: int = 0


@dataclass
class ReleaseReport:
    """The check of a whole release; ``problems`` are the structural ones that stop an upload."""

    root: str
    splits: list[SplitReport]
    problems: list[str]

    @property
    def ok(self) -> bool:
        """Whether the three CSVs and the three clip folders are there and readable."""
        return not self.problems

    def lines(self) -> list[str]:
        """A human-readable report, one line per finding."""
        out = [f"MELD release at {self.root}"]
        out += [f"  PROBLEM: {p}" for p in self.problems]
        for s in self.splits:
            out.append(
                f"  {s.split:5s} {s.csv}: {s.rows} rows ({s.duplicate_rows} duplicate); "
                f"{s.clip_folder}/: {s.clips} clips, {len(s.missing)} missing, "
                f"{len(s.unreadable)} unreadable, {len(s.extra)} without a CSV row"
            )
            for key in s.missing:
                note = " (known gap of the release)" if key in KNOWN_BAD_CLIPS[s.split] else ""
                out.append(f"    missing    {s.clip_folder}/{key}.mp4{note}")
            for key, reason in sorted(s.unreadable.items()):
                note = " (known gap of the release)" if key in KNOWN_BAD_CLIPS[s.split] else ""
                out.append(f"    unreadable {s.clip_folder}/{key}.mp4: {reason}{note}")
        return out


def clip_problem(path: Path) -> str | None:
    """Why a clip cannot be used (empty, not an MP4, no video stream, no decodable frame), or None.

    Opens the container and decodes one frame: cheap, and it catches truncated or garbage files.
    """
    try:
        size = path.stat().st_size
        if size == 0:
            return "empty file"
        with path.open("rb") as handle:
            head = handle.read(12)
        if head[4:8] not in _MP4_BRANDS:
            return "not an MP4 file"
        with av.open(str(path)) as container:
            if not container.streams.video:
                return "no video stream"
            next(container.decode(video=0))
    except StopIteration:
        return "no decodable video frame"
    except (av.FFmpegError, OSError) as error:
        return f"cannot decode: {error}"
    return None


def release_files(root: Path) -> list[Path]:
    """The files of the release that belong in S3: the CSVs and the clips of the split folders.

    macOS metadata files (``._*``) that the archives carry are left out.
    """
    files = [root / CSV_NAMES[s] for s in SPLITS if (root / CSV_NAMES[s]).is_file()]
    for split in SPLITS:
        folder = root / CLIP_FOLDERS[split]
        if folder.is_dir():
            files += sorted(p for p in folder.glob("*.mp4") if not p.name.startswith("._"))
    return files


def check_release(root: Path, *, workers: int = 4, decode: bool = True) -> ReleaseReport:
    """Check a MELD folder: the CSVs, the clip folders, missing clips and unreadable clips.

    Missing and unreadable clips are counted and listed, never raised: the release has a few.
    """
    root = Path(root)
    problems: list[str] = []
    reports: list[SplitReport] = []
    for split in SPLITS:
        report = SplitReport(split, CSV_NAMES[split], CLIP_FOLDERS[split])
        reports.append(report)
        keys = _csv_keys(root / CSV_NAMES[split], split, report, problems)
        folder = root / CLIP_FOLDERS[split]
        if not folder.is_dir():
            problems.append(f"no clip folder {CLIP_FOLDERS[split]}/")
            continue
        clips = {p.stem: p for p in folder.glob("*.mp4") if not p.name.startswith("._")}
        report.clips = len(clips)
        if keys is not None:
            report.missing = sorted(k for k in keys if k not in clips)
            report.extra = sorted(k for k in clips if k not in keys)
        if decode:
            report.unreadable = _unreadable(clips, split, workers)
    return ReleaseReport(str(root), reports, problems)


def _csv_keys(path: Path, split: str, report: SplitReport, problems: list[str]) -> set[str] | None:
    if not path.is_file():
        problems.append(f"no {path.name}")
        return None
    try:
        rows, duplicates = read_csv(path, split)
    except (MeldFormatError, UnicodeError, OSError) as error:
        problems.append(f"{path.name} is not readable as a MELD CSV: {error}")
        return None
    report.rows = len(rows) + len(duplicates)
    report.duplicate_rows = len(duplicates)
    return {row.key for row in rows}


def _unreadable(clips: dict[str, Path], split: str, workers: int) -> dict[str, str]:
    names = sorted(clips)
    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        results = list(
            tqdm(
                pool.map(lambda key: clip_problem(clips[key]), names),
                total=len(names),
                desc=f"check {split} clips",
                unit="clip",
                leave=False,
            )
        )
    return {key: problem for key, problem in zip(names, results, strict=True) if problem}


def download(url: str, target: Path, *, timeout_s: float = 60.0) -> Path:
    """Download ``url`` to ``target`` with a progress bar, resuming a partial file with a Range.

    A complete file (same size as the server reports) is not fetched again.
    """
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(target.name + ".part")
    if target.exists():
        return target
    start = partial.stat().st_size if partial.exists() else 0
    headers = {"Range": f"bytes={start}-"} if start else {}
    with requests.get(url, headers=headers, stream=True, timeout=timeout_s) as response:
        if response.status_code == 416:
            partial.rename(target)
            return target
        response.raise_for_status()
        if start and response.status_code != 206:
            start = 0  # the server ignored the Range: start over
        length = int(response.headers.get("Content-Length", 0))
        mode = "ab" if start else "wb"
        with (
            partial.open(mode) as out,
            tqdm(
                total=start + length or None,
                initial=start,
                unit="B",
                unit_scale=True,
                desc=f"download {target.name}",
            ) as bar,
        ):
            for chunk in response.iter_content(_CHUNK):
                out.write(chunk)
                bar.update(len(chunk))
    partial.rename(target)
    return target


def extract(archive: Path, into: Path) -> None:
    """Unpack a tar archive with a progress bar, refusing paths that leave ``into``."""
    into.mkdir(parents=True, exist_ok=True)
    with tarfile.open(archive) as tar:
        members = tar.getmembers()
        for member in tqdm(members, desc=f"extract {archive.name}", unit="file", leave=False):
            tar.extract(member, into, filter="data")


def find_release_root(folder: Path) -> Path:
    """The folder holding ``train_sent_emo.csv`` (the top folder or ``MELD.Raw/`` below it)."""
    folder = Path(folder)
    for candidate in (folder, *sorted(p for p in folder.rglob("*") if p.is_dir())):
        if (candidate / CSV_NAMES["train"]).is_file():
            return candidate
    raise ReleaseError(f"{folder}: no {CSV_NAMES['train']} anywhere below; not a MELD release")


def unpack_nested(root: Path) -> list[str]:
    """Extract ``train.tar.gz``, ``dev.tar.gz`` and ``test.tar.gz`` beside them when present.

    Skips an archive whose clip folder is already there, so a second run is quick.
    """
    done: list[str] = []
    for name, split in zip(NESTED_ARCHIVES, SPLITS, strict=True):
        archive = root / name
        if archive.is_file() and not (root / CLIP_FOLDERS[split]).is_dir():
            extract(archive, root)
            done.append(name)
    return done


def prepare_source(source: str, workdir: Path) -> Path:
    """A local MELD folder for ``source``: a folder, or a URL / archive unpacked."""
    if source.startswith(("http://", "https://")):
        archive = download(source, workdir / Path(source.split("?", 1)[0]).name)
    elif Path(source).is_file():
        archive = Path(source)
    elif Path(source).is_dir():
        root = find_release_root(Path(source))
        unpack_nested(root)
        return root
    else:
        raise ReleaseError(f"{source}: neither a folder, an archive nor an http(s) URL")
    unpacked = workdir / "unpacked"
    marker = unpacked / f".{archive.name}.extracted"
    if not marker.exists():
        extract(archive, unpacked)
        marker.touch()
    root = find_release_root(unpacked)
    unpack_nested(root)
    return root
