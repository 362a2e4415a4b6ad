"""A sample video with speech and its SRT sidecar, for the demo and the end-to-end tests."""

from __future__ import annotations

import shutil
from pathlib import Path

from vsent.local.synthetic import SyntheticUtterance, make_speech_video

SAMPLE_UTTERANCES = (
    SyntheticUtterance("I can't believe we actually won the tickets!", 0.4, 2.8, "joy"),
    SyntheticUtterance("Why would you throw my letters away?", 3.4, 5.8, "anger"),
    SyntheticUtterance("I miss her every single day.", 6.4, 8.6, "sadness"),
    SyntheticUtterance("Wait, you are moving to Paris?", 9.2, 11.2, "surprise"),
)
# One short line: the clip of tests that upload many videos.
SHORT_LINE = (SyntheticUtterance("Hello there.", 0.2, 1.2, "joy"),)


def srt_timestamp(seconds: float) -> str:
    """`HH:MM:SS,mmm`."""
    millis = round(seconds * 1000)
    hours, millis = divmod(millis, 3_600_000)
    minutes, millis = divmod(millis, 60_000)
    secs, millis = divmod(millis, 1000)
    return f"{hours:02d}:{minutes:02d}:{secs:02d},{millis:03d}"


def write_srt(path: Path, utterances: tuple[SyntheticUtterance, ...]) -> Path:
    """An SRT file with one cue per utterance."""
    cues = [
        f"{index}\n{srt_timestamp(u.start_s)} --> {srt_timestamp(u.end_s)}\n{u.text}\n"
        for index, u in enumerate(utterances, start=1)
    ]
    path.write_text("\n".join(cues), encoding="utf-8")
    return path


def make_sample(
    folder: Path,
    name: str = "sample",
    utterances: tuple[SyntheticUtterance, ...] = SAMPLE_UTTERANCES,
    seed: int = 0,
) -> tuple[Path, Path]:
    """Write `{name}.mp4` (speech at the utterances' times) and `{name}.srt` into `folder`."""
    folder.mkdir(parents=True, exist_ok=True)
    video = make_speech_video(folder / f"{name}.mp4", list(utterances), seed=seed)
    return video, write_srt(folder / f"{name}.srt", utterances)


def sample_copies(
    folder: Path, count: int, utterances: tuple[SyntheticUtterance, ...] = SHORT_LINE
) -> list[tuple[Path, Path]]:
    """`count` copies of one sample, `clip-NN.mp4` with `clip-NN.srt` in `folder`: distinct
    uploads for the price of one encode."""
    video, transcript = make_sample(folder / "one", "clip", utterances)
    copies = []
    for index in range(count):
        copy = folder / f"clip-{index:02d}.mp4"
        shutil.copyfile(video, copy)
        shutil.copyfile(transcript, copy.with_suffix(".srt"))
        copies.append((copy, copy.with_suffix(".srt")))
    return copies
