"""Opening a video file with PyAV: user-facing errors, GPU decoding, and stream timing."""

from __future__ import annotations

import functools
import logging
from pathlib import Path

import av

LOGGER = logging.getLogger(__name__)

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


def decoder_hwaccel(device: str) -> av.codec.hwaccel.HWAccel | None:
    """The hardware acceleration to open a video with on ``device``; None decodes on the CPU."""
    if device != "cuda" or not cuda_decoding_available():
        return None
    from av.codec.hwaccel import HWAccel

    # Streams NVDEC cannot take (4:4:4, some profiles) are decoded on the CPU instead.
    return HWAccel("cuda", allow_software_fallback=True)


def open_video(
    path: str | Path, hwaccel: av.codec.hwaccel.HWAccel | None = None
) -> av.container.InputContainer:
    """The open container of a video file; :class:`MediaError` says why a file is no video."""
    p = Path(path)
    if not p.is_file():
        raise MediaError(f"video file not found: {p.name}")
    if p.stat().st_size == 0:
        raise MediaError(f"not a video file: {p.name} is empty")
    try:
        container = av.open(str(p), mode="r", hwaccel=hwaccel)
    except av.FFmpegError as exc:
        if _looks_like_video(p):
            raise MediaError(f"corrupt or truncated video: {p.name} ({error_reason(exc)})") from exc
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


def error_reason(exc: Exception) -> str:
    """FFmpeg's own wording of an error, for a user-facing message."""
    return getattr(exc, "strerror", None) or str(exc)


def normal_rotation(degrees: float | None) -> int:
    """A display rotation as 0, 90, 180 or 270 degrees."""
    return round((degrees or 0) / 90.0) * 90 % 360


def stream_fps(stream: av.video.stream.VideoStream) -> float:
    """The stream's frame rate (average, else guessed, else base); 0 when it has none."""
    rate = stream.average_rate or stream.guessed_rate or stream.base_rate
    return float(rate) if rate else 0.0


def stream_origin(stream: av.stream.Stream) -> float:
    """The stream's start time in seconds: time zero of the video's clock."""
    if stream.start_time is None or stream.time_base is None:
        return 0.0
    return float(stream.start_time * stream.time_base)
