"""The utterances of a video: transcript sidecar → speech recognition → VAD.

A video without speech (no audio track, or silence) has no utterances; its picture is still
scored, over fixed windows (method "none"). Fixed windows as utterances only on request.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import torch

from vs_model.asr import SpeechRecognizer
from vs_model.transcripts import TranscriptError, Utterance
from vs_model.vad import VadConfig, detect_speech, fixed_windows

Method = Literal["transcript", "asr", "vad", "fixed", "none"]
Requested = Literal["auto", "transcript", "asr", "vad", "fixed"]


class SegmentationError(ValueError):
    """The requested segmentation cannot be done for this video."""


@dataclass(frozen=True)
class SegmentationOptions:
    """How to cut a video into utterances; ``method="auto"`` takes the best source available."""

    method: Requested = "auto"
    fixed_window_s: float = 5.0
    language: str | None = None
    vad: VadConfig = field(default_factory=VadConfig)


@dataclass(frozen=True)
class Segmentation:
    """The utterances of a video, which source they came from, and anything the user should know."""

    method: Method
    utterances: list[Utterance]
    warnings: list[str] = field(default_factory=list)
    # Without speech: the windows over which the picture alone is scored.
    picture: list[Utterance] = field(default_factory=list)

    @property
    def windows(self) -> list[Utterance]:
        """Every span the model scores: the utterances, or the picture's windows."""
        return self.utterances or self.picture


def clip_to_video(cues: list[Utterance], duration_s: float) -> tuple[list[Utterance], list[str]]:
    """Cues cut to [0, duration_s]; cues wholly past the end are dropped with a warning."""
    kept = [
        Utterance(cue.start_s, min(cue.end_s, duration_s), cue.text)
        for cue in cues
        if cue.start_s < duration_s
    ]
    if not kept:
        raise TranscriptError(
            f"no cue of the transcript falls within the video (which is {duration_s:.2f} s long)"
        )
    dropped = len(cues) - len(kept)
    warnings = (
        [f"{dropped} transcript cue(s) start after the end of the video and were ignored"]
        if dropped
        else []
    )
    return kept, warnings


def _fixed(duration_s: float, options: SegmentationOptions) -> Segmentation:
    windows = fixed_windows(duration_s, options.fixed_window_s)
    return Segmentation("fixed", [Utterance(s, e) for s, e in windows])


def _no_speech(duration_s: float, options: SegmentationOptions, why: str) -> Segmentation:
    windows = fixed_windows(duration_s, options.fixed_window_s)
    return Segmentation(
        "none",
        [],
        [f"no speech: {why}; emotion and sentiment come from the picture alone"],
        [Utterance(s, e) for s, e in windows],
    )


def needs_audio(transcript: list[Utterance] | None, options: SegmentationOptions) -> bool:
    """Whether segmenting needs the decoded audio track (so it is decoded before the frames)."""
    if options.method == "fixed":
        return False
    return transcript is None or options.method in ("asr", "vad")


def segment(
    duration_s: float,
    audio: torch.Tensor,
    sample_rate: int,
    transcript: list[Utterance] | None = None,
    recognizer: SpeechRecognizer | None = None,
    options: SegmentationOptions | None = None,
) -> Segmentation:
    """Utterances of a video of ``duration_s`` seconds whose mono track is ``audio``.

    ``audio`` is empty for a video without sound. An explicitly requested method that cannot apply
    (no transcript, no speech model, no audio) is an error rather than a silent substitute.
    """
    options = options or SegmentationOptions()
    method = options.method
    if method == "transcript" and transcript is None:
        raise SegmentationError("segmentation 'transcript' was requested but no transcript given")
    if method == "asr" and recognizer is None:
        raise SegmentationError("segmentation 'asr' was requested but no speech model is set up")
    if method in ("asr", "vad") and audio.numel() == 0:
        raise SegmentationError(f"segmentation {method!r} needs an audio track; the video has none")
    if method == "fixed":
        return _fixed(duration_s, options)
    if transcript is not None and method in ("auto", "transcript"):
        cues, warnings = clip_to_video(transcript, duration_s)
        return Segmentation("transcript", cues, warnings)
    if audio.numel() == 0:
        return _no_speech(duration_s, options, "the video has no audio track")
    speech = detect_speech(audio, sample_rate, options.vad)
    if not speech:
        return _no_speech(duration_s, options, "none was detected in the audio")
    if recognizer is not None and method in ("auto", "asr"):
        return Segmentation(
            "asr", recognizer.transcribe(audio, sample_rate, speech, options.language)
        )
    return Segmentation("vad", [Utterance(start, end) for start, end in speech])
