"""Synthetic speech videos and a synthetic dataset in MELD's exact layout.

Every signal carries the label: the words (emotion-specific sentences), the voice (espeak-ng pitch
and speed per emotion) and the picture (a background colour and a moving shape per emotion, with
noise). Videos are H.264 + AAC mp4 files written with PyAV.
"""

from __future__ import annotations

import csv
import os
import struct
import subprocess
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
from tqdm import tqdm

from vs_model.labels import EMOTIONS
from vs_model.meld import CLIP_FOLDERS, CSV_NAMES, MELD_COLUMNS
from vs_model.meld import SPLITS as MELD_SPLITS

SPEECH_RATE = 22050  # espeak-ng's native rate; the media code resamples it to 16 kHz
AUDIO_RATE = 22050
AAC_FRAME = 1024
IDLE_COLOUR = (20, 20, 20)  # the picture outside any utterance

EMOTION_COLOURS: dict[str, tuple[int, int, int]] = {
    "anger": (210, 30, 30),
    "disgust": (70, 150, 30),
    "fear": (110, 40, 160),
    "joy": (245, 205, 40),
    "neutral": (128, 128, 128),
    "sadness": (30, 60, 190),
    "surprise": (245, 120, 205),
}
# espeak-ng pitch (0-99) and speed (words per minute) per emotion.
EMOTION_VOICES: dict[str, tuple[int, int]] = {
    "anger": (35, 210),
    "disgust": (25, 140),
    "fear": (80, 225),
    "joy": (72, 190),
    "neutral": (50, 165),
    "sadness": (15, 115),
    "surprise": (92, 175),
}
# Sentences per emotion with the sentiment MELD would give them (surprise depends on the words).
TEMPLATES: dict[str, tuple[tuple[str, str], ...]] = {
    "anger": (
        ("I am so angry with you!", "negative"),
        ("Stop yelling at me right now!", "negative"),
        ("This makes me furious.", "negative"),
        ("How dare you do that to me!", "negative"),
        ("Get out of my room!", "negative"),
        ("I hate it when you lie to me.", "negative"),
    ),
    "disgust": (
        ("That is so gross.", "negative"),
        ("Ew, this smells awful.", "negative"),
        ("That is disgusting.", "negative"),
        ("I feel sick looking at it.", "negative"),
        ("Yuck, get it away from me.", "negative"),
        ("That food is nasty.", "negative"),
    ),
    "fear": (
        ("I am really scared.", "negative"),
        ("Please do not leave me alone.", "negative"),
        ("What was that noise?", "negative"),
        ("I am afraid of the dark.", "negative"),
        ("Help me, I am terrified!", "negative"),
        ("Something is wrong here.", "negative"),
    ),
    "joy": (
        ("I am so happy today!", "positive"),
        ("This is wonderful news!", "positive"),
        ("We won the big game!", "positive"),
        ("I love this party.", "positive"),
        ("You made my day.", "positive"),
        ("That is great, thank you!", "positive"),
    ),
    "neutral": (
        ("I will be at the office.", "neutral"),
        ("The meeting is at noon.", "neutral"),
        ("Can you pass the salt?", "neutral"),
        ("We need more coffee.", "neutral"),
        ("The bus comes at five.", "neutral"),
        ("I read the paper this morning.", "neutral"),
    ),
    "sadness": (
        ("I miss her so much.", "negative"),
        ("I feel so alone.", "negative"),
        ("Nobody came to my birthday.", "negative"),
        ("I lost my job today.", "negative"),
        ("It is over between us.", "negative"),
        ("I just want to cry.", "negative"),
    ),
    "surprise": (
        ("Wow, you got me a puppy!", "positive"),
        ("No way, you are getting married!", "positive"),
        ("Oh my god, what a lovely surprise!", "positive"),
        ("Really? You got the job!", "positive"),
        ("What? You broke my car?", "negative"),
        ("Oh no, you lost the ring?", "negative"),
        ("Wait, you are moving away?", "negative"),
        ("No way, he cheated on you?", "negative"),
    ),
}
SPEAKERS = ("Rachel", "Ross", "Monica", "Chandler", "Joey", "Phoebe")
# Each split's (CSV name, clip folder), in MELD's split order; the names are vs_model.meld's.
SPLITS: dict[str, tuple[str, str]] = {
    split: (CSV_NAMES[split], CLIP_FOLDERS[split]) for split in MELD_SPLITS
}


@dataclass(frozen=True)
class SyntheticUtterance:
    """One spoken line placed in a video: its words, its time span and the emotion it carries."""

    text: str
    start_s: float
    end_s: float
    emotion: str


