"""Reader of the MELD CSVs and their clip folders, with every quirk of the published files.

MELD ships one CSV per split (``train_sent_emo.csv``, ``dev_sent_emo.csv``, ``test_sent_emo.csv``)
and one folder of clips per split named ``dia{Dialogue_ID}_utt{Utterance_ID}.mp4``. The quirks:

- timestamps come as ``hh:mm:ss,mmm`` and ``hh:mm:ss.mmm``, with one- or two-digit hours and
  sometimes fewer than three fraction digits (``00:06:47,28`` is 0.28 s past the second);
- ``Sr No.`` is not unique in train, so an utterance is keyed on ``Dialogue_ID`` + ``Utterance_ID``;
- older copies of the CSVs carry mojibake: cp1252 bytes read as Latin-1 (U+0092 for ’) or UTF-8
  read as cp1252 (``â€™`` for ’);
- one train clip is corrupt (dia125_utt3) and one dev clip is missing (dia110_utt7).
"""

from __future__ import annotations

import csv
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from vs_model.labels import EMOTION_INDEX, SENTIMENT_INDEX

SPLITS = ("train", "dev", "test")
CSV_NAMES = {
    "train": "train_sent_emo.csv",
    "dev": "dev_sent_emo.csv",
    "test": "test_sent_emo.csv",
}
CLIP_FOLDERS = {
    "train": "train_splits",
    "dev": "dev_splits_complete",
    "test": "output_repeated_splits_test",
}
# Every column of the published CSVs, in their order.
MELD_COLUMNS = (
    "Sr No.",
    "Utterance",
    "Speaker",
    "Emotion",
    "Sentiment",
    "Dialogue_ID",
    "Utterance_ID",
    "Season",
    "Episode",
    "StartTime",
    "EndTime",
)
# Clips the published archives are known to get wrong; skipped without trying to decode them.
KNOWN_BAD_CLIPS = {
    "train": {"dia125_utt3": "corrupt"},
    "dev": {"dia110_utt7": "missing"},
    "test": {},
}
# The row number and the episode are informative only; the reader needs every other column.
OPTIONAL_COLUMNS = ("Sr No.", "Season", "Episode")
REQUIRED_COLUMNS = tuple(c for c in MELD_COLUMNS if c not in OPTIONAL_COLUMNS)

_TIMESTAMP = re.compile(r"^\s*(?:(\d+):)?(\d{1,2}):(\d{1,2})(?:[,.:;](\d+))?\s*$")
# Each byte 0x80-0xFF as a cp1252 reader shows it; the five bytes cp1252 leaves undefined show
# up as the C1 control of the same number (what Latin-1 and most lenient readers produce).
_CP1252_BYTE = {
    bytes([b]).decode("cp1252", errors="ignore") or chr(b): b for b in range(0x80, 0x100)
}
_CONTINUATION = "".join(re.escape(c) for c, b in _CP1252_BYTE.items() if b < 0xC0)
# UTF-8 read as cp1252: the lead byte of the sequences MELD's text holds (Â, Ã: two bytes;
# â: three bytes, as in â€™ for ’) followed by continuation bytes.
_UTF8_AS_CP1252 = re.compile(f"[ÂÃ][{_CONTINUATION}]|â[{_CONTINUATION}]{{2}}")
_C1_CONTROLS = re.compile("[\u0080-\u009f]")


class MeldFormatError(ValueError):
    """A MELD CSV that cannot be read: missing columns, unknown labels, bad timestamps."""


@dataclass(frozen=True)
class MeldUtterance:
    """One row of a MELD CSV, with its clip path when the clip folder is known."""

    split: str
    dialogue_id: int
    utterance_id: int
    text: str
    speaker: str
    emotion: str
    sentiment: str
    start_s: float
    end_s: float
    season: int | None = None
    episode: int | None = None
    clip: Path | None = None

    @property
    def key(self) -> str:
        """The clip stem, ``dia{D}_utt{U}``: unique within a split."""
        return f"dia{self.dialogue_id}_utt{self.utterance_id}"

    @property
    def emotion_index(self) -> int:
        """Index of the emotion in :data:`vs_model.labels.EMOTIONS`."""
        return EMOTION_INDEX[self.emotion]

    @property
    def sentiment_index(self) -> int:
        """Index of the sentiment in :data:`vs_model.labels.SENTIMENTS`."""
        return SENTIMENT_INDEX[self.sentiment]


@dataclass
class MeldSplit:
    """The usable utterances of one split and a count of what was skipped and why."""

    name: str
    utterances: list[MeldUtterance]
    skipped: dict[str, list[str]] = field(default_factory=dict)

    @property
    def skipped_counts(self) -> dict[str, int]:
        """Number of skipped utterances per reason (``missing``, ``corrupt``, ``duplicate``)."""
        return {reason: len(keys) for reason, keys in self.skipped.items()}


