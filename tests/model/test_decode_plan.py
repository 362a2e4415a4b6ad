"""Decoding only what the sampled frames need gives exactly the frames of a full decode."""

from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest
import torch

from vs_model.decode_plan import DecodePolicy, PacketIndex, plan
from vs_model.frame_sampling import sample_times
from vs_model.media import sample_frames
from vs_model.video_file import cuda_decoding_available
from vs_model.video_probe import scan

FPS = 25
SECONDS = 8.0
# Sampled times dense inside each window, with gaps of several GOPs between windows, windows
# starting before the first frame and running past the last, and two that overlap.
WINDOWS = [(-0.5, 0.3), (0.9, 1.7), (4.1, 4.6), (4.4, 5.0), (7.3, 9.0)]

STREAMS = {
    # x264 defaults (3 B-frames, b-pyramid: some B-frames are references, the rest are not)
    # with a keyframe every second; scene-cut detection is off because it sees every frame of
    # noise as a new scene and turns the B-frames into P-frames.
    "h264-bframes": ("libx264", {"x264-params": "scenecut=0:keyint=25"}),
    # Phone-style: P-frames only, one reference, a keyframe every second.
    "h264-pframes": ("libx264", {"x264-params": "bframes=0:ref=1:keyint=25:scenecut=0"}),
    "hevc-bframes": (
        "libx265",
        {"x265-params": "scenecut=0:keyint=25:log-level=error"},
    ),
}


def write_clip(
    path: Path, codec: str, options: dict[str, str], times: list[float] | None = None
) -> Path:
    """A 96x64 clip whose every frame is different noise, so any wrong frame shows.

    ``times`` (seconds) makes the frame rate variable.
    """
    rng = np.random.default_rng(0)
    times = times if times is not None else [i / FPS for i in range(round(SECONDS * FPS))]
    time_base = Fraction(1, 1000)
    with av.open(str(path), "w", format="mp4") as container:
        stream = container.add_stream(codec, rate=FPS, options=options)
        stream.width, stream.height, stream.pix_fmt = 96, 64, "yuv420p"
        stream.codec_context.time_base = time_base
        for t in times:
            image = rng.integers(0, 256, (64, 96, 3), dtype=np.uint8)
            frame = av.VideoFrame.from_ndarray(image, format="rgb24")
            frame.pts, frame.time_base = round(t * 1000), time_base
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
    return path


@pytest.fixture(scope="module", params=sorted(STREAMS))
def clip(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Path:
    codec, options = STREAMS[request.param]
    if codec not in av.codecs_available:
        pytest.skip(f"this FFmpeg has no {codec}")
    return write_clip(tmp_path_factory.mktemp("plan") / f"{request.param}.mp4", codec, options)


def decoded_share(path: Path, windows: list[tuple[float, float]], n_frames: int) -> float:
    scanned = scan(path)
    mask = plan(scanned.index, sample_times(windows, n_frames), scanned.origin, DecodePolicy())
    assert mask is not None
    return float(mask.mean())


def test_planned_decoding_is_exact_and_decodes_less(clip):
    full = sample_frames(clip, WINDOWS, 16, 32, policy=DecodePolicy.full())
    planned = sample_frames(clip, WINDOWS, 16, 32)
    assert torch.equal(planned, full)
    # Each option alone is exact too.
    for policy in (DecodePolicy(skip_gaps=False), DecodePolicy(skip_nonref=False)):
        assert torch.equal(sample_frames(clip, WINDOWS, 16, 32, policy=policy), full)
    assert decoded_share(clip, WINDOWS, 16) < 0.75


def test_every_frame_of_a_window_can_be_sampled_exactly(clip):
    # One target per frame interval, each just after a frame's time, around a GOP boundary.
    windows = [(0.63, 1.43)]
    full = sample_frames(clip, windows, 20, 32, policy=DecodePolicy.full())
    assert torch.equal(sample_frames(clip, windows, 20, 32), full)
    assert len({f.numpy().tobytes() for f in full[0]}) == 20


def test_bframes_are_skipped_inside_windows(tmp_path):
    codec, options = STREAMS["h264-bframes"]
    path = write_clip(tmp_path / "b.mp4", codec, options)
    scanned = scan(path)
    assert sum(not r for r in scanned.index.reference) > len(scanned.index) / 3
    # One sampled frame in four: the non-reference B-frames between them are not decoded.
    share = decoded_share(path, [(0.0, SECONDS)], round(SECONDS * FPS / 4))
    assert share < 0.85


def test_variable_frame_rate_is_exact(tmp_path):
    rng = np.random.default_rng(3)
    times = np.cumsum(rng.uniform(0.01, 0.09, 150)).tolist()
    codec, options = STREAMS["h264-bframes"]
    path = write_clip(tmp_path / "vfr.mp4", codec, options, times)
    windows = [(0.2, 0.9), (2.5, 3.1), (times[-1] - 0.2, times[-1] + 1.0)]
    full = sample_frames(path, windows, 16, 32, policy=DecodePolicy.full())
    assert torch.equal(sample_frames(path, windows, 16, 32), full)


def test_untimed_or_empty_plans_fall_back():
    index = PacketIndex(time_base=0.04, pts=[None, None], dts=[None, None])
    assert plan(index, [0.0], 0.0, DecodePolicy()) is None
    assert plan(PacketIndex(time_base=0.04), [0.0], 0.0, DecodePolicy()) is None
    assert plan(index, [0.0], 0.0, DecodePolicy.full()) is None


def test_cuda_decoding_falls_back_to_the_cpu(clip):
    cpu = sample_frames(clip, WINDOWS, 4, 32)
    gpu = sample_frames(clip, WINDOWS, 4, 32, device="cuda")
    if not cuda_decoding_available():
        assert torch.equal(gpu, cpu)
    else:
        # NVDEC decodes the same pictures; only its NV12 output's conversion may round apart.
        assert int((gpu.int() - cpu.int()).abs().max()) <= 2