def _wav_samples(data: bytes) -> np.ndarray:
    """int16 PCM of a RIFF/WAVE byte string (espeak-ng's streamed header has bogus sizes)."""
    pos = 12
    while pos + 8 <= len(data):
        chunk, size = data[pos : pos + 4], struct.unpack("<I", data[pos + 4 : pos + 8])[0]
        if chunk == b"data":
            pcm = data[pos + 8 :]
            return np.frombuffer(pcm[: len(pcm) // 2 * 2], dtype="<i2")
        pos += 8 + size
    raise RuntimeError("espeak-ng produced no audio data")


def speak(text: str, emotion: str, pitch_shift: int = 0) -> np.ndarray:
    """espeak-ng speech of `text` in the emotion's voice: float32 mono at SPEECH_RATE."""
    pitch, speed = EMOTION_VOICES[emotion]
    pitch = min(99, max(0, pitch + pitch_shift))
    result = subprocess.run(
        ["espeak-ng", "-v", "en-us", "-p", str(pitch), "-s", str(speed), "--stdout", text],
        check=True,
        capture_output=True,
    )
    return _wav_samples(result.stdout).astype(np.float32) / 32768.0


def _picture(
    emotion: str | None, t: float, size: tuple[int, int], rng: np.random.Generator
) -> np.ndarray:
    """One RGB frame: emotion colour, a bright disc moving with an emotion-specific path, noise."""
    w, h = size
    colour = EMOTION_COLOURS[emotion] if emotion is not None else IDLE_COLOUR
    image = np.empty((h, w, 3), dtype=np.int16)
    image[:] = colour
    if emotion is not None:
        k = EMOTIONS.index(emotion)
        cx = w * (0.5 + 0.3 * np.cos(2 * np.pi * (0.3 + 0.1 * k) * t + k))
        cy = h * (0.5 + 0.25 * np.sin(2 * np.pi * (0.2 + 0.05 * k) * t))
        yy, xx = np.ogrid[:h, :w]
        radius = h * (0.08 + 0.02 * k)
        image[(xx - cx) ** 2 + (yy - cy) ** 2 <= radius**2] = 255 - np.array(colour) // 3
    image += rng.integers(-18, 19, size=image.shape, dtype=np.int16)
    return np.clip(image, 0, 255).astype(np.uint8)


def _soundtrack(
    utterances: Sequence[SyntheticUtterance],
    speech: Sequence[np.ndarray],
    seconds: float,
    rng: np.random.Generator,
) -> np.ndarray:
    track = rng.normal(0.0, 0.0005, round(seconds * AUDIO_RATE)).astype(np.float32)
    for utt, voice in zip(utterances, speech, strict=True):
        first = round(utt.start_s * AUDIO_RATE)
        room = max(0, min(round(utt.end_s * AUDIO_RATE), track.size) - first)
        piece = voice[:room].copy()
        fade = min(piece.size, AUDIO_RATE // 100)
        if fade:
            # Cut speech ends softly so a cropped line does not click.
            piece[-fade:] *= np.linspace(1.0, 0.0, fade, dtype=np.float32)
        track[first : first + piece.size] += piece
    return track


def make_speech_video(
    path: str | Path,
    utterances: Sequence[SyntheticUtterance],
    size: tuple[int, int] = (160, 120),
    fps: float = 10,
    with_audio: bool = True,
    seconds: float | None = None,
    *,
    seed: int = 0,
    rotation: int = 0,
    pitch_shift: int = 0,
    speech: Sequence[np.ndarray] | None = None,
) -> Path:
    """Write an H.264/AAC mp4 with espeak-ng speech at the utterances' times, silence elsewhere.

    During an utterance the picture shows its emotion's colour and moving disc; otherwise a dark
    idle picture. `seconds` defaults to the last utterance's end plus half a second. `rotation`
    stores display-rotation metadata (degrees counter-clockwise) without turning the pixels.
    `speech` may hold already rendered `speak()` output, one per utterance.
    """
    for utt in utterances:
        if utt.emotion not in EMOTION_COLOURS:
            raise ValueError(f"unknown emotion {utt.emotion!r}")
        if not 0 <= utt.start_s <= utt.end_s:
            raise ValueError(f"bad utterance times {utt.start_s}..{utt.end_s}")
    if seconds is None:
        seconds = max((u.end_s for u in utterances), default=0.5) + 0.5
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    rate = Fraction(fps).limit_denominator(1001)
    n_frames = max(1, round(seconds * float(rate)))
    with av.open(str(out), mode="w", format="mp4") as container:
        video = container.add_stream("libx264", rate=rate, options={"preset": "ultrafast"})
        video.width, video.height = size
        video.pix_fmt = "yuv420p"
        if rotation:
            video.set_display_rotation(rotation)
        audio = None
        if with_audio:
            # The native encoder's default coder costs more than everything else here together.
            audio = container.add_stream(
                "aac", rate=AUDIO_RATE, layout="stereo", options={"aac_coder": "fast"}
            )
        for i in range(n_frames):
            t = i / float(rate)
            emotion = next((u.emotion for u in utterances if u.start_s <= t < u.end_s), None)
            frame = av.VideoFrame.from_ndarray(_picture(emotion, t, size, rng), format="rgb24")
            frame.pts = i
            frame.time_base = 1 / rate
            container.mux(video.encode(frame))
        container.mux(video.encode(None))
        if audio is not None:
            if speech is None:
                speech = [speak(u.text, u.emotion, pitch_shift) for u in utterances]
            _write_audio(container, audio, _soundtrack(utterances, speech, seconds, rng))
    return out


def _write_audio(
    container: av.container.OutputContainer, stream: av.audio.stream.AudioStream, track: np.ndarray
) -> None:
    stereo = np.stack([track, track]).astype(np.float32)
    for first in range(0, stereo.shape[1], AAC_FRAME):
        chunk = np.ascontiguousarray(stereo[:, first : first + AAC_FRAME])
        frame = av.AudioFrame.from_ndarray(chunk, format="fltp", layout="stereo")
        frame.sample_rate = AUDIO_RATE
        frame.pts = first
        frame.time_base = Fraction(1, AUDIO_RATE)
        container.mux(stream.encode(frame))
    container.mux(stream.encode(None))


def _timestamp(seconds: float) -> str:
    """MELD's "hh:mm:ss,mmm"."""
    ms = round(seconds * 1000)
    return f"{ms // 3_600_000:02d}:{ms // 60_000 % 60:02d}:{ms // 1000 % 60:02d},{ms % 1000:03d}"


@dataclass(frozen=True)
class _Clip:
    path: Path
    text: str
    emotion: str
    pitch_shift: int
    seed: int


def _write_clip(clip: _Clip) -> None:
    speech = speak(clip.text, clip.emotion, clip.pitch_shift)
    # Clips are the utterance itself, 1 to 2.5 s long, as MELD's are cut to the line.
    seconds = float(np.clip(speech.size / SPEECH_RATE + 0.3, 1.0, 2.5))
    utt = SyntheticUtterance(clip.text, 0.15, seconds - 0.1, clip.emotion)
    make_speech_video(clip.path, [utt], seconds=seconds, seed=clip.seed, speech=[speech])


def make_meld_dataset(
    root: str | Path,
    n_dialogues_per_split: int | Mapping[str, int],
    seed: int = 0,
    *,
    utterances_per_dialogue: int = 3,
    workers: int | None = None,
) -> Path:
    """Write a synthetic dataset in MELD's layout under `root` and return `root`.

    `n_dialogues_per_split` is one count for all three splits or a {"train"|"dev"|"test": n} map.
    Emotions are balanced within each split; sentiment follows MELD's rules (surprise takes the
    sentiment of its words).
    """
    out = Path(root)
    out.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    clips: list[_Clip] = []
    for split, (csv_name, folder) in SPLITS.items():
        count = (
            n_dialogues_per_split
            if isinstance(n_dialogues_per_split, int)
            else n_dialogues_per_split.get(split, 0)
        )
        (out / folder).mkdir(exist_ok=True)
        rows, split_clips = _split_rows(out / folder, count, utterances_per_dialogue, rng)
        clips += split_clips
        with (out / csv_name).open("w", encoding="utf-8", newline="") as f:
            writer = csv.writer(f)
            writer.writerow(MELD_COLUMNS)
            writer.writerows(rows)
    _write_clips(clips, workers)
    return out


def _split_rows(
    folder: Path, n_dialogues: int, per_dialogue: int, rng: np.random.Generator
) -> tuple[list[list[object]], list[_Clip]]:
    total = n_dialogues * per_dialogue
    emotions = rng.permutation(np.resize(np.array(EMOTIONS), total)).tolist()
    rows: list[list[object]] = []
    clips: list[_Clip] = []
    for d in range(n_dialogues):
        season, episode = int(rng.integers(1, 11)), int(rng.integers(1, 25))
        clock = float(rng.uniform(30, 1200))
        for u in range(per_dialogue):
            emotion = emotions[d * per_dialogue + u]
            text, sentiment = TEMPLATES[emotion][int(rng.integers(len(TEMPLATES[emotion])))]
            speaker = SPEAKERS[int(rng.integers(len(SPEAKERS)))]
            length = float(rng.uniform(1.0, 2.5))
            rows.append(
                [
                    len(rows) + 1,
                    text,
                    speaker,
                    emotion,
                    sentiment,
                    d,
                    u,
                    season,
                    episode,
                    _timestamp(clock),
                    _timestamp(clock + length),
                ]
            )
            clock += length + float(rng.uniform(0.2, 2.0))
            clips.append(
                _Clip(
                    path=folder / f"dia{d}_utt{u}.mp4",
                    text=text,
                    emotion=emotion,
                    pitch_shift=SPEAKERS.index(speaker) * 2 - 5,
                    seed=int(rng.integers(2**31)),
                )
            )
    return rows, clips


def _write_clips(clips: Sequence[_Clip], workers: int | None) -> None:
    # espeak-ng runs as a subprocess, so twice the cores keeps them busy.
    workers = workers or min(len(clips), 2 * (os.cpu_count() or 1))
    progress = tqdm(total=len(clips), desc="synthetic clips", unit="clip", disable=None)
    with progress:
        if workers <= 1 or len(clips) < 8:
            for clip in clips:
                _write_clip(clip)
                progress.update()
            return
        # Threads suffice: espeak-ng runs as a subprocess and PyAV encodes without the GIL, and
        # unlike worker processes they work from any caller (pytest, a REPL, a torch program).
        with ThreadPoolExecutor(workers) as pool:
            for _ in pool.map(_write_clip, clips):
                progress.update()
