"""Model configuration: one dataclass, two presets ("paper" for AWS, "tiny" for CPU tests)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, Literal

from vs_model.encoder_packages import MINILM_PACKAGE

# Sentinel for `text_model`: a small randomly initialised BERT with an offline-built vocabulary.
TINY_TEXT_MODEL = "tiny-random-bert"

VideoEncoderName = Literal["r3d_18", "small3d"]
Pooling = Literal["cls", "mean"]
Head = Literal["mlp", "linear"]

MODALITIES = ("text", "video", "audio")


@dataclass
class ModelConfig:
    """Everything that shapes the network and its inputs; saved next to the weights."""

    name: str = "paper"
    # The inputs the network reads; a text-only model has no video or audio encoder at all.
    modalities: tuple[str, ...] = MODALITIES
    # Text: a hub name, a local model folder, a `package:` name (vs_model.encoder_packages) or
    # TINY_TEXT_MODEL.
    text_model: str = "bert-base-uncased"
    text_max_length: int = 64
    freeze_text: bool = False
    # Fine-tune only the top N transformer layers (None: all of them); ignored when frozen.
    text_train_layers: int | None = 4
    # LoRA instead (rank > 0): low-rank updates of every linear layer of the encoder, whose own
    # weights stay frozen; a saved model then holds the updates alone (a few MB).
    text_lora_rank: int = 0
    text_lora_alpha: int = 32
    text_pooling: Pooling = "cls"
    # Feed the utterances that precede each one (same dialogue or video) to the text encoder too,
    # truncated from the left so the utterance itself always fits.
    dialogue_context: bool = False
    # Tiny random BERT sizes (used only when text_model == TINY_TEXT_MODEL).
    tiny_text_hidden: int = 32
    tiny_text_layers: int = 2
    tiny_text_heads: int = 2
    # Video: torchvision R3D-18 (Kinetics-400 weights when pretrained) or a small 3D CNN.
    video_encoder: VideoEncoderName = "r3d_18"
    video_frames: int = 16
    frame_size: int = 112
    video_pretrained: bool = True
    small3d_channels: tuple[int, ...] = (16, 32, 64)
    # Audio: log-mel of each window, cropped to audio_seconds, padded/cropped to mel_frames.
    sample_rate: int = 16000
    n_mels: int = 64
    n_fft: int = 1024
    win_length: int = 400
    hop_length: int = 320
    audio_seconds: float = 10.0
    mel_frames: int = 500
    audio_channels: tuple[int, ...] = (32, 64, 128)
    # Fusion and heads. "mlp": each modality projected, fused by a hidden layer, then the heads;
    # "linear": the heads read the pooled text vector (and the video and audio projections)
    # directly, as a fine-tuned encoder's classifier does.
    head: Head = "mlp"
    text_dim: int = 256
    video_dim: int = 256
    audio_dim: int = 128
    fusion_hidden: int = 256
    dropout: float = 0.3

    def __post_init__(self) -> None:
        self.small3d_channels = tuple(self.small3d_channels)
        self.audio_channels = tuple(self.audio_channels)
        problems = []
        unknown = sorted(set(self.modalities) - set(MODALITIES))
        if unknown:
            problems.append(f"unknown modalities {unknown}; choose from {', '.join(MODALITIES)}")
        # One canonical order, so equal configurations compare and serialise equal.
        self.modalities = tuple(m for m in MODALITIES if m in self.modalities)
        if "text" not in self.modalities:
            problems.append("modalities must include text")
        if self.video_encoder not in ("r3d_18", "small3d"):
            problems.append(
                f"video_encoder must be 'r3d_18' or 'small3d', not {self.video_encoder!r}"
            )
        if self.head not in ("mlp", "linear"):
            problems.append(f"head must be 'mlp' or 'linear', not {self.head!r}")
        if self.text_pooling not in ("cls", "mean"):
            problems.append(f"text_pooling must be 'cls' or 'mean', not {self.text_pooling!r}")
        for field in ("video_frames", "frame_size", "sample_rate", "n_mels", "mel_frames"):
            if getattr(self, field) < 1:
                problems.append(f"{field} must be positive")
        if self.audio_seconds <= 0:
            problems.append("audio_seconds must be positive")
        if self.text_lora_rank < 0:
            problems.append("text_lora_rank must be 0 (off) or positive")
        if not 0.0 <= self.dropout < 1.0:
            problems.append("dropout must be in [0, 1)")
        if problems:
            raise ValueError("invalid model configuration: " + "; ".join(problems))

    @property
    def text_only(self) -> bool:
        """Whether the network reads the words alone (no video or audio encoder)."""
        return self.modalities == ("text",)

    @property
    def audio_samples(self) -> int:
        """Most samples of one window that reach the mel spectrogram."""
        return round(self.audio_seconds * self.sample_rate)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict (tuples become lists)."""
        return {
            k: list(v) if isinstance(v, tuple) else v for k, v in dataclasses.asdict(self).items()
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ModelConfig:
        """Rebuild from `to_dict()` output; unknown keys are errors, missing ones take defaults."""
        known = {f.name for f in dataclasses.fields(cls)}
        data = {**data}
        if "modalities" in data:
            data["modalities"] = tuple(data["modalities"])
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(f"unknown model configuration keys: {', '.join(unknown)}")
        return cls(**data)

    def replace(self, **changes: Any) -> ModelConfig:
        """A copy with some fields changed (validated again)."""
        return dataclasses.replace(self, **changes)


def _paper() -> ModelConfig:
    # Every encoder layer fine-tuned: what the text-only MELD runs showed to pay (README).
    return ModelConfig(text_train_layers=None)


def _tiny() -> ModelConfig:
    return ModelConfig(
        name="tiny",
        text_model=TINY_TEXT_MODEL,
        text_max_length=24,
        text_train_layers=None,
        video_encoder="small3d",
        video_frames=4,
        frame_size=64,
        video_pretrained=False,
        small3d_channels=(8, 16, 32),
        n_mels=32,
        n_fft=512,
        win_length=400,
        hop_length=320,
        audio_seconds=3.0,
        mel_frames=150,
        audio_channels=(8, 16, 32),
        text_dim=32,
        video_dim=32,
        audio_dim=32,
        fusion_hidden=64,
        dropout=0.1,
    )


def _text() -> ModelConfig:
    # Fine-tuned end to end on MELD's words with dialogue context: every layer, mean pooling as
    # MiniLM was trained with.
    return ModelConfig(
        name="text",
        modalities=("text",),
        text_model=MINILM_PACKAGE,
        text_max_length=64,
        text_train_layers=None,
        text_pooling="mean",
        # Earlier turns lifted dev sentiment weighted F1 by 1.3 points (README).
        dialogue_context=True,
        # The heads read the pooled vector directly: 1.8 points of dev emotion weighted F1 over
        # the projection and fusion layers when fine-tuning every layer (README).
        head="linear",
        dropout=0.1,
    )


PRESETS = {"paper": _paper, "text": _text, "tiny": _tiny}


def preset(name: str, **overrides: Any) -> ModelConfig:
    """A named configuration ("paper" or "tiny"), optionally with fields overridden."""
    if name not in PRESETS:
        raise ValueError(f"unknown preset {name!r}; choose one of {', '.join(PRESETS)}")
    cfg = PRESETS[name]()
    return cfg.replace(**overrides) if overrides else cfg
