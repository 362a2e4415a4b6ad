"""Media features from one sequential decode pass: frames and log-mel for a list of time windows.

The pass feeds video frames to a :class:`~vs_model.frame_sampling.FrameSampler` and audio frames
to an :class:`~vs_model.audio_features.AudioCollector`; a demux-only scan
(:mod:`vs_model.video_probe`) first says which video packets the sampled frames need.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import av
import numpy as np
import torch

from vs_model.audio_features import AudioCollector, log_mel
from vs_model.config import ModelConfig
from vs_model.decode_plan import DecodePolicy, plan
from vs_model.frame_sampling import FrameSampler, Window, check_windows, sample_times
from vs_model.video_file import (
    MediaError,
    decoder_hwaccel,
    error_reason,
    open_video,
    stream_fps,
    stream_origin,
)
from vs_model.video_probe import VideoInfo, scan

# Skipping undisplayed non-reference pictures and GOPs that no window samples is exact, so it
# is always on; skipping the loop filter is not, and measured too slow a gain to pay for it.
DEFAULT_POLICY = DecodePolicy()


@dataclass
class MediaFeatures:
    """Model inputs for each window, plus what was learnt about the video on the way."""

    info: VideoInfo
    frames: torch.Tensor  # uint8 [N, n_frames, 3, size, size]
    mel: torch.Tensor  # float32 [N, n_mels, mel_frames]
    audio: torch.Tensor  # float32 [samples] mono at cfg.sample_rate (empty without audio)


def _run(
    path: str | Path,
    windows: Sequence[Window] | None,
    n_frames: int,
    size: int,
    sample_rate: int | None,
    policy: DecodePolicy,
    device: str = "cpu",
) -> tuple[VideoInfo | None, torch.Tensor | None, torch.Tensor | None]:
    """Samples frames (when windows is given) and/or collects audio, in one decode pass.

    The info comes back only with windows (an audio-only pass needs no scan). ``device="cuda"``
    decodes the video on the GPU where :func:`~vs_model.video_file.cuda_decoding_available`,
    else on the CPU.

    With windows, a demux-only scan first finds which video packets the sampled frames need
    (see :mod:`vs_model.decode_plan`); the decode pass then sends only those to the decoder.
    """
    name = Path(path).name
    scanned = scan(path) if windows is not None else None
    mask = (
        plan(scanned.index, sample_times(windows, n_frames), scanned.origin, policy)
        if scanned is not None and windows is not None
        else None
    )
    hwaccel = decoder_hwaccel(device) if windows is not None else None
    with open_video(path, hwaccel) as container:
        video = container.streams.video[0]
        if hwaccel is None:
            video.thread_type = "AUTO"
        if policy.skip_loop_filter != "none":
            video.codec_context.options = {"skip_loop_filter": policy.skip_loop_filter}
        audio = container.streams.audio[0] if container.streams.audio else None
        fps = stream_fps(video)
        time_base = float(video.time_base or 0.0)
        origin = scanned.origin if scanned is not None else stream_origin(video)
        sampler = FrameSampler(windows, n_frames, size, origin) if windows is not None else None
        collector = (
            AudioCollector(sample_rate, origin)
            if sample_rate is not None and audio is not None
            else None
        )
        streams = ([video] if sampler is not None else []) + (
            [audio] if collector is not None else []
        )
        last = int(np.flatnonzero(mask)[-1]) if mask is not None and mask.any() else -1
        position = 0  # of the next non-empty video packet, in decode order
        stopped = False  # before demuxing reached the end, which flushes the decoder itself
        try:
            # demux() of no stream would read them all.
            for packet in container.demux(*streams) if streams else ():
                if packet.stream.index != video.index:
                    for audio_frame in packet.decode():
                        collector.feed(audio_frame)  # type: ignore[union-attr]
                    continue
                assert sampler is not None
                if packet.size:
                    wanted = mask is None or (position < len(mask) and bool(mask[position]))
                    position += 1
                    if not wanted:
                        if collector is None and position > last:
                            stopped = True
                            break
                        continue
                for frame in packet.decode():
                    sampler.feed(frame, fps, time_base)
                if mask is None and sampler.done and collector is None:
                    stopped = True
                    break
            if stopped:
                for frame in video.codec_context.decode(None):
                    sampler.feed(frame, fps, time_base)  # type: ignore[union-attr]
        except av.FFmpegError as exc:
            # A file cut short stops where it stops (the scan says so in the info's warnings);
            # an error anywhere else means it is broken.
            read_some = collector is not None and collector.chunks
            if not (scanned.truncated if scanned is not None else read_some):
                raise MediaError(
                    f"corrupt or truncated video: {name} ({error_reason(exc)})"
                ) from exc
        if sampler is not None and sampler.frames_seen == 0:
            raise MediaError(f"corrupt or truncated video: {name} has no decodable frames")
    frames = torch.from_numpy(sampler.finish()) if sampler is not None else None
    info = scanned.info if scanned is not None else None
    if sample_rate is None:
        return info, frames, None
    waveform = collector.finish() if collector is not None else torch.zeros(0)
    return info, frames, waveform


def load_audio(path: str | Path, sample_rate: int) -> torch.Tensor:
    """The audio track as mono float32 [samples] at `sample_rate`; empty when there is none."""
    _, _, audio = _run(path, None, 0, 0, sample_rate, DEFAULT_POLICY)
    assert audio is not None
    return audio


def sample_frames(
    path: str | Path,
    windows: Sequence[Window],
    n_frames: int,
    size: int,
    *,
    policy: DecodePolicy = DEFAULT_POLICY,
    device: str = "cpu",
) -> torch.Tensor:
    """uint8 RGB [len(windows), n_frames, 3, size, size], evenly spaced across each window.

    One sequential decode pass serves all windows (in any order, overlapping or not); rotation
    metadata is applied; frames are resized with R3D-18's 128:171 proportions and centre-cropped.
    `policy` says which packets the pass may leave undecoded (`DecodePolicy.full()`: none);
    `device="cuda"` decodes on the GPU when this machine and PyAV build can, else on the CPU.
    """
    _, frames, _ = _run(path, check_windows(windows), n_frames, size, None, policy, device)
    assert frames is not None
    return frames


def extract(
    path: str | Path,
    windows: Sequence[Window],
    cfg: ModelConfig,
    *,
    audio: torch.Tensor | None = None,
    policy: DecodePolicy = DEFAULT_POLICY,
    device: str = "cpu",
) -> MediaFeatures:
    """Frames and log-mel of every window from one decode pass of `path`.

    Pass `audio` (from `load_audio`) when the audio track was already decoded, e.g. to find the
    windows by voice activity; the pass then decodes only video. `policy` and `device` as in
    `sample_frames`.
    """
    checked = check_windows(windows)
    sample_rate = cfg.sample_rate if audio is None else None
    info, frames, decoded = _run(
        path, checked, cfg.video_frames, cfg.frame_size, sample_rate, policy, device
    )
    waveform = audio if audio is not None else decoded
    assert info is not None and frames is not None and waveform is not None
    return MediaFeatures(
        info=info, frames=frames, mel=log_mel(waveform, checked, cfg), audio=waveform
    )
