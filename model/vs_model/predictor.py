"""Scoring every utterance of a video: decode once, segment, batch through the model, report.

The model is loaded once per process. Each video is probed, its audio decoded and resampled once,
cut into utterances, its frames sampled for all utterances in one sequential pass, and the
utterances scored in bounded batches (mixed precision on CUDA). The result is the document of
schema ``video-sentiment/result@1``.
"""

from __future__ import annotations

import dataclasses
import os
import time
import uuid
from contextlib import nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from vs_model import media
from vs_model.asr import SpeechRecognizer, installed_whisper_base
from vs_model.checkpoint import LoadedModel, load_model, weights_file
from vs_model.config import TINY_TEXT_MODEL, ModelConfig
from vs_model.labels import EMOTIONS, SENTIMENTS
from vs_model.releases import file_sha256
from vs_model.segmentation import (
    Segmentation,
    SegmentationError,
    SegmentationOptions,
    needs_audio,
    segment,
)
from vs_model.text import dialogue_context, tokenize
from vs_model.transcripts import TranscriptError, Utterance
from vs_model.video_file import MediaError
from vs_model.video_probe import probe

RESULT_SCHEMA = "video-sentiment/result@1"
ASR_SUBFOLDER = "asr"


class InvalidInput(ValueError):
    """A request the service cannot process: why (for the user), a failure code, an HTTP status.

    The codes are those of vs_model.failures; `status` is 4xx, since the caller can fix it.
    """

    def __init__(self, reason: str, code: str = "bad_request", status: int = 400) -> None:
        super().__init__(f"invalid input: {reason}")
        self.reason = reason
        self.code = code
        self.status = status


def default_batch_size(device: str) -> int:
    """Utterances per forward pass: R3D-18 activations of a batch of 16 need about 1.5 GB,
    which a GPU has to spare; on CPU small batches run as fast and keep memory low."""
    return 16 if device.startswith("cuda") else 4


@dataclass(frozen=True)
class PredictorSettings:
    """Endpoint settings, read from the environment here and nowhere else."""

    device: str
    batch_size: int = 4
    max_video_seconds: float | None = None
    asr_model: Path | None = None
    asr_language: str | None = None

    @classmethod
    def from_env(cls, model_dir: str | Path) -> PredictorSettings:
        """Settings from ``VS_DEVICE``, ``VS_BATCH_SIZE``, ``MAX_VIDEO_SECONDS``, ``VS_ASR_MODEL``
        (a Whisper base folder, relative to the model folder or absolute; ``none`` turns ASR off;
        by default the model folder's ``asr/``, else the pip-installed Whisper base, when present)
        and ``VS_ASR_LANGUAGE``."""
        env = os.environ
        device = env.get("VS_DEVICE", "").strip() or (
            "cuda" if torch.cuda.is_available() else "cpu"
        )
        max_seconds = env.get("MAX_VIDEO_SECONDS", "").strip()
        asr_setting = env.get("VS_ASR_MODEL", "").strip()
        if asr_setting.lower() == "none":
            asr_model = None
        elif asr_setting:
            asr_model = Path(model_dir) / asr_setting
        else:
            bundled = Path(model_dir) / ASR_SUBFOLDER
            asr_model = bundled if (bundled / "model.bin").is_file() else installed_whisper_base()
        return cls(
            device=device,
            batch_size=int(env.get("VS_BATCH_SIZE", "") or default_batch_size(device)),
            max_video_seconds=float(max_seconds) if max_seconds else None,
            asr_model=asr_model,
            asr_language=env.get("VS_ASR_LANGUAGE", "").strip() or None,
        )


@dataclass(frozen=True)
class ModelInfo:
    """Which model produced a result: version is the weights' content hash."""

    name: str
    version: str
    preset: str
    demo: bool
    # The signals the model reads: ["text"] for a text-only model, or text, video and audio.
    modalities: list[str] = field(default_factory=lambda: ["text", "video", "audio"])
    dialogue_context: bool = False


@dataclass(frozen=True)
class Scores:
    """One head's answer: the top label, its probability, and every label's probability."""

    label: str
    confidence: float
    scores: dict[str, float]


