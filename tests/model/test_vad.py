"""Voice-activity segmentation: spoken parts of a generated video, hysteresis, splitting."""

import itertools

import numpy as np
import pytest
import torch
import torchaudio

from vs_model.media import load_audio
from vs_model.vad import VadConfig, detect_speech, fixed_windows
from vsent.local.synthetic import SPEECH_RATE, SyntheticUtterance, make_speech_video, speak

RATE = 16000
LINES = [
    SyntheticUtterance("Good morning everyone, it is lovely to see you", 0.8, 4.6, "joy"),
    SyntheticUtterance("I cannot believe you did that", 6.0, 8.5, "anger"),
    SyntheticUtterance("Oh no", 10.2, 11.5, "fear"),
]


def spoken_span(utterance: SyntheticUtterance) -> tuple[float, float]:
    """Where the voice really is: espeak-ng's own leading and trailing silence excluded."""
    speech = speak(utterance.text, utterance.emotion)
    room = round((utterance.end_s - utterance.start_s) * SPEECH_RATE)
    loud = np.flatnonzero(np.abs(speech[:room]) > 0.02)
    return (
        utterance.start_s + loud[0] / SPEECH_RATE,
        utterance.start_s + (loud[-1] + 1) / SPEECH_RATE,
    )


@pytest.fixture(scope="module")
def track(tmp_path_factory) -> torch.Tensor:
    video = make_speech_video(tmp_path_factory.mktemp("vad") / "talk.mp4", LINES, seconds=13.0)
    return load_audio(video, RATE)


def speech_like(seconds: float, seed: int = 0) -> torch.Tensor:
    """Noise bursts with a syllable-like 4 Hz envelope that never falls silent for long."""
    t = torch.arange(round(seconds * RATE)) / RATE
    envelope = 0.55 + 0.45 * torch.sin(2 * torch.pi * 4 * t)
    generator = torch.Generator().manual_seed(seed)
    return 0.3 * envelope * torch.randn(t.numel(), generator=generator)


def test_finds_the_spoken_parts_of_a_generated_video(track: torch.Tensor) -> None:
    found = detect_speech(track, RATE)
    expected = [spoken_span(line) for line in LINES]
    assert len(found) == len(expected)
    for (start, end), (true_start, true_end) in zip(found, expected, strict=True):
        assert start == pytest.approx(true_start, abs=0.3)
        assert end == pytest.approx(true_end, abs=0.3)


def test_thresholds_follow_the_track_not_the_gain(track: torch.Tensor) -> None:
    assert detect_speech(track * 0.05, RATE) == detect_speech(track, RATE)


def test_silent_and_empty_tracks_have_no_speech() -> None:
    assert detect_speech(torch.zeros(RATE * 3), RATE) == []
    assert detect_speech(1e-5 * torch.randn(RATE * 3), RATE) == []
    assert detect_speech(torch.zeros(0), RATE) == []


def test_short_gaps_are_bridged_and_long_ones_split() -> None:
    burst = speech_like(1.0)

    def joined(gap_s: float) -> torch.Tensor:
        silence = torch.zeros(round(gap_s * RATE))
        return torch.cat([silence, burst, torch.zeros(round(gap_s * RATE)), burst, silence])

    cfg = VadConfig(min_silence_s=0.35)
    assert len(detect_speech(joined(0.2), RATE, cfg)) == 1
    assert len(detect_speech(joined(0.8), RATE, cfg)) == 2


def test_blips_shorter_than_min_speech_are_dropped() -> None:
    audio = torch.zeros(RATE * 3)
    audio[RATE : RATE + RATE // 10] = speech_like(0.1)
    audio[2 * RATE : 2 * RATE + RATE // 2] = speech_like(0.5)
    (only,) = detect_speech(audio, RATE, VadConfig(min_speech_s=0.25, pad_s=0.0))
    assert only[0] == pytest.approx(2.0, abs=0.05)


def test_long_speech_is_split_under_the_maximum_length() -> None:
    audio = torch.cat([torch.zeros(RATE), speech_like(26.0), torch.zeros(RATE)])
    windows = detect_speech(audio, RATE, VadConfig(max_segment_s=6.0, pad_s=0.0))
    assert len(windows) >= 5
    assert all(end - start <= 6.0 + 0.05 for start, end in windows)
    assert windows[0][0] == pytest.approx(1.0, abs=0.1)
    assert windows[-1][1] == pytest.approx(27.0, abs=0.1)
    assert all(a[1] <= b[0] for a, b in itertools.pairwise(windows))


def test_windows_are_resampling_independent(track: torch.Tensor) -> None:
    resampled = torchaudio.functional.resample(track, RATE, 22050)
    for (a, b), (c, d) in zip(
        detect_speech(track, RATE), detect_speech(resampled, 22050), strict=True
    ):
        assert (a, b) == pytest.approx((c, d), abs=0.05)


def test_fixed_windows_cover_the_video_evenly() -> None:
    windows = fixed_windows(12.6, 5.0)
    assert windows == [(0.0, 4.2), (4.2, 8.4), (8.4, 12.6)]
    assert fixed_windows(1.2, 5.0) == [(0.0, 1.2)]
    assert fixed_windows(0.0, 5.0) == []
