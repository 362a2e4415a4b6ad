"""The audio side of the model's inputs: the track resampled during the decode pass, and log-mel.

Audio is resampled once, to mono at the model's sample rate, with `av.AudioResampler`.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence

import av
import numpy as np
import torch
import torchaudio

from vs_model.config import ModelConfig
from vs_model.frame_sampling import Window, check_windows

# Log-mel windows are computed this many at a time to bound the spectrogram memory.
_MEL_BATCH = 64
_TOP_DB = 80.0


class AudioCollector:
    """Resamples every decoded audio frame once, to mono float32 at `sample_rate`."""

    def __init__(self, sample_rate: int, origin: float) -> None:
        self.sample_rate = sample_rate
        self.origin = origin
        self.resampler = av.AudioResampler(format="flt", layout="mono", rate=sample_rate)
        self.chunks: list[np.ndarray] = []
        self.start: float | None = None

    def feed(self, frame: av.AudioFrame | None) -> None:
        """Take the next decoded audio frame; None flushes the resampler."""
        if frame is not None and self.start is None and frame.time is not None:
            self.start = frame.time - self.origin
        for out in self.resampler.resample(frame):
            self.chunks.append(out.to_ndarray().reshape(-1))

    def finish(self) -> torch.Tensor:
        """The whole track as float32 [samples], on the video's clock."""
        self.feed(None)
        audio = np.concatenate(self.chunks) if self.chunks else np.zeros(0, np.float32)
        # Keep audio aligned with the video clock when the tracks start at different times.
        offset = round((self.start or 0.0) * self.sample_rate)
        if offset > 0:
            audio = np.concatenate([np.zeros(offset, np.float32), audio])
        elif offset < 0:
            audio = audio[-offset:]
        return torch.from_numpy(np.ascontiguousarray(audio, dtype=np.float32))


@functools.lru_cache(maxsize=8)
def _mel_transform(
    sample_rate: int, n_fft: int, win_length: int, hop_length: int, n_mels: int
) -> torch.nn.Sequential:
    return torch.nn.Sequential(
        torchaudio.transforms.MelSpectrogram(
            sample_rate=sample_rate,
            n_fft=n_fft,
            win_length=min(win_length, n_fft),
            hop_length=hop_length,
            n_mels=n_mels,
            power=2.0,
        ),
        torchaudio.transforms.AmplitudeToDB(stype="power", top_db=_TOP_DB),
    )


def log_mel(audio: torch.Tensor, windows: Sequence[Window], cfg: ModelConfig) -> torch.Tensor:
    """float32 [len(windows), n_mels, mel_frames] log-mel (dB) of each window.

    A window longer than `cfg.audio_seconds` keeps its first `audio_seconds`; shorter windows,
    windows past the end and a missing audio track are padded with silence.
    """
    checked = check_windows(windows)
    transform = _mel_transform(
        cfg.sample_rate, cfg.n_fft, cfg.win_length, cfg.hop_length, cfg.n_mels
    )
    audio = audio.detach().float().reshape(-1).cpu()
    out = torch.empty(len(checked), cfg.n_mels, cfg.mel_frames)
    for lo in range(0, len(checked), _MEL_BATCH):
        batch = torch.zeros(len(checked[lo : lo + _MEL_BATCH]), 1, cfg.audio_samples)
        for i, (start, end) in enumerate(checked[lo : lo + _MEL_BATCH]):
            first = round(start * cfg.sample_rate)
            last = min(round(end * cfg.sample_rate), first + cfg.audio_samples, audio.numel())
            if last > first:
                batch[i, 0, : last - first] = audio[first:last]
        with torch.no_grad():
            # 4-D [N, 1, mels, T] makes AmplitudeToDB apply top_db per window, not per batch.
            mel = transform(batch).squeeze(1)
        frames = min(mel.shape[-1], cfg.mel_frames)
        out[lo : lo + len(mel), :, :frames] = mel[..., :frames]
        if frames < cfg.mel_frames:
            floor = mel.amin(dim=(-2, -1), keepdim=True)
            out[lo : lo + len(mel), :, frames:] = floor
    return out
