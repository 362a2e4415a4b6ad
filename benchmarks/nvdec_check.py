"""GPU decoding check for a device machine: is NVDEC usable through PyAV, and what does it buy.

Prints what was found (torch and its GPU, PyAV and its FFmpeg, the hardware device types the
build knows, whether a CUDA decoder can be created), then, when it can, for each stream kind
of ``speech_videos.py`` at 60 s 720p: one full decode pass on the CPU and on NVDEC, the
planned sampling of the endpoint on each, all in seconds per video-minute (medians of
``--repeat``), and the largest pixel difference of NVDEC's sampled frames against the CPU's.

    .venv/bin/python benchmarks/nvdec_check.py --repeat 3

Without a usable NVDEC it says why and exits 0: the endpoint then decodes on the CPU.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "model"), str(ROOT / "benchmarks")]


def full_decode(video: Path, device: str) -> float:
    """Seconds of one decode of every video frame on ``device``."""
    import av

    from vs_model.video_file import decoder_hwaccel

    started = time.perf_counter()
    with av.open(str(video), hwaccel=decoder_hwaccel(device)) as container:
        stream = container.streams.video[0]
        if device == "cpu":
            stream.thread_type = "AUTO"
        for _frame in container.decode(stream):
            pass
    return time.perf_counter() - started


def main() -> None:
    """Report the findings and, with NVDEC, the figures."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--cache", type=Path, default=Path(tempfile.gettempdir()) / "vs-bench")
    args = parser.parse_args()

    import av
    import torch
    from av.codec.hwaccel import hwdevices_available

    from vs_model import media
    from vs_model.video_file import cuda_decoding_available

    print(f"torch {torch.__version__}, CUDA available: {torch.cuda.is_available()}")
    if torch.cuda.is_available():
        print(f"  GPU: {torch.cuda.get_device_name(0)}")
    print(f"PyAV {av.__version__}, libavcodec {av.library_versions['libavcodec']}")
    print(f"  hardware device types in this build: {', '.join(hwdevices_available()) or 'none'}")
    usable = cuda_decoding_available()
    print(f"  CUDA decoder can be created: {usable}")
    if not usable:
        print("NVDEC is not usable here: the endpoint decodes on the CPU.")
        return

    from speech_videos import KINDS, transcript_times, video_path

    args.cache.mkdir(parents=True, exist_ok=True)
    windows = [(s, s + 3.0) for s in transcript_times(60)]
    print(
        f"\n{'kind':>8} | {'full decode s/min: CPU':>22} {'NVDEC':>6} | "
        f"{'sampling s/min: CPU':>19} {'NVDEC':>6} | {'max px diff':>11}"
    )
    for kind in KINDS:
        video = video_path(args.cache, 60, kind)
        times: dict[str, list[float]] = {"cpu": [], "cuda": [], "cpu plan": [], "cuda plan": []}
        frames = {}
        for _ in range(args.repeat):
            for device in ("cpu", "cuda"):
                times[device].append(full_decode(video, device))
                started = time.perf_counter()
                frames[device] = media.sample_frames(video, windows, 16, 112, device=device)
                times[f"{device} plan"].append(time.perf_counter() - started)
        median = {name: statistics.median(values) for name, values in times.items()}
        diff = int((frames["cuda"].int() - frames["cpu"].int()).abs().max())
        print(
            f"{kind:>8} | {median['cpu']:>22.2f} {median['cuda']:>6.2f} | "
            f"{median['cpu plan']:>19.2f} {median['cuda plan']:>6.2f} | {diff:>11d}",
            flush=True,
        )


if __name__ == "__main__":
    main()
