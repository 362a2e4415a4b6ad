"""The multimodal network: text, video and audio encoders, fusion, emotion and sentiment heads."""

from __future__ import annotations

from typing import NamedTuple

import torch
from torch import nn
from torchvision.models.video import R3D_18_Weights, r3d_18
from transformers import PretrainedConfig

from vs_model import lora
from vs_model.config import ModelConfig
from vs_model.labels import EMOTIONS, SENTIMENTS
from vs_model.text import build_text_backbone

# What R3D-18's Kinetics-400 weights were trained on (torchvision's video classification preset).
KINETICS_MEAN = (0.43216, 0.394666, 0.37645)
KINETICS_STD = (0.22803, 0.22145, 0.216989)
# Log-mel arrives in dB (speech peaks near +30, silence -50 to -100); map it near unit spread.
MEL_DB_CENTER = -30.0
MEL_DB_SCALE = 30.0

PARAM_GROUPS = ("text", "video", "audio", "head")


class ModelOutput(NamedTuple):
    """Raw logits of both heads (a NamedTuple so DDP and tracing see plain tensors)."""

    emotion_logits: torch.Tensor
    sentiment_logits: torch.Tensor


class TextEncoder(nn.Module):
    """A transformers encoder pooled to one vector (CLS token or attention-masked mean)."""

    def __init__(self, cfg: ModelConfig, text_config: PretrainedConfig | None = None) -> None:
        super().__init__()
        self.backbone: nn.Module = build_text_backbone(cfg, text_config)
        self.pooling = cfg.text_pooling
        self.frozen = cfg.freeze_text
        self.out_features = int(self.backbone.config.hidden_size)
        # LoRA only for training from the pretrained encoder: a saved model (text_config given)
        # has its updates merged into plain weights already.
        if cfg.text_lora_rank > 0 and not cfg.freeze_text and text_config is None:
            self.backbone = lora.wrap(
                self.backbone, cfg.text_lora_rank, cfg.text_lora_alpha, cfg.dropout
            )
        else:
            self._set_trainable(cfg)

    def _set_trainable(self, cfg: ModelConfig) -> None:
        if cfg.freeze_text:
            self.backbone.requires_grad_(False)
            return
        layers = getattr(getattr(self.backbone, "encoder", None), "layer", None)
        if cfg.text_train_layers is None or layers is None:
            return
        # Fine-tune only the top layers: the lower ones keep their pretrained features intact.
        self.backbone.requires_grad_(False)
        for layer in list(layers)[len(layers) - cfg.text_train_layers :]:
            layer.requires_grad_(True)

    def train(self, mode: bool = True) -> TextEncoder:
        """Switch modes; a frozen backbone stays in eval mode so its dropout stays off."""
        super().train(mode)
        if self.frozen:
            self.backbone.eval()
        return self

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        """[B, L] ids and mask -> [B, hidden]."""
        with torch.set_grad_enabled(torch.is_grad_enabled() and not self.frozen):
            hidden = self.backbone(
                input_ids=input_ids, attention_mask=attention_mask
            ).last_hidden_state
        if self.pooling == "cls":
            return hidden[:, 0]
        mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
        return (hidden * mask).sum(dim=1) / mask.sum(dim=1).clamp(min=1.0)


def _small3d(channels: tuple[int, ...]) -> nn.Sequential:
    layers: list[nn.Module] = []
    in_ch = 3
    for i, out_ch in enumerate(channels):
        # Keep the few frames of the tiny preset: pool time only after the first block.
        stride = (1, 2, 2) if i == 0 else (2, 2, 2)
        layers += [
            nn.Conv3d(in_ch, out_ch, kernel_size=3, stride=stride, padding=1, bias=False),
            nn.BatchNorm3d(out_ch),
            nn.ReLU(inplace=True),
        ]
        in_ch = out_ch
    layers += [nn.AdaptiveAvgPool3d(1), nn.Flatten()]
    return nn.Sequential(*layers)


class VideoEncoder(nn.Module):
    """uint8 RGB clips [B, T, 3, H, W] -> [B, features]; Kinetics normalisation happens here."""

    def __init__(self, cfg: ModelConfig, load_pretrained: bool = True) -> None:
        super().__init__()
        self.register_buffer("mean", torch.tensor(KINETICS_MEAN).view(1, 3, 1, 1, 1), False)
        self.register_buffer("std", torch.tensor(KINETICS_STD).view(1, 3, 1, 1, 1), False)
        if cfg.video_encoder == "r3d_18":
            weights = (
                R3D_18_Weights.KINETICS400_V1 if cfg.video_pretrained and load_pretrained else None
            )
            backbone = r3d_18(weights=weights)
            self.out_features = backbone.fc.in_features
            backbone.fc = nn.Identity()
            self.backbone: nn.Module = backbone
        else:
            self.backbone = _small3d(cfg.small3d_channels)
            self.out_features = cfg.small3d_channels[-1]

    def forward(self, frames: torch.Tensor) -> torch.Tensor:
        """Scale to [0, 1], normalise, reorder to [B, 3, T, H, W] and encode."""
        x = frames.permute(0, 2, 1, 3, 4).to(self.mean.dtype).div_(255.0)
        x = (x - self.mean) / self.std
        return self.backbone(x)