@dataclass(frozen=True)
class ScoredUtterance:
    """An utterance with its emotion and sentiment."""

    start_s: float
    end_s: float
    text: str
    emotion: Scores
    sentiment: Scores


@dataclass(frozen=True)
class PredictionResult:
    """The result document of one video (schema ``video-sentiment/result@1``)."""

    job_id: str
    video: dict[str, Any]
    model: ModelInfo
    segmentation: str
    utterances: list[ScoredUtterance]
    summary: dict[str, dict[str, float]]
    timings_ms: dict[str, float]
    warnings: list[str] = field(default_factory=list)
    # A video without speech: its picture scored over fixed windows (text empty).
    picture: list[ScoredUtterance] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """The JSON-ready document."""
        return {"schema": RESULT_SCHEMA, **dataclasses.asdict(self)}


def _weights_version(folder: Path) -> str:
    return file_sha256(weights_file(folder))[:16]


def _model_info(folder: Path, cfg: ModelConfig) -> ModelInfo:
    # The tiny text encoder starts from random weights and a toy vocabulary: whatever it was
    # trained on, such a model only demonstrates the system.
    demo = cfg.text_model == TINY_TEXT_MODEL
    return ModelInfo(
        name=f"video-sentiment-{cfg.name}",
        version=_weights_version(folder),
        preset=cfg.name,
        demo=demo,
        modalities=list(cfg.modalities),
        dialogue_context=cfg.dialogue_context,
    )


def _scores(probabilities: torch.Tensor, labels: tuple[str, ...]) -> Scores:
    values = [round(float(p), 5) for p in probabilities]
    best = int(torch.argmax(probabilities))
    return Scores(labels[best], values[best], dict(zip(labels, values, strict=True)))


def summarize(utterances: list[ScoredUtterance]) -> dict[str, dict[str, float]]:
    """Duration-weighted mean of the utterances' probabilities: the video's overall mood."""
    weights = [max(u.end_s - u.start_s, 1e-3) for u in utterances]
    total = sum(weights)

    def mean(head: str, labels: tuple[str, ...]) -> dict[str, float]:
        return {
            label: round(
                sum(
                    w * getattr(u, head).scores[label]
                    for u, w in zip(utterances, weights, strict=True)
                )
                / total,
                5,
            )
            for label in labels
        }

    return {"emotion": mean("emotion", EMOTIONS), "sentiment": mean("sentiment", SENTIMENTS)}


def video_contexts(texts: list[str]) -> list[str]:
    """The dialogue context of each utterance: the words of the video's earlier utterances.

    Speakers are unknown here, so turns are separated but not attributed.
    """
    turns = [("", text) for text in texts]
    return [dialogue_context([t for t in turns[:i] if t[1].strip()]) for i in range(len(texts))]


