"""What a video is: a demux-only scan for its length, size, rotation, audio and packet index.

The scan reads every packet without decoding (only the first frame, for rotation), so it also
finds how much of a file can actually be read, and the decode pass plans from its packet index.
"""

from __future__ import annotations

import functools
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import av

from vs_model.decode_plan import IndexBuilder, PacketIndex
from vs_model.video_file import (
    MediaError,
    normal_rotation,
    open_video,
    stream_fps,
    stream_origin,
)

# Sound running on this long after the last frame is worth a warning.
_SOUND_PAST_PICTURE_S = 1.0
# A file whose readable packets end this much before its header's length is cut short.
_TRUNCATION_SLACK_S = 0.5


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
class Scan:
    """What a demux-only pass learnt: the info and the video packets in decode order."""

    info: VideoInfo
    index: PacketIndex
    origin: float
    truncated: bool


def probe(path: str | Path) -> VideoInfo:
    """Duration, frame rate, displayed size, rotation, audio presence and frame count.

    Demuxes the whole file without decoding it (to find how much of it can actually be read)
    and decodes only the first frame (rotation is frame side data). ``warnings`` say when the
    file is cut short or its sound runs on past the picture.
    """
    return scan(path).info


def scan(path: str | Path) -> Scan:
    """The scan of ``path``; the last few are kept, as `probe` then `extract` scan the same file."""
    p = Path(path)
    if not p.is_file():
        open_video(p)  # raises the user-facing error
    stat = p.stat()
    return _scan_file(str(p.resolve()), stat.st_size, stat.st_mtime_ns)


@functools.lru_cache(maxsize=4)
def _scan_file(path: str, size: int, mtime_ns: int) -> Scan:
    """Demux every packet without decoding (only up to the first video frame, for rotation).

    ``size`` and ``mtime_ns`` key the cache: a file changed on disk is scanned again.
    """
    name = Path(path).name
    with open_video(path) as container:
        video = container.streams.video[0]
        audio = container.streams.audio[0] if container.streams.audio else None
        origin = stream_origin(video)
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
    return Scan(info, index, origin, truncated)


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
    rotation = normal_rotation(first.rotation)
    width, height = first.width, first.height
    if rotation in (90, 270):
        width, height = height, width
    fps = stream_fps(stream)
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