class AudioEncoder(nn.Module):
    """Log-mel [B, n_mels, F] in dB -> [B, features] through a small 2D CNN."""

    def __init__(self, cfg: ModelConfig) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        in_ch = 1
        for out_ch in cfg.audio_channels:
            layers += [
                nn.Conv2d(in_ch, out_ch, kernel_size=3, padding=1, bias=False),
                nn.BatchNorm2d(out_ch),
                nn.ReLU(inplace=True),
                nn.MaxPool2d(2),
            ]
            in_ch = out_ch
        layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten()]
        self.cnn = nn.Sequential(*layers)
        self.out_features = cfg.audio_channels[-1]

    def forward(self, mel: torch.Tensor) -> torch.Tensor:
        """Encode one log-mel window per row."""
        x = (mel.float() - MEL_DB_CENTER) / MEL_DB_SCALE
        return self.cnn(x.unsqueeze(1))


def _projection(in_features: int, out_features: int, dropout: float) -> nn.Sequential:
    return nn.Sequential(
        nn.Linear(in_features, out_features),
        nn.LayerNorm(out_features),
        nn.ReLU(inplace=True),
        nn.Dropout(dropout),
    )


class MultimodalSentimentModel(nn.Module):
    """Text (+ video + audio, per ``cfg.modalities``) -> emotion (7) and sentiment (3) logits."""

    def __init__(
        self,
        cfg: ModelConfig,
        *,
        text_config: PretrainedConfig | None = None,
        load_pretrained: bool = True,
    ) -> None:
        """Build the network.

        `text_config` builds the text encoder from a saved configuration instead of loading
        pretrained weights, and `load_pretrained=False` skips the Kinetics-400 video weights: that
        is what loading a checkpoint needs, since its state dict supplies every weight.
        """
        super().__init__()
        self.cfg = cfg
        self.text = TextEncoder(cfg, text_config)
        linear = cfg.head == "linear"
        self.text_proj: nn.Module = (
            nn.Dropout(cfg.dropout)
            if linear
            else _projection(self.text.out_features, cfg.text_dim, cfg.dropout)
        )
        fused = self.text.out_features if linear else cfg.text_dim
        # A text-only model has no video or audio modules at all: nothing to load or to serve.
        self.video: VideoEncoder | None = None
        self.video_proj: nn.Module | None = None
        self.audio: AudioEncoder | None = None
        self.audio_proj: nn.Module | None = None
        if "video" in cfg.modalities:
            self.video = VideoEncoder(cfg, load_pretrained=load_pretrained)
            self.video_proj = _projection(self.video.out_features, cfg.video_dim, cfg.dropout)
            fused += cfg.video_dim
        if "audio" in cfg.modalities:
            self.audio = AudioEncoder(cfg)
            self.audio_proj = _projection(self.audio.out_features, cfg.audio_dim, cfg.dropout)
            fused += cfg.audio_dim
        self.fusion: nn.Module = nn.Identity()
        if not linear:
            self.fusion = nn.Sequential(
                nn.Linear(fused, cfg.fusion_hidden),
                nn.ReLU(inplace=True),
                nn.Dropout(cfg.dropout),
            )
            fused = cfg.fusion_hidden
        self.emotion_head = nn.Linear(fused, len(EMOTIONS))
        self.sentiment_head = nn.Linear(fused, len(SENTIMENTS))

    def forward(
        self,
        input_ids: torch.Tensor,
        attention_mask: torch.Tensor,
        frames: torch.Tensor | None = None,
        mel: torch.Tensor | None = None,
    ) -> ModelOutput:
        """ids/mask [B, L], frames uint8 [B, T, 3, H, W], mel [B, n_mels, F] -> logits.

        Frames and mel are needed exactly when the model has a video or an audio encoder.
        """
        parts = [self.text_proj(self.text(input_ids, attention_mask).float())]
        if self.video is not None:
            if frames is None:
                raise ValueError("this model reads video: frames are required")
            parts.append(self.video_proj(self.video(frames)))
        if self.audio is not None:
            if mel is None:
                raise ValueError("this model reads audio: mel is required")
            parts.append(self.audio_proj(self.audio(mel)))
        fused = self.fusion(torch.cat(parts, dim=1))
        return ModelOutput(self.emotion_head(fused), self.sentiment_head(fused))

    def group_parameters(self) -> dict[str, list[nn.Parameter]]:
        """Trainable parameters by part: encoder backbones, and everything new as "head"."""
        parts: dict[str, list[nn.Module | None]] = {
            "text": [self.text],
            "video": [self.video],
            "audio": [self.audio],
            "head": [
                self.text_proj,
                self.video_proj,
                self.audio_proj,
                self.fusion,
                self.emotion_head,
                self.sentiment_head,
            ],
        }
        return {
            name: [p for m in modules if m is not None for p in m.parameters() if p.requires_grad]
            for name, modules in parts.items()
        }

    def param_groups(self, lrs: dict[str, float]) -> list[dict]:
        """Optimizer parameter groups with one learning rate per part (text, video, audio, head).

        Parts without trainable parameters (a frozen text encoder) are left out.
        """
        groups = []
        missing = []
        for name, params in self.group_parameters().items():
            if not params:
                continue
            if name not in lrs:
                missing.append(name)
                continue
            groups.append({"name": name, "params": params, "lr": float(lrs[name])})
        if missing:
            raise ValueError(f"no learning rate given for: {', '.join(missing)}")
        return groups
