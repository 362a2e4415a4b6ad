"""Video files with the defects uploads have, made from the generated ones."""

from pathlib import Path

import av


def remux(source: Path, target: Path, keep_video_until: float | None = None, **options) -> Path:
    """``source``'s packets copied into a new mp4; video only up to ``keep_video_until`` s.

    ``options`` go to the muxer, e.g. ``movflags="faststart"`` to put the index first.
    """
    with av.open(str(source)) as src, av.open(str(target), "w", options=options) as dst:
        outputs = {s.index: dst.add_stream_from_template(s) for s in src.streams}
        for packet in src.demux():
            if packet.dts is None:
                continue
            if (
                keep_video_until is not None
                and packet.stream.type == "video"
                and packet.pts * packet.time_base >= keep_video_until
            ):
                continue
            time_base = packet.time_base
            packet.stream = outputs[packet.stream.index]
            packet.time_base = time_base
            dst.mux(packet)
    return target


def cut_in_half(source: Path, target: Path) -> Path:
    """``source`` with its index first (as phones write it), then cut to half its size."""
    whole = remux(source, target.with_suffix(".whole.mp4"), movflags="faststart")
    data = whole.read_bytes()
    target.write_bytes(data[: len(data) // 2])
    return target
