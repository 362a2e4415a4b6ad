"""Whether an uploaded object is a video we can process: extension, first bytes and size."""

from __future__ import annotations

from pathlib import PurePosixPath

VIDEO_EXTENSIONS = (".avi", ".m4v", ".mkv", ".mov", ".mp4", ".webm")
TRANSCRIPT_EXTENSIONS = (".srt", ".vtt", ".json")
# The types a video may be declared as, spelt as browsers and mimetypes name the extensions above.
# The presigned POST binds the exact one the caller named, so S3 stores nothing else.
VIDEO_CONTENT_TYPES = frozenset(
    {
        "video/avi",
        "video/matroska",
        "video/mp4",
        "video/msvideo",
        "video/quicktime",
        "video/webm",
        "video/x-m4v",
        "video/x-matroska",
        "video/x-msvideo",
    }
)
# Enough for every signature below, and cheap to fetch with a ranged GET.
SNIFF_BYTES = 64

_EBML = b"\x1a\x45\xdf\xa3"
# ISO base media (mp4, m4v, mov) starts with a box; QuickTime files may open with one of these
# instead of 'ftyp'.
_ISO_BOXES = (b"ftyp", b"moov", b"mdat", b"free", b"wide", b"skip", b"pnot")


def extension(filename: str) -> str:
    """The lower-case extension of a file name ('' when it has none)."""
    return PurePosixPath(filename).suffix.lower()


def is_transcript_name(filename: str) -> bool:
    """Whether the file looks like a transcript sidecar rather than a video."""
    return extension(filename) in TRANSCRIPT_EXTENSIONS


def container_of(head: bytes) -> str | None:
    """The container family named by the first bytes of a file, or None if none matches."""
    if len(head) >= 8 and head[4:8] in _ISO_BOXES:
        return "mp4/mov"
    if head.startswith(_EBML):
        return "matroska/webm"
    if len(head) >= 12 and head[:4] == b"RIFF" and head[8:12] == b"AVI ":
        return "avi"
    return None


def human_bytes(n: int) -> str:
    """A byte count for people: 512 bytes, 1.5 MiB, 2.0 GiB."""
    size = float(n)
    for unit in ("bytes", "KiB", "MiB", "GiB"):
        if size < 1024 or unit == "GiB":
            return f"{int(size)} {unit}" if unit == "bytes" else f"{size:.1f} {unit}"
        size /= 1024
    raise AssertionError("unreachable")


def name_problem(filename: str) -> str | None:
    """Why a file name does not name a video, or None when its extension is a video's."""
    if extension(filename) in VIDEO_EXTENSIONS:
        return None
    return (
        f"not a video: {filename!r} does not end in a video extension "
        f"({', '.join(VIDEO_EXTENSIONS)})"
    )
