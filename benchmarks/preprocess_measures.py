"""The measurements inference_speed.py runs in child processes: one plain decode, the
endpoint's preprocessing, and the fidelity of the decode savings (pixels and scores)."""

from __future__ import annotations

import resource
import time
from pathlib import Path

from speech_videos import SPOKEN_S, transcript_times


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

    from vs_model.video_file import decoder_hwaccel

    started, cpu = time.perf_counter(), cpu_seconds()
    with av.open(str(video), hwaccel=decoder_hwaccel(device)) as container:
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
    from vs_model.video_probe import probe

    transcript = None
    if segmentation == "transcript":
        transcript = [Utterance(s, s + SPOKEN_S, "") for s in transcript_times(seconds)]
    info = probe(video)
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
    from vs_model.frame_sampling import sample_times
    from vs_model.predictor import Predictor, PredictorSettings
    from vs_model.video_probe import scan

    predictor = Predictor(model_dir, PredictorSettings(device="cpu", batch_size=8))
    cfg = predictor.cfg
    audio, cut = utterances_of(video, segmentation, seconds, cfg.sample_rate)
    windows = [(u.start_s, u.end_s) for u in cut.utterances]
    scanned = scan(video)
    mask = plan(
        scanned.index, sample_times(windows, cfg.video_frames), scanned.origin, policy_of(options)
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