def parse_timestamp(text: str) -> float:
    """Seconds from a MELD timestamp in any of the formats the CSVs use.

    The fraction is a decimal fraction of a second, so ``,28`` is 280 ms, not 28 ms.
    """
    match = _TIMESTAMP.match(text)
    if match is None:
        raise MeldFormatError(f"not a timestamp: {text!r} (expected hh:mm:ss,mmm)")
    hours, minutes, seconds, fraction = match.groups()
    value = int(hours or 0) * 3600 + int(minutes) * 60 + int(seconds)
    if fraction:
        value += int(fraction) / 10 ** len(fraction)
    return round(float(value), 3)


def repair_text(text: str) -> str:
    """Undo the mojibake of older MELD CSVs and normalise whitespace.

    Two kinds occur: cp1252 bytes decoded as Latin-1 leave C1 control characters (U+0092 for ’),
    and UTF-8 decoded as cp1252 leaves sequences such as ``â€™``.
    """
    text = _UTF8_AS_CP1252.sub(_redecode_utf8, text)
    text = _C1_CONTROLS.sub(_redecode_cp1252, text)
    return " ".join(text.split())


def _redecode_utf8(match: re.Match[str]) -> str:
    chunk = match.group(0)
    try:
        return bytes(_CP1252_BYTE[c] for c in chunk).decode("utf-8")
    except (KeyError, UnicodeError):
        return chunk


def _redecode_cp1252(match: re.Match[str]) -> str:
    char = match.group(0)
    try:
        return char.encode("latin-1").decode("cp1252")
    except UnicodeError:
        # Five C1 bytes are undefined in cp1252; they carry no text.
        return ""


def read_csv(path: Path, split: str) -> tuple[list[MeldUtterance], list[str]]:
    """Rows of one MELD CSV as utterances, and the keys of duplicate rows that were dropped.

    Raises :class:`MeldFormatError` naming the file and line for anything that is not MELD.
    """
    path = Path(path)
    utterances: list[MeldUtterance] = []
    duplicates: list[str] = []
    seen: set[str] = set()
    with path.open(encoding="utf-8-sig", errors="surrogateescape", newline="") as handle:
        reader = csv.DictReader(handle)
        missing = [c for c in REQUIRED_COLUMNS if c not in (reader.fieldnames or [])]
        if missing:
            raise MeldFormatError(f"{path}: not a MELD CSV, missing columns {', '.join(missing)}")
        for row in reader:
            try:
                utterance = _row_to_utterance(row, split)
            except (KeyError, ValueError) as error:
                raise MeldFormatError(f"{path}, line {reader.line_num}: {error}") from error
            if utterance.key in seen:
                duplicates.append(utterance.key)
                continue
            seen.add(utterance.key)
            utterances.append(utterance)
    return utterances, duplicates


def _row_to_utterance(row: dict[str, str], split: str) -> MeldUtterance:
    emotion = row["Emotion"].strip().lower()
    sentiment = row["Sentiment"].strip().lower()
    if emotion not in EMOTION_INDEX:
        raise ValueError(f"unknown emotion {emotion!r}")
    if sentiment not in SENTIMENT_INDEX:
        raise ValueError(f"unknown sentiment {sentiment!r}")
    return MeldUtterance(
        split=split,
        dialogue_id=int(row["Dialogue_ID"]),
        utterance_id=int(row["Utterance_ID"]),
        text=repair_text(_undo_surrogates(row["Utterance"])),
        speaker=repair_text(_undo_surrogates(row["Speaker"])),
        emotion=emotion,
        sentiment=sentiment,
        start_s=parse_timestamp(row["StartTime"]),
        end_s=parse_timestamp(row["EndTime"]),
        season=_optional_int(row.get("Season")),
        episode=_optional_int(row.get("Episode")),
    )


def _undo_surrogates(text: str) -> str:
    """Bytes that were not UTF-8 at all are cp1252 (the old CSVs' encoding)."""
    if not any("\udc80" <= c <= "\udcff" for c in text):
        return text
    return text.encode("utf-8", errors="surrogateescape").decode("cp1252", errors="replace")


def _optional_int(value: str | None) -> int | None:
    value = (value or "").strip()
    return int(value) if value else None


