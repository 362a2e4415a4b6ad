"""Transcript sidecars (SRT, WebVTT, JSON) parsed into timed utterances.

A sidecar is a file beside the video with the same stem (``talk.mp4`` → ``talk.srt``). Its cues
become the utterances the model scores, with their text, so a sidecar is the preferred source.
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

SIDECAR_SUFFIXES = (".srt", ".vtt", ".json")

_TIMING = re.compile(
    r"^\s*(?P<start>(?:\d+:)?\d{1,2}:\d{2}[,.]\d{1,3})\s*-->\s*"
    r"(?P<end>(?:\d+:)?\d{1,2}:\d{2}[,.]\d{1,3})(?P<settings>\s.*)?$"
)
_TAG = re.compile(r"<[^>]*>")
_SRT_BRACE_TAG = re.compile(r"\{\\[^}]*\}")


class TranscriptError(ValueError):
    """A transcript file that cannot be read; the message says where and why."""


@dataclass(frozen=True)
class Utterance:
    """One timed stretch of speech; ``text`` is empty when nothing says what was spoken."""

    start_s: float
    end_s: float
    text: str = ""

    @property
    def duration_s(self) -> float:
        """Length of the utterance in seconds."""
        return self.end_s - self.start_s


def parse_timestamp(value: str) -> float:
    """Seconds from ``HH:MM:SS,mmm``, ``HH:MM:SS.mmm`` or ``MM:SS.mmm``."""
    parts = value.strip().replace(",", ".").split(":")
    if len(parts) not in (2, 3):
        raise TranscriptError(f"bad timestamp {value!r}")
    try:
        seconds = float(parts[-1])
        minutes = int(parts[-2])
        hours = int(parts[0]) if len(parts) == 3 else 0
    except ValueError as exc:
        raise TranscriptError(f"bad timestamp {value!r}") from exc
    if minutes >= 60 or seconds >= 60:
        raise TranscriptError(f"bad timestamp {value!r}: minutes and seconds must be below 60")
    return hours * 3600 + minutes * 60 + seconds


def _clean_text(lines: Iterable[str]) -> str:
    """Cue text as one line: markup removed, entities decoded, whitespace collapsed."""
    text = " ".join(line.strip() for line in lines)
    text = _SRT_BRACE_TAG.sub("", _TAG.sub("", text))
    return " ".join(html.unescape(text).split())


def _blocks(text: str) -> list[tuple[int, list[str]]]:
    """Blank-line separated blocks with the 1-based line number each starts on."""
    blocks: list[tuple[int, list[str]]] = []
    current: list[str] = []
    start = 0
    for number, line in enumerate(text.splitlines(), start=1):
        if line.strip():
            if not current:
                start = number
            current.append(line)
        elif current:
            blocks.append((start, current))
            current = []
    if current:
        blocks.append((start, current))
    return blocks


def _cue(kind: str, line_no: int, timing: str, text_lines: list[str]) -> Utterance:
    match = _TIMING.match(timing)
    if match is None:
        raise TranscriptError(f"{kind} line {line_no}: expected 'start --> end', got {timing!r}")
    try:
        start, end = parse_timestamp(match["start"]), parse_timestamp(match["end"])
    except TranscriptError as exc:
        raise TranscriptError(f"{kind} line {line_no}: {exc}") from None
    if end <= start:
        raise TranscriptError(f"{kind} line {line_no}: cue ends ({end:.3f} s) before it starts")
    return Utterance(start, end, _clean_text(text_lines))


def parse_srt(text: str) -> list[Utterance]:
    """Cues of a SubRip file (index line optional, ``,`` or ``.`` before milliseconds)."""
    cues = []
    for line_no, block in _blocks(text):
        timing_at = 1 if block[0].strip().isdigit() and len(block) > 1 else 0
        cues.append(_cue("SRT", line_no + timing_at, block[timing_at], block[timing_at + 1 :]))
    return _finish(cues, "SRT")


def parse_vtt(text: str) -> list[Utterance]:
    """Cues of a WebVTT file; NOTE, STYLE and REGION blocks and cue settings are ignored."""
    blocks = _blocks(text)
    if not blocks or not blocks[0][1][0].startswith("WEBVTT"):
        raise TranscriptError("WebVTT: the file must start with 'WEBVTT'")
    cues = []
    for line_no, block in blocks[1:]:
        if block[0].split(" ", 1)[0] in ("NOTE", "STYLE", "REGION"):
            continue
        timing_at = 0 if "-->" in block[0] else 1
        if timing_at >= len(block):
            raise TranscriptError(f"WebVTT line {line_no}: cue identifier without a timing line")
        cues.append(_cue("WebVTT", line_no + timing_at, block[timing_at], block[timing_at + 1 :]))
    return _finish(cues, "WebVTT")


def parse_json(text: str) -> list[Utterance]:
    """Cues of a JSON transcript: ``[{start_s, end_s, text}, …]`` or ``{"utterances": […]}``."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise TranscriptError(f"JSON: not valid JSON ({exc})") from None
    if isinstance(data, dict):
        if "utterances" not in data:
            raise TranscriptError("JSON: an object must have an 'utterances' list")
        data = data["utterances"]
    if not isinstance(data, list):
        raise TranscriptError("JSON: expected a list of {start_s, end_s, text} objects")
    cues = []
    for index, item in enumerate(data):
        where = f"JSON utterance {index}"
        if not isinstance(item, dict):
            raise TranscriptError(f"{where}: expected an object")
        missing = [key for key in ("start_s", "end_s") if key not in item]
        if missing:
            raise TranscriptError(f"{where}: missing {', '.join(missing)}")
        start, end, words = item["start_s"], item["end_s"], item.get("text", "")
        numbers = (start, end)
        if not all(isinstance(v, int | float) and not isinstance(v, bool) for v in numbers):
            raise TranscriptError(f"{where}: start_s and end_s must be numbers of seconds")
        if not isinstance(words, str):
            raise TranscriptError(f"{where}: text must be a string")
        if start < 0 or end <= start:
            raise TranscriptError(f"{where}: needs 0 <= start_s < end_s, got {start}..{end}")
        cues.append(Utterance(float(start), float(end), " ".join(words.split())))
    return _finish(cues, "JSON")


