"""The benchmark videos: 720p H.264 of synthetic speech, generated once and cached.

A 20 s stretch of synthetic speech (espeak-ng lines every 4 s) is encoded once per kind of
stream, then repeated for longer videos (packets copied, so a keyframe starts every 20 s).
Shared by inference_speed.py, asr_speed.py and nvdec_check.py.
"""

from __future__ import annotations

import shutil
import time
from pathlib import Path

LINES = [
    ("I can't believe we finally made it here", "joy"),
    ("Why would you ever do something like that", "anger"),
    ("Please don't leave me alone in this place", "fear"),
    ("Well, I suppose that is one way to see it", "neutral"),
    ("I miss the way things used to be", "sadness"),
    ("Wait, you did what? No way!", "surprise"),
    ("Ugh, that smells absolutely awful", "disgust"),
]
SPACING_S = 4.0
# Videos are this long a stretch of generated speech, repeated: a 720p encode with x264's
# defaults is far slower than decoding it.
BASE_SECONDS = 20
SPOKEN_S = 3.0
KINDS = {
    "bframes": {"crf": "23", "x264-params": "scenecut=0"},
    "pframes": {
        "crf": "23",
        "x264-params": "bframes=0:keyint=30:min-keyint=30:scenecut=0:ref=1",
    },
}


def video_path(cache: Path, seconds: int, kind: str) -> Path:
    """The cached 720p video of ``seconds`` seconds and stream ``kind``, generated on first use.

    The synthetic generator paints per-pixel noise, which at 720p would make an incompressible
    ~30 Mbit/s file unlike any upload; so the speech video is made small and upscaled to 720p
    while re-encoding with the kind's settings, its AAC track copied as it is.
    """
    from vsent.local.synthetic import SyntheticUtterance, make_speech_video

    speech = shutil.which("espeak-ng") is not None
    suffix = "" if speech else "-silent"
    path = cache / f"speech-{seconds}s-720p-{kind}{suffix}.mp4"
    if path.exists():
        return path
    started = time.perf_counter()
    partial = path.with_suffix(".part.mp4")
    if seconds > BASE_SECONDS and seconds % BASE_SECONDS == 0:
        # Longer videos repeat the base stretch (remuxed, not re-encoded): the lines fall on
        # the same 4 s grid, and each repeat starts with a keyframe.
        concatenate(video_path(cache, BASE_SECONDS, kind), seconds // BASE_SECONDS, partial)
    else:
        small = cache / f"speech-{seconds}s-small{suffix}.mp4"
        if not small.exists():
            lines = (LINES * seconds)[:seconds]
            utterances = [
                SyntheticUtterance(text, start, start + SPOKEN_S, emotion)
                for start, (text, emotion) in zip(transcript_times(seconds), lines, strict=False)
            ]
            make_speech_video(
                small, utterances if speech else [], size=(320, 180), fps=30, seconds=seconds
            )
        upscale_720p(small, partial, KINDS[kind])
    partial.rename(path)
    print(f"  generated {path.name} in {time.perf_counter() - started:.0f} s", flush=True)
    return path


def concatenate(source: Path, times: int, target: Path) -> None:
    """``source`` played ``times`` times in a row, as one file (packets copied)."""
    import av

    with av.open(str(target), "w", format="mp4") as dst:
        outputs: dict[int, av.stream.Stream] = {}
        ends: dict[int, int] = {}  # per stream: where the next repeat's first packet goes
        for _ in range(times):
            offsets: dict[int, int] = {}
            with av.open(str(source)) as src:
                if not outputs:
                    outputs = {s.index: dst.add_stream_from_template(s) for s in src.streams}
                for packet in src.demux():
                    if packet.dts is None:
                        continue
                    index, time_base = packet.stream.index, packet.time_base
                    offset = offsets.setdefault(index, ends.get(index, packet.dts) - packet.dts)
                    packet.pts += offset
                    packet.dts += offset
                    ends[index] = packet.dts + max(packet.duration or 0, 1)
                    packet.stream = outputs[index]
                    packet.time_base = time_base
                    dst.mux(packet)


def upscale_720p(source: Path, target: Path, options: dict[str, str]) -> None:
    """Re-encode ``source`` as 1280x720 H.264 with x264 ``options``, copying its audio packets."""
    import av

    with av.open(str(source)) as src, av.open(str(target), "w", format="mp4") as dst:
        video_in = src.streams.video[0]
        video_out = dst.add_stream("libx264", rate=video_in.average_rate, options=options)
        video_out.width, video_out.height, video_out.pix_fmt = 1280, 720, "yuv420p"
        audio_out = None
        if src.streams.audio:
            audio_out = dst.add_stream_from_template(src.streams.audio[0])
        for packet in src.demux():
            if packet.dts is None:
                continue
            if packet.stream.type == "audio" and audio_out is not None:
                packet.stream = audio_out
                dst.mux(packet)
            elif packet.stream.type == "video":
                for frame in packet.decode():
                    big = frame.reformat(width=1280, height=720, format="yuv420p")
                    big.pts, big.time_base = frame.pts, frame.time_base
                    # A decoded frame keeps its type, which x264 would obey: let it choose.
                    big.pict_type = av.video.frame.PictureType.NONE
                    dst.mux(video_out.encode(big))
        dst.mux(video_out.encode(None))


def transcript_times(seconds: int) -> list[float]:
    """Start times of the spoken lines (one every SPACING_S seconds)."""
    count = int((seconds - SPOKEN_S) // SPACING_S) + 1
    return [0.5 + i * SPACING_S for i in range(count) if 0.5 + i * SPACING_S + SPOKEN_S <= seconds]
