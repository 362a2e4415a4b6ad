"""Energy-based voice-activity segmentation of a mono waveform, and fixed windows as a fallback.

Frame energies are measured in dB against the track's own loud level (a high percentile), so the
thresholds do not depend on recording gain. Two thresholds give hysteresis: a segment opens when the
energy rises above ``enter_db`` below the loud level and closes when it falls below ``exit_db``.
Short gaps are bridged, short blips dropped, and long stretches split at their quietest frame.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

Window = tuple[float, float]


@dataclass(frozen=True)
class VadConfig:
    """Thresholds and durations of the segmentation (seconds and dB)."""

    frame_s: float = 0.03
    hop_s: float = 0.01
    enter_db: float = 30.0
    exit_db: float = 40.0
    floor_margin_db: float = 6.0
    silent_track_dbfs: float = -60.0
    reference_percentile: float = 95.0
    min_speech_s: float = 0.25
    min_silence_s: float = 0.35
    max_segment_s: float = 10.0
    pad_s: float = 0.05


def frame_energy_db(audio: torch.Tensor, sample_rate: int, cfg: VadConfig) -> np.ndarray:
    """Mean-square energy (dBFS) of each analysis frame, from a running sum (O(samples) memory)."""
    samples = audio.detach().to(torch.float64).cpu().numpy().reshape(-1)
    frame = max(1, round(cfg.frame_s * sample_rate))
    hop = max(1, round(cfg.hop_s * sample_rate))
    if samples.size < frame:
        return np.empty(0)
    cumulative = np.concatenate(([0.0], np.cumsum(samples * samples)))
    starts = np.arange(0, samples.size - frame + 1, hop)
    power = (cumulative[starts + frame] - cumulative[starts]) / frame
    return 10.0 * np.log10(np.maximum(power, 1e-12))


def _hysteresis(energy: np.ndarray, enter: float, exit_: float) -> list[tuple[int, int]]:
    """Frame ranges [start, end) that open above ``enter`` and close below ``exit_``."""
    runs: list[tuple[int, int]] = []
    start = None
    for index, level in enumerate(energy):
        if start is None and level >= enter:
            start = index
        elif start is not None and level < exit_:
            runs.append((start, index))
            start = None
    if start is not None:
        runs.append((start, len(energy)))
    return runs


def _bridge(runs: list[tuple[int, int]], min_gap: int) -> list[tuple[int, int]]:
    merged: list[tuple[int, int]] = []
    for start, end in runs:
        if merged and start - merged[-1][1] < min_gap:
            merged[-1] = (merged[-1][0], end)
        else:
            merged.append((start, end))
    return merged


def _split_long(run: tuple[int, int], energy: np.ndarray, max_frames: int) -> list[tuple[int, int]]:
    """Cut a run longer than ``max_frames`` at the quietest frame of each piece's second half."""
    pieces = []
    start, end = run
    while end - start > max_frames:
        low = start + max_frames // 2
        cut = low + int(np.argmin(energy[low : start + max_frames]))
        pieces.append((start, cut))
        start = cut
    pieces.append((start, end))
    return pieces


def detect_speech(
    audio: torch.Tensor, sample_rate: int, cfg: VadConfig | None = None
) -> list[Window]:
    """Spoken stretches of ``audio`` as (start_s, end_s) windows; empty for a silent track."""
    cfg = cfg or VadConfig()
    energy = frame_energy_db(audio, sample_rate, cfg)
    if energy.size == 0:
        return []
    reference = float(np.percentile(energy, cfg.reference_percentile))
    if reference < cfg.silent_track_dbfs:
        return []
    floor = float(np.percentile(energy, 10.0)) + cfg.floor_margin_db
    enter = max(reference - cfg.enter_db, floor)
    exit_ = min(max(reference - cfg.exit_db, floor), enter)
    hop = cfg.hop_s
    frame_tail = cfg.frame_s - cfg.hop_s
    runs = _bridge(_hysteresis(energy, enter, exit_), math.ceil(cfg.min_silence_s / hop))
    max_frames = max(2, int(cfg.max_segment_s / hop))
    duration = audio.numel() / sample_rate
    windows: list[Window] = []
    for run in runs:
        for start, end in _split_long(run, energy, max_frames):
            begin_s, end_s = start * hop, end * hop + frame_tail
            if end_s - begin_s < cfg.min_speech_s:
                continue
            windows.append((begin_s, min(end_s, duration)))
    return _pad(windows, cfg.pad_s, duration)


def _pad(windows: list[Window], pad_s: float, duration: float) -> list[Window]:
    """Widen each window by ``pad_s`` on both sides without crossing its neighbours."""
    padded = []
    for index, (start, end) in enumerate(windows):
        before = windows[index - 1][1] if index else 0.0
        after = windows[index + 1][0] if index + 1 < len(windows) else duration
        padded.append((round(max(before, start - pad_s), 3), round(min(after, end + pad_s), 3)))
    return padded


def fixed_windows(duration_s: float, window_s: float) -> list[Window]:
    """Consecutive windows of about ``window_s`` covering [0, duration_s], all of equal length."""
    if duration_s <= 0:
        return []
    count = max(1, round(duration_s / window_s))
    step = duration_s / count
    return [
        (round(index * step, 3), round(min(duration_s, (index + 1) * step), 3))
        for index in range(count)
    ]