def _finish(cues: list[Utterance], kind: str) -> list[Utterance]:
    if not cues:
        raise TranscriptError(f"{kind}: the transcript has no cues")
    return sorted(cues, key=lambda cue: (cue.start_s, cue.end_s))


_PARSERS = {".srt": parse_srt, ".vtt": parse_vtt, ".json": parse_json}


def transcript_format(name: str, text: str) -> str:
    """The sidecar suffix for a file name, or sniffed from the content when the name has none."""
    suffix = Path(name).suffix.lower()
    if suffix in _PARSERS:
        return suffix
    head = text.lstrip()
    if head.startswith("WEBVTT"):
        return ".vtt"
    if head[:1] in ("[", "{"):
        return ".json"
    if "-->" in head:
        return ".srt"
    raise TranscriptError(
        f"{name!r} is not a transcript: use an .srt, .vtt or .json file"
        " (JSON: a list of {start_s, end_s, text})"
    )


def parse_transcript(data: bytes | str, name: str = "") -> list[Utterance]:
    """Utterances from a sidecar's content; ``name`` (a file name or key) picks the format."""
    if isinstance(data, bytes):
        try:
            data = data.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise TranscriptError(f"transcript {name!r} is not UTF-8 text ({exc.reason})") from None
    data = data.removeprefix("\ufeff")
    try:
        return _PARSERS[transcript_format(name, data)](data)
    except TranscriptError as exc:
        label = f"transcript {name!r}" if name else "transcript"
        raise TranscriptError(f"{label}: {exc}") from None


def load_transcript(path: str | Path) -> list[Utterance]:
    """Utterances from a sidecar file."""
    path = Path(path)
    return parse_transcript(path.read_bytes(), path.name)


def find_sidecar(video: str | Path) -> Path | None:
    """The transcript beside ``video`` with the same stem (.srt, then .vtt, then .json), if any."""
    video = Path(video)
    for suffix in SIDECAR_SUFFIXES:
        candidate = video.with_suffix(suffix)
        if candidate.is_file():
            return candidate
    return None
