"""Media features from one sequential decode pass: frames and log-mel for a list of time windows.

Frames are converted (resized, rotated, cropped) only when a window samples them, and only the
current and previous decoded frame are held, so memory stays bounded on long videos. Audio is
resampled once, to mono at the model's sample rate, with `av.AudioResampler`.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import av
import numpy as np
import torch
import torchaudio

from vs_model.config import ModelConfig
from vs_model.decode_plan import DecodePolicy, IndexBuilder, PacketIndex, plan

Window = tuple[float, float]
LOGGER = logging.getLogger(__name__)

# R3D-18's preset resizes to 128x171 before the 112x112 centre crop; keep those proportions.
_RESIZE_SHORT = 128 / 112
_RESIZE_LONG = 171 / 112
# Log-mel windows are computed this many at a time to bound the spectrogram memory.
_MEL_BATCH = 64
# Sound running on this long after the last frame is worth a warning.
_SOUND_PAST_PICTURE_S = 1.0
# A file whose readable packets end this much before its header's length is cut short.
_TRUNCATION_SLACK_S = 0.5
# Skipping undisplayed non-reference pictures and GOPs that no window samples is exact, so it
# is always on; skipping the loop filter is not, and measured too slow a gain to pay for it.
DEFAULT_POLICY = DecodePolicy()
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
    # What the user should know about the file (cut short, sound past the picture); these
    # belong in the result's warnings, not its video description.
    warnings: tuple[str, ...] = field(default=())

    def to_dict(self) -> dict[str, float | int | bool]:
        """Plain dict of the fields, without the warnings."""
        fields = asdict(self)
        del fields["warnings"]
        return fields


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


@functools.lru_cache(maxsize=1)
def cuda_decoding_available() -> bool:
    """Whether this PyAV build can decode video on the GPU here (NVDEC, FFmpeg's CUDA hwaccel).

    PyPI's PyAV wheels bring the CUDA hwaccel and load the driver's libraries at run time, so
    the answer depends on the machine: it is found once per process by creating the device.
    """
    from av.codec.hwaccel import HWAccel, hwdevices_available

    if "cuda" not in hwdevices_available():
        LOGGER.info("GPU video decoding unavailable: this PyAV build has no CUDA hwaccel")
        return False
    try:
        HWAccel("cuda").create(av.Codec("h264", "r"))
    except (av.FFmpegError, ValueError, RuntimeError) as exc:
        LOGGER.info("GPU video decoding unavailable (%s): decoding on the CPU", exc)
        return False
    return True


def _hwaccel(device: str) -> av.codec.hwaccel.HWAccel | None:
    if device != "cuda" or not cuda_decoding_available():
        return None
    from av.codec.hwaccel import HWAccel

    # Streams NVDEC cannot take (4:4:4, some profiles) are decoded on the CPU instead.
    return HWAccel("cuda", allow_software_fallback=True)


def _open(
    path: str | Path, hwaccel: av.codec.hwaccel.HWAccel | None = None
) -> av.container.InputContainer:
    p = Path(path)
    if not p.is_file():
        raise MediaError(f"video file not found: {p.name}")
    if p.stat().st_size == 0:
        raise MediaError(f"not a video file: {p.name} is empty")
    try:
        container = av.open(str(p), mode="r", hwaccel=hwaccel)
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

    Demuxes the whole file without decoding it (to find how much of it can actually be read)
    and decodes only the first frame (rotation is frame side data). ``warnings`` say when the
    file is cut short or its sound runs on past the picture.
    """
    return _scan(path).info


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

    def feed(self, frame: av.VideoFrame, fps: float, time_base: float) -> None:
        if self.frames_seen == 0:
            self.rotation = _normal_rotation(frame.rotation)
        self.frames_seen += 1
        # Frames without a timestamp are placed by their index at the stream's rate. The stream's
        # time base, not the frame's: frames drained from the decoder at the end carry none.
        if frame.pts is not None and time_base:
            t = frame.pts * time_base - self.origin
        else:
            t = self.index / (fps or 1.0)
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


@dataclass
class _Scan:
    """What a demux-only pass learnt: the info and the video packets in decode order."""

    info: VideoInfo
    index: PacketIndex
    origin: float
    truncated: bool


def _scan(path: str | Path) -> _Scan:
    """The scan of ``path``; the last few are kept, as `probe` then `extract` scan the same file."""
    p = Path(path)
    if not p.is_file():
        _open(p)  # raises the user-facing error
    stat = p.stat()
    return _scan_file(str(p.resolve()), stat.st_size, stat.st_mtime_ns)


@functools.lru_cache(maxsize=4)
def _scan_file(path: str, size: int, mtime_ns: int) -> _Scan:
    """Demux every packet without decoding (only up to the first video frame, for rotation).

    ``size`` and ``mtime_ns`` key the cache: a file changed on disk is scanned again.
    """
    name = Path(path).name
    with _open(path) as container:
        video = container.streams.video[0]
        audio = container.streams.audio[0] if container.streams.audio else None
        origin = _stream_origin(video)
        builder = IndexBuilder(video)
        first: av.VideoFrame | None = None
        audio_end: float | None = None
        failed = False
        try:
            for packet in container.demux(*([video] + ([audio] if audio is not None else []))):
                if packet.size == 0:
                    continue
                if packet.stream.index != video.index:
                    if packet.pts is not None and packet.time_base is not None:
                        end = (packet.pts + (packet.duration or 0)) * packet.time_base
                        audio_end = max(audio_end or 0.0, float(end) - origin)
                    continue
                builder.add(packet)
                if first is None:
                    first = next(iter(packet.decode()), None)
        except av.FFmpegError:
            # Reading stopped part-way: what came before is still usable, and said so below.
            failed = True
        if first is None:
            try:
                first = next(iter(video.codec_context.decode(None)), None)
            except av.FFmpegError:
                first = None
        if first is None:
            raise MediaError(f"corrupt or truncated video: {name} has no decodable frames")
        index = builder.index
        video_end = max(index.ends) * index.time_base - origin if index.timed else None
        declared = _declared_duration(container, video)
        info, truncated = _info(container, video, first, index, video_end, audio_end, declared)
        if (failed or index.corrupt) and not truncated:
            truncated = True
            info = replace(
                info, warnings=(_truncation_warning(info.duration_s, declared), *info.warnings)
            )
    return _Scan(info, index, origin, truncated)


def _declared_duration(
    container: av.container.InputContainer, stream: av.video.stream.VideoStream
) -> float | None:
    """The length the container's header claims (which a cut-short file keeps claiming)."""
    if container.duration is not None:
        return container.duration / av.time_base
    if stream.duration is not None and stream.time_base is not None:
        return float(stream.duration * stream.time_base)
    return None


def _truncation_warning(read_s: float, declared_s: float | None) -> str:
    claimed = f" of the {declared_s:.1f} s its header claims" if declared_s else ""
    return (
        f"the video file looks truncated or damaged: only its first {read_s:.1f} s{claimed}"
        " could be read, and the result covers that part"
    )


def _info(
    container: av.container.InputContainer,
    stream: av.video.stream.VideoStream,
    first: av.VideoFrame,
    index: PacketIndex,
    video_end: float | None,
    audio_end: float | None,
    declared: float | None,
) -> tuple[VideoInfo, bool]:
    """The info of a scanned video, and whether less of it could be read than it claims."""
    rotation = _normal_rotation(first.rotation)
    width, height = first.width, first.height
    if rotation in (90, 270):
        width, height = height, width
    fps = _stream_fps(stream)
    warnings: list[str] = []
    if video_end is None:
        # Untimed packets (raw streams): trust the header.
        duration = declared or (len(index) / fps if fps else 0.0)
    else:
        # The media lasts as long as the longer of picture and sound, as players show it; speech
        # past the last frame is still speech, and its utterances see that last frame.
        duration = max(video_end, audio_end or 0.0)
        if audio_end is not None and audio_end - video_end > _SOUND_PAST_PICTURE_S:
            warnings.append(
                f"the sound runs {audio_end - video_end:.1f} s past the end of the picture"
                f" ({video_end:.1f} s): utterances after that are seen with its last frame"
            )
    frame_period = 1.0 / fps if fps else 0.0
    truncated = declared is not None and declared - duration > max(
        _TRUNCATION_SLACK_S, 2 * frame_period
    )
    if truncated:
        warnings.insert(0, _truncation_warning(duration, declared))
    info = VideoInfo(
        duration_s=round(duration, 3),
        fps=round(fps, 3),
        width=width,
        height=height,
        rotation=rotation,
        has_audio=bool(container.streams.audio),
        frame_count=len(index),
        warnings=tuple(warnings),
    )
    return info, truncated


def _targets(windows: Sequence[Window], n_frames: int) -> list[float]:
    """Every sampled time: the middle of each of a window's ``n_frames`` equal shares."""
    return [
        start + (k + 0.5) * (end - start) / n_frames
        for start, end in windows
        for k in range(n_frames)
    ]


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
    decodes the video on the GPU where :func:`cuda_decoding_available`, else on the CPU.

    With windows, a demux-only scan first finds which video packets the sampled frames need
    (see :mod:`vs_model.decode_plan`); the decode pass then sends only those to the decoder.
    """
    name = Path(path).name
    scan = _scan(path) if windows is not None else None
    mask = (
        plan(scan.index, _targets(windows, n_frames), scan.origin, policy)
        if scan is not None and windows is not None
        else None
    )
    hwaccel = _hwaccel(device) if windows is not None else None
    with _open(path, hwaccel) as container:
        video = container.streams.video[0]
        if hwaccel is None:
            video.thread_type = "AUTO"
        if policy.skip_loop_filter != "none":
            video.codec_context.options = {"skip_loop_filter": policy.skip_loop_filter}
        audio = container.streams.audio[0] if container.streams.audio else None
        fps = _stream_fps(video)
        time_base = float(video.time_base or 0.0)
        origin = scan.origin if scan is not None else _stream_origin(video)
        sampler = _FrameSampler(windows, n_frames, size, origin) if windows is not None else None
        collector = (
            _AudioCollector(sample_rate, origin)
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
            if not (scan.truncated if scan is not None else read_some):
                raise MediaError(f"corrupt or truncated video: {name} ({_reason(exc)})") from exc
        if sampler is not None and sampler.frames_seen == 0:
            raise MediaError(f"corrupt or truncated video: {name} has no decodable frames")
    frames = torch.from_numpy(sampler.finish()) if sampler is not None else None
    info = scan.info if scan is not None else None
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
    _, frames, _ = _run(path, _check_windows(windows), n_frames, size, None, policy, device)
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
    policy: DecodePolicy = DEFAULT_POLICY,
    device: str = "cpu",
) -> MediaFeatures:
    """Frames and log-mel of every window from one decode pass of `path`.

    Pass `audio` (from `load_audio`) when the audio track was already decoded, e.g. to find the
    windows by voice activity; the pass then decodes only video. `policy` and `device` as in
    `sample_frames`.
    """
    checked = _check_windows(windows)
    sample_rate = cfg.sample_rate if audio is None else None
    info, frames, decoded = _run(
        path, checked, cfg.video_frames, cfg.frame_size, sample_rate, policy, device
    )
    waveform = audio if audio is not None else decoded
    assert info is not None and frames is not None and waveform is not None
    return MediaFeatures(
        info=info, frames=frames, mel=log_mel(waveform, checked, cfg), audio=waveform
    )