class Predictor:
    """The loaded model (and optional speech recognizer) and the per-video pipeline."""

    def __init__(self, model_dir: str | Path, settings: PredictorSettings | None = None) -> None:
        self.model_dir = Path(model_dir)
        self.settings = settings or PredictorSettings.from_env(self.model_dir)
        self.device = torch.device(self.settings.device)
        self.loaded: LoadedModel = load_model(self.model_dir, self.device)
        self.cfg = self.loaded.cfg
        self.info = _model_info(self.model_dir, self.cfg)
        self.recognizer = (
            SpeechRecognizer.load(
                self.settings.asr_model, self.device, language=self.settings.asr_language
            )
            if self.settings.asr_model is not None
            else None
        )

    def predict(
        self,
        video: str | Path,
        transcript: list[Utterance] | None = None,
        options: SegmentationOptions | None = None,
        job_id: str | None = None,
    ) -> PredictionResult:
        """Score every utterance of the video file at ``video``."""
        started = time.perf_counter()
        timings: dict[str, float] = {}
        try:
            info = probe(video)
        except MediaError as exc:
            raise InvalidInput(str(exc)) from exc
        self._check_duration(info.duration_s)
        options = options or SegmentationOptions()
        clock = time.perf_counter()
        audio = self._audio(video) if info.has_audio and needs_audio(transcript, options) else None
        timings["decode"] = time.perf_counter() - clock

        clock = time.perf_counter()
        try:
            cut = segment(
                info.duration_s,
                torch.zeros(0) if audio is None else audio,
                self.cfg.sample_rate,
                transcript,
                self.recognizer,
                options,
            )
        except (SegmentationError, TranscriptError) as exc:
            raise InvalidInput(str(exc)) from exc
        timings["segment"] = time.perf_counter() - clock

        # Frames for every window in one pass; the audio too unless it was decoded above already.
        # A text-only model reads neither.
        frames = mel = None
        if not self.cfg.text_only:
            clock = time.perf_counter()
            windows = [(u.start_s, u.end_s) for u in cut.windows]
            try:
                features = media.extract(
                    video, windows, self.cfg, audio=audio, device=self.device.type
                )
            except MediaError as exc:
                raise InvalidInput(str(exc)) from exc
            frames, mel = features.frames, features.mel
            timings["decode"] += time.perf_counter() - clock

        clock = time.perf_counter()
        scored = self._score(cut, frames, mel)
        timings["model"] = time.perf_counter() - clock
        timings["total"] = time.perf_counter() - started

        warnings = [*info.warnings, *cut.warnings]
        if self.cfg.text_only and any(not u.text.strip() for u in cut.windows):
            warnings.append(
                "text-only model: utterances without words (no transcript or recognized speech)"
                " are scored from no text at all"
            )
        if self.info.demo:
            warnings.append(
                "demo model (tiny encoders, toy vocabulary): it says nothing about real videos"
            )
        return PredictionResult(
            job_id=job_id or uuid.uuid4().hex,
            video=info.to_dict(),
            model=self.info,
            segmentation=cut.method,
            utterances=scored if cut.utterances else [],
            summary=summarize(scored),
            timings_ms={stage: round(seconds * 1000.0, 1) for stage, seconds in timings.items()},
            warnings=warnings,
            picture=[] if cut.utterances else scored,
        )

    def _check_duration(self, duration_s: float) -> None:
        limit = self.settings.max_video_seconds
        if duration_s <= 0:
            raise InvalidInput(
                "the video has no duration (no frames could be timed)", code="corrupt_video"
            )
        if limit is not None and duration_s > limit:
            raise InvalidInput(
                f"the video lasts {duration_s:.1f} s, longer than the {limit:g} s"
                " this service accepts",
                code="too_long",
            )

    def _audio(self, video: str | Path) -> torch.Tensor:
        try:
            return media.load_audio(video, self.cfg.sample_rate)
        except MediaError as exc:
            raise InvalidInput(str(exc)) from exc

    @torch.inference_mode()
    def _score(
        self, cut: Segmentation, frames: torch.Tensor | None, mel: torch.Tensor | None
    ) -> list[ScoredUtterance]:
        texts = [u.text for u in cut.windows]
        contexts = video_contexts(texts) if self.cfg.dialogue_context else None
        model, step = self.loaded.model, max(1, self.settings.batch_size)
        emotion, sentiment = [], []
        for first in range(0, len(texts), step):
            last = first + step
            tokens = tokenize(
                self.loaded.tokenizer,
                texts[first:last],
                self.cfg,
                contexts[first:last] if contexts is not None else None,
            )
            with self._autocast():
                out = model(
                    tokens["input_ids"].to(self.device),
                    tokens["attention_mask"].to(self.device),
                    None if frames is None else frames[first:last].to(self.device),
                    None if mel is None else mel[first:last].to(self.device),
                )
            emotion.append(torch.softmax(out.emotion_logits.float(), dim=-1).cpu())
            sentiment.append(torch.softmax(out.sentiment_logits.float(), dim=-1).cpu())
        emotions, sentiments = torch.cat(emotion), torch.cat(sentiment)
        return [
            ScoredUtterance(
                start_s=round(u.start_s, 3),
                end_s=round(u.end_s, 3),
                text=u.text,
                emotion=_scores(emotions[i], EMOTIONS),
                sentiment=_scores(sentiments[i], SENTIMENTS),
            )
            for i, u in enumerate(cut.windows)
        ]

    def _autocast(self) -> Any:
        if self.device.type != "cuda":
            return nullcontext()
        dtype = torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
        return torch.autocast("cuda", dtype=dtype)