def find_csv(folder: Path, split: str) -> Path:
    """The CSV of ``split`` in ``folder``; a folder holding a single ``*_sent_emo.csv`` also counts.

    A SageMaker channel may hold just one split under its own name (for example only
    ``dev_sent_emo.csv`` in the validation channel).
    """
    folder = Path(folder)
    exact = folder / CSV_NAMES[split]
    if exact.is_file():
        return exact
    candidates = sorted(folder.glob("*_sent_emo.csv"))
    if len(candidates) == 1:
        return candidates[0]
    found = ", ".join(p.name for p in candidates) or "none"
    raise MeldFormatError(
        f"{folder}: no {CSV_NAMES[split]} (MELD CSVs found: {found}); expected MELD's layout"
    )


def find_clip_folder(folder: Path, split: str, csv_path: Path | None = None) -> Path:
    """The clip folder of ``split`` under ``folder`` (MELD's name, else the CSV's split name)."""
    folder = Path(folder)
    names = [CLIP_FOLDERS[split]]
    if csv_path is not None:
        csv_split = Path(csv_path).name.removesuffix("_sent_emo.csv")
        if csv_split in CLIP_FOLDERS:
            names.append(CLIP_FOLDERS[csv_split])
    for name in names:
        if (folder / name).is_dir():
            return folder / name
    raise MeldFormatError(f"{folder}: no clip folder {' or '.join(names)}")


def load_split(folder: Path, split: str, *, require_clips: bool = True) -> MeldSplit:
    """The utterances of ``split`` found in a MELD-layout ``folder``, each with its clip path.

    Utterances whose clip is missing, or known to be corrupt, are skipped and listed in
    :attr:`MeldSplit.skipped` by reason, as are duplicate rows. With ``require_clips=False``
    (text-only use) every row is kept and ``clip`` stays ``None`` when there is no folder.
    """
    if split not in SPLITS:
        raise ValueError(f"unknown MELD split {split!r}; expected one of {', '.join(SPLITS)}")
    csv_path = find_csv(folder, split)
    rows, duplicates = read_csv(csv_path, split)
    skipped: dict[str, list[str]] = {}
    if duplicates:
        skipped["duplicate"] = duplicates
    try:
        clips = find_clip_folder(folder, split, csv_path)
    except MeldFormatError:
        if require_clips:
            raise
        return MeldSplit(split, rows, skipped)

    available = {p.stem for p in clips.glob("*.mp4")}
    known_bad = KNOWN_BAD_CLIPS[split]
    kept: list[MeldUtterance] = []
    for row in rows:
        if row.key in known_bad:
            skipped.setdefault(known_bad[row.key], []).append(row.key)
        elif row.key not in available:
            skipped.setdefault("missing", []).append(row.key)
        else:
            kept.append(_with_clip(row, clips / f"{row.key}.mp4"))
    return MeldSplit(split, kept, skipped)


def load_text_split(path: Path, split: str) -> MeldSplit:
    """Every row of ``split`` from a MELD CSV file or a folder holding one; clips are not needed.

    What text-only training and evaluation read: any release of MELD's CSVs, media or not.
    """
    path = Path(path)
    if path.is_file():
        rows, duplicates = read_csv(path, split)
        return MeldSplit(split, rows, {"duplicate": duplicates} if duplicates else {})
    return load_split(path, split, require_clips=False)


def has_media(folder: Path, split: str) -> bool:
    """Whether a MELD folder holds the clip folder of ``split`` next to its CSV."""
    folder = Path(folder)
    if not folder.is_dir():
        return False
    try:
        find_clip_folder(folder, split, find_csv(folder, split))
    except MeldFormatError:
        return False
    return True


def preceding_utterances(utterances: list[MeldUtterance]) -> list[list[MeldUtterance]]:
    """For each utterance, the earlier utterances of its dialogue, oldest first.

    Order within a dialogue is ``Utterance_ID``; utterances missing from the list (skipped
    clips, dropped duplicates) are simply absent from the others' context.
    """
    dialogues: dict[int, list[MeldUtterance]] = {}
    for utterance in utterances:
        dialogues.setdefault(utterance.dialogue_id, []).append(utterance)
    for turns in dialogues.values():
        turns.sort(key=lambda u: u.utterance_id)
    return [
        [u for u in dialogues[item.dialogue_id] if u.utterance_id < item.utterance_id]
        for item in utterances
    ]


def _with_clip(row: MeldUtterance, clip: Path) -> MeldUtterance:
    return MeldUtterance(**{**row.__dict__, "clip": clip})


def label_counts(utterances: list[MeldUtterance]) -> dict[str, Counter[str]]:
    """Counts of each emotion and sentiment label, for class weights and reports."""
    return {
        "emotion": Counter(u.emotion for u in utterances),
        "sentiment": Counter(u.sentiment for u in utterances),
    }
