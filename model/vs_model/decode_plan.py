"""Which video packets to decode so that the sampled frames come out exactly as a full decode.

A demux-only scan (no decoding) lists every video packet in decode order with its timestamp and
two facts read from the bitstream: whether later pictures may predict from it (H.264
``nal_ref_idc``, HEVC sub-layer non-reference NAL types, or the container's disposable flag),
and whether decoding can start at it and reproduce a full decode (an IDR picture: nothing after
it refers to anything before it). For a list of target times the plan then keeps, for each
frame a target shows, the packets from the last IDR before it up to it, minus the pictures
nothing refers to. Dropping exactly those packets changes no decoded pixel.

Unknown codecs and bitstreams without timestamps get a plan that decodes everything.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import av
import numpy as np

# NAL unit types (H.264 7.4.1, HEVC 7.4.2.2).
_H264_IDR = 5
_HEVC_IDR = (19, 20)
_HEVC_FIRST_NON_VCL = 32
_HEVC_LAST_SUBLAYER_NONREF = 14


@dataclass(frozen=True)
class DecodePolicy:
    """Which savings the decode may take; each one is measured in benchmarks/inference_speed.py.

    ``skip_nonref`` and ``skip_gaps`` are exact (no pixel changes). ``skip_loop_filter`` takes
    FFmpeg's values (``"none"``, ``"noref"``, ``"all"``); anything but ``"none"`` changes pixels.
    """

    skip_nonref: bool = True
    skip_gaps: bool = True
    skip_loop_filter: str = "none"

    @classmethod
    def full(cls) -> DecodePolicy:
        """Decode every frame at full quality (the reference the other policies are checked on)."""
        return cls(skip_nonref=False, skip_gaps=False, skip_loop_filter="none")

    @property
    def exact(self) -> bool:
        """Whether the sampled frames are bit-identical to a full decode."""
        return self.skip_loop_filter == "none"


@dataclass
class PacketIndex:
    """The video packets of a file in decode order (demuxed, not decoded)."""

    time_base: float
    pts: list[int | None] = field(default_factory=list)
    dts: list[int | None] = field(default_factory=list)
    ends: list[int] = field(default_factory=list)  # pts + duration, in time_base units
    reference: list[bool] = field(default_factory=list)
    start_point: list[bool] = field(default_factory=list)
    temporal_id: list[int] = field(default_factory=list)
    corrupt: int = 0

    def __len__(self) -> int:
        return len(self.pts)

    @property
    def timed(self) -> bool:
        """Whether every packet carries a presentation timestamp."""
        return all(p is not None for p in self.pts)


class _NalReader:
    """Reads reference and IDR flags from length-prefixed (AVCC/HVCC) H.264 or HEVC packets."""

    def __init__(self, codec: str, extradata: bytes | None) -> None:
        self.codec = codec
        self.length_size = 0
        if not extradata or extradata[0] != 1:
            return  # Annex B (start codes) or no configuration record: flags stay unknown.
        if codec == "h264" and len(extradata) > 4:
            self.length_size = (extradata[4] & 3) + 1
        elif codec == "hevc" and len(extradata) > 21:
            self.length_size = (extradata[21] & 3) + 1

    def read(self, data: memoryview) -> tuple[bool, bool, int] | None:
        """(reference, idr, temporal_id) of the packet's first picture slice, or None."""
        size, length = len(data), self.length_size
        if not length:
            return None
        offset = 0
        while offset + length < size:
            nal_size = int.from_bytes(data[offset : offset + length], "big")
            header = offset + length
            if nal_size <= 0 or header + min(nal_size, 2) > size:
                return None
            first = data[header]
            if self.codec == "h264":
                kind = first & 0x1F
                if 1 <= kind <= _H264_IDR:
                    return (first >> 5) & 3 != 0, kind == _H264_IDR, 0
            else:
                kind = (first >> 1) & 0x3F
                if kind < _HEVC_FIRST_NON_VCL:
                    sublayer_nonref = kind <= _HEVC_LAST_SUBLAYER_NONREF and kind % 2 == 0
                    return not sublayer_nonref, kind in _HEVC_IDR, (data[header + 1] & 7) - 1
            offset = header + nal_size
        return None


class IndexBuilder:
    """Collects the :class:`PacketIndex` of a video stream from its demuxed packets."""

    def __init__(self, stream: av.video.stream.VideoStream) -> None:
        ctx = stream.codec_context
        self.reader = _NalReader(ctx.name, ctx.extradata)
        self.index = PacketIndex(time_base=float(stream.time_base or 0.0))

    def add(self, packet: av.Packet) -> None:
        """Record one demuxed video packet (empty flush packets are skipped by the caller)."""
        index = self.index
        flags = self.reader.read(memoryview(packet)) if packet.size else None
        if flags is None:
            # Without bitstream facts only the container's word counts; the first packet is
            # where a full decode starts, so it is always a valid start.
            reference, idr, temporal = not packet.is_disposable, not index.pts, 0
        else:
            reference, idr, temporal = flags
            idr = idr and packet.is_keyframe
        index.pts.append(packet.pts)
        index.dts.append(packet.dts)
        index.ends.append((packet.pts or 0) + max(packet.duration or 0, 0))
        index.reference.append(reference)
        index.start_point.append(idr or not index.start_point)
        index.temporal_id.append(temporal)
        if packet.is_corrupt:
            index.corrupt += 1


def frame_times(index: PacketIndex, origin: float) -> np.ndarray:
    """Presentation time (s, from ``origin``) of each packet's frame, in decode order."""
    return (
        np.array([p if p is not None else 0 for p in index.pts], dtype=np.float64)
        * (index.time_base)
        - origin
    )


def plan(
    index: PacketIndex, targets: Sequence[float], origin: float, policy: DecodePolicy
) -> np.ndarray | None:
    """Boolean mask over the packets (decode order) to send to the decoder, or None for all.

    A target shows the last frame presented at or before it (the first frame for a target
    before it), as :class:`vs_model.frame_sampling.FrameSampler` reads a full decode.
    """
    count = len(index)
    if count == 0 or not index.timed or not (policy.skip_nonref or policy.skip_gaps):
        return None
    times = frame_times(index, origin)
    order = np.argsort(times, kind="stable")
    shown = np.searchsorted(times[order], np.asarray(targets, dtype=np.float64), side="right")
    needed = np.zeros(count, dtype=bool)
    needed[order[np.clip(shown - 1, 0, count - 1)]] = True
    if not needed.any():
        return np.zeros(count, dtype=bool)

    # Decode from the start point before each needed frame (the very first packet is one)
    # through it; without gap skipping, from the first packet through the last needed one.
    wanted = np.flatnonzero(needed)
    if policy.skip_gaps:
        starts = np.flatnonzero(np.asarray(index.start_point, dtype=bool))
        begins = starts[np.searchsorted(starts, wanted, side="right") - 1]
        edges = np.zeros(count + 1, dtype=np.int64)
        np.add.at(edges, begins, 1)
        np.add.at(edges, wanted + 1, -1)
        span = np.cumsum(edges[:count]) > 0
    else:
        span = np.zeros(count, dtype=bool)
        span[: int(wanted[-1]) + 1] = True

    if policy.skip_nonref:
        top = max(index.temporal_id) if index.temporal_id else 0
        droppable = ~np.asarray(index.reference, dtype=bool) & (
            np.asarray(index.temporal_id) == top
        )
        return span & (needed | ~droppable)
    return span
