"""Media features from one sequential decode pass: frames and log-mel for a list of time windows.

Frames are converted (resized, rotated, cropped) only when a window samples them, and only the
current and previous decoded frame are held, so memory stays bounded on long videos. Audio is
resampled once, to mono at the model's sample rate, with `av.AudioResampler`.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import av
import numpy as np
import torch
import torchaudio

from vs_model.config import ModelConfig

Window = tuple[float, float]

# R3D-18's preset resizes to 128x171 before the 112x112 centre crop; keep those proportions.
_RESIZE_SHORT = 128 / 112
_RESIZE_LONG = 171 / 112
# Log-mel windows are computed this many at a time to bound the spectrogram memory.
_MEL_BATCH = 64
_TOP_DB = 80.0
# Leading bytes of containers that are video files even when FFmpeg cannot open them.
_VIDEO_SIGNATURES = (
    (4, b"ftyp"),
    (4, b"moov"),
    (4, b"mdat"),
    (4, b"free"),
    (4, b"wide"),
    (0, b"\x1a\x45\xdf\xa3"),
    (0, b"FLV"),
    (0, b"\x00\x00\x01\xba"),
    (8, b"AVI "),
)


class MediaError(ValueError):
    """A video that cannot be used; the message is meant for the user who uploaded it."""


@dataclass(frozen=True)
class VideoInfo:
    """What a video is, as displayed (width and height after rotation)."""

    duration_s: float
    fps: float
    width: int
    height: int
    rotation: int
    has_audio: bool
    frame_count: int

    def to_dict(self) -> dict[str, float | int | bool]:
        """Plain dict of the fields."""
        return asdict(self)


@dataclass
class MediaFeatures:
    """Model inputs for each window, plus what was learnt about the video on the way."""

    info: VideoInfo
    frames: torch.Tensor  # uint8 [N, n_frames, 3, size, size]
    mel: torch.Tensor  # float32 [N, n_mels, mel_frames]
    audio: torch.Tensor  # float32 [samples] mono at cfg.sample_rate (empty without audio)


def _looks_like_video(path: Path) -> bool:
    with path.open("rb") as f:
        head = f.read(16)
    return any(head[off : off + len(sig)] == sig for off, sig in _VIDEO_SIGNATURES)


def _open(path: str | Path) -> av.container.InputContainer:
    p = Path(path)
    if not p.is_file():
        raise MediaError(f"video file not found: {p.name}")
    if p.stat().st_size == 0:
        raise MediaError(f"not a video file: {p.name} is empty")
    try:
        container = av.open(str(p), mode="r")
    except av.FFmpegError as exc:
        if _looks_like_video(p):
            raise MediaError(f"corrupt or truncated video: {p.name} ({_reason(exc)})") from exc
        raise MediaError(f"not a video file: {p.name} could not be read as video") from exc
    fmt = container.format.name
    if fmt == "image2" or fmt.endswith("_pipe"):
        container.close()
        raise MediaError(f"not a video file: {p.name} is a still image")
    if not container.streams.video:
        kind = "an audio file" if container.streams.audio else "a file without video"
        container.close()
        raise MediaError(f"no video stream: {p.name} is {kind}")
    return container


def _reason(exc: Exception) -> str:
    return getattr(exc, "strerror", None) or str(exc)


def _normal_rotation(degrees: float | None) -> int:
    return round((degrees or 0) / 90.0) * 90 % 360


def _stream_fps(stream: av.video.stream.VideoStream) -> float:
    rate = stream.average_rate or stream.guessed_rate or stream.base_rate
    return float(rate) if rate else 0.0


def _stream_origin(stream: av.stream.Stream) -> float:
    if stream.start_time is None or stream.time_base is None:
        return 0.0
    return float(stream.start_time * stream.time_base)


def probe(path: str | Path) -> VideoInfo:
    """Duration, frame rate, displayed size, rotation, audio presence and frame count.

    Decodes only the first frame (rotation is frame side data).
    """
    info, _, _ = _run(path, None, 0, 0, None)
    return info


def _info(
    container: av.container.InputContainer,
    stream: av.video.stream.VideoStream,
    first: av.VideoFrame,
) -> VideoInfo:
    rotation = _normal_rotation(first.rotation)
    width, height = first.width, first.height
    if rotation in (90, 270):
        width, height = height, width
    fps = _stream_fps(stream)
    if stream.duration is not None and stream.time_base is not None:
        duration = float(stream.duration * stream.time_base)
    elif container.duration is not None:
        duration = container.duration / av.time_base
    else:
        duration = 0.0
    frame_count = stream.frames or round(duration * fps)
    return VideoInfo(
        duration_s=round(duration, 3),
        fps=round(fps, 3),
        width=width,
        height=height,
        rotation=rotation,
        has_audio=bool(container.streams.audio),
        frame_count=int(frame_count),
    )


def _check_windows(windows: Sequence[Window]) -> list[Window]:
    checked = []
    for start, end in windows:
        if end < start:
            raise ValueError(f"window ends before it starts: ({start}, {end})")
        checked.append((max(0.0, float(start)), max(0.0, float(end))))
    return checked


class _FrameSampler:
    """Collects, during one decode pass, `n_frames` evenly spaced frames for every window."""

    def __init__(self, windows: Sequence[Window], n_frames: int, size: int, origin: float) -> None:
        self.size = size
        self.origin = origin
        self.out = np.zeros((len(windows), n_frames, 3, size, size), dtype=np.uint8)
        # Each slot shows the frame on screen at the middle of its 1/n_frames share of the window.
        targets = [
            (start + (k + 0.5) * (end - start) / n_frames, w, k)
            for w, (start, end) in enumerate(windows)
            for k in range(n_frames)
        ]
        self.targets = sorted(targets)
        self.next = 0
        self.index = 0
        self.previous: av.VideoFrame | None = None
        self.previous_image: np.ndarray | None = None
        self.rotation = 0
        self.frames_seen = 0

    @property
    def done(self) -> bool:
        return self.next >= len(self.targets)

    def feed(self, frame: av.VideoFrame, fps: float) -> None:
        if self.frames_seen == 0:
            self.rotation = _normal_rotation(frame.rotation)
        self.frames_seen += 1
        # Frames without a timestamp are placed by their index at the stream's rate.
        t = frame.time - self.origin if frame.time is not None else self.index / (fps or 1.0)
        self.index += 1
        while not self.done and self.targets[self.next][0] < t:
            # A target before the very first frame gets that first frame.
            image = self._image_of_previous() if self.previous is not None else self._convert(frame)
            self._fill(image)
        self.previous, self.previous_image = frame, None

    def finish(self) -> np.ndarray:
        # Windows past the end of the video (or a clip shorter than them) repeat the last frame.
        if not self.done and self.previous is not None:
            image = self._image_of_previous()
            while not self.done:
                self._fill(image)
        return self.out

    def _fill(self, image: np.ndarray) -> None:
        _, w, k = self.targets[self.next]
        self.out[w, k] = image
        self.next += 1

    def _image_of_previous(self) -> np.ndarray:
        if self.previous_image is None:
            assert self.previous is not None
            self.previous_image = self._convert(self.previous)
        return self.previous_image

    def _convert(self, frame: av.VideoFrame) -> np.ndarray:
        """Resize (swscale), rotate for display and centre-crop one frame to [3, size, size]."""
        short, long = round(self.size * _RESIZE_SHORT), round(self.size * _RESIZE_LONG)
        quarter_turns = self.rotation // 90
        display_w, display_h = frame.width, frame.height
        if quarter_turns % 2:
            display_w, display_h = display_h, display_w
        out_w, out_h = (long, short) if display_w >= display_h else (short, long)
        coded_w, coded_h = (out_h, out_w) if quarter_turns % 2 else (out_w, out_h)
        rgb = frame.reformat(width=coded_w, height=coded_h, format="rgb24").to_ndarray()
        if quarter_turns:
            rgb = np.rot90(rgb, k=quarter_turns)
        top, left = (out_h - self.size) // 2, (out_w - self.size) // 2
        crop = rgb[top : top + self.size, left : left + self.size]
        return np.ascontiguousarray(crop.transpose(2, 0, 1))


class _AudioCollector:
    """Resamples every decoded audio frame once, to mono float32 at `sample_rate`."""

    def __init__(self, sample_rate: int, origin: float) -> None:
        self.sample_rate = sample_rate
        self.origin = origin
        self.resampler = av.AudioResampler(format="flt", layout="mono", rate=sample_rate)
        self.chunks: list[np.ndarray] = []
        self.start: float | None = None

    def feed(self, frame: av.AudioFrame | None) -> None:
        if frame is not None and self.start is None and frame.time is not None:
            self.start = frame.time - self.origin
        for out in self.resampler.resample(frame):
            self.chunks.append(out.to_ndarray().reshape(-1))

    def finish(self) -> torch.Tensor:
        self.feed(None)
        audio = np.concatenate(self.chunks) if self.chunks else np.zeros(0, np.float32)
        # Keep audio aligned with the video clock when the tracks start at different times.
        offset = round((self.start or 0.0) * self.sample_rate)
        if offset > 0:
            audio = np.concatenate([np.zeros(offset, np.float32), audio])
        elif offset < 0:
            audio = audio[-offset:]
        return torch.from_numpy(np.ascontiguousarray(audio, dtype=np.float32))


def _run(
    path: str | Path,
    windows: Sequence[Window] | None,
    n_frames: int,
    size: int,
    sample_rate: int | None,
) -> tuple[VideoInfo, torch.Tensor | None, torch.Tensor | None]:
    """One demux pass that samples frames (when windows is given) and/or collects audio."""
    name = Path(path).name
    with _open(path) as container:
        video = container.streams.video[0]
        video.thread_type = "AUTO"
        audio = container.streams.audio[0] if container.streams.audio else None
        origin = _stream_origin(video)
        fps = _stream_fps(video)
        sampler = _FrameSampler(windows, n_frames, size, origin) if windows is not None else None
        collector = (
            _AudioCollector(sample_rate, origin)
            if sample_rate is not None and audio is not None
            else None
        )
        first: av.VideoFrame | None = None
        streams = [video] + ([audio] if collector is not None else [])
        try:
            for packet in container.demux(*streams):
                is_video = packet.stream.index == video.index
                if is_video and first is not None and (sampler is None or sampler.done):
                    if collector is None:
                        break
                    continue
                for frame in packet.decode():
                    if is_video:
                        if first is None:
                            first = frame
                        if sampler is not None:
                            sampler.feed(frame, fps)
                    else:
                        collector.feed(frame)  # type: ignore[union-attr]
        except av.FFmpegError as exc:
            raise MediaError(f"corrupt or truncated video: {name} ({_reason(exc)})") from exc
        if first is None:
            raise MediaError(f"corrupt or truncated video: {name} has no decodable frames")
        info = _info(container, video, first)
    frames = torch.from_numpy(sampler.finish()) if sampler is not None else None
    if sample_rate is None:
        return info, frames, None
    waveform = collector.finish() if collector is not None else torch.zeros(0)
    return info, frames, waveform


def load_audio(path: str | Path, sample_rate: int) -> torch.Tensor:
    """The audio track as mono float32 [samples] at `sample_rate`; empty when there is none."""
    _, _, audio = _run(path, None, 0, 0, sample_rate)
    assert audio is not None
    return audio


def sample_frames(
    path: str | Path, windows: Sequence[Window], n_frames: int, size: int
) -> torch.Tensor:
    """uint8 RGB [len(windows), n_frames, 3, size, size], evenly spaced across each window.

    One sequential decode pass serves all windows (in any order, overlapping or not); rotation
    metadata is applied; frames are resized with R3D-18's 128:171 proportions and centre-cropped.
    """
    _, frames, _ = _run(path, _check_windows(windows), n_frames, size, None)
    assert frames is not None
    return frames


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
    checked = _check_windows(windows)
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


def extract(
    path: str | Path,
    windows: Sequence[Window],
    cfg: ModelConfig,
    *,
    audio: torch.Tensor | None = None,
) -> MediaFeatures:
    """Frames and log-mel of every window from one decode pass of `path`.

    Pass `audio` (from `load_audio`) when the audio track was already decoded, e.g. to find the
    windows by voice activity; the pass then decodes only video.
    """
    checked = _check_windows(windows)
    sample_rate = cfg.sample_rate if audio is None else None
    info, frames, decoded = _run(path, checked, cfg.video_frames, cfg.frame_size, sample_rate)
    waveform = audio if audio is not None else decoded
    assert frames is not None and waveform is not None
    return MediaFeatures(
        info=info, frames=frames, mel=log_mel(waveform, checked, cfg), audio=waveform
    )
