"""What the training loop optimises, and how: the loss, class weights, LR schedules, precision."""

from __future__ import annotations

import math
from typing import Any

import torch
from torch import nn
from torch.utils.data import Dataset

from vs_model.labels import EMOTIONS, SENTIMENTS
from vs_model.training_data import dataset_labels
from vs_model.training_options import TrainOptions


def amp_dtype(device: torch.device, mode: str) -> torch.dtype | None:
    """The autocast dtype: bf16 where the GPU supports it, else fp16; none on CPU or when off."""
    if device.type != "cuda" or mode == "off":
        return None
    if mode == "fp16":
        return torch.float16
    if mode == "bf16" or torch.cuda.is_bf16_supported():
        return torch.bfloat16
    return torch.float16


def class_weights(labels: torch.Tensor, n_classes: int) -> torch.Tensor:
    """Inverse-frequency ("balanced") weights, ``N / (K * count)``; absent classes get 1."""
    counts = torch.bincount(labels, minlength=n_classes).double()
    weights = torch.where(counts > 0, labels.numel() / (n_classes * counts.clamp(min=1)), 1.0)
    return weights.float()


class MultiTaskLoss(nn.Module):
    """Cross-entropy of both heads, summed; class weights and label smoothing are optional."""

    def __init__(
        self,
        emotion_weights: torch.Tensor | None,
        sentiment_weights: torch.Tensor | None,
        label_smoothing: float,
    ) -> None:
        super().__init__()
        self.emotion = nn.CrossEntropyLoss(weight=emotion_weights, label_smoothing=label_smoothing)
        self.sentiment = nn.CrossEntropyLoss(
            weight=sentiment_weights, label_smoothing=label_smoothing
        )

    def forward(self, output: Any, targets: dict[str, torch.Tensor]) -> torch.Tensor:
        """Loss of one batch; logits are promoted to float32 (they may come out of autocast)."""
        return self.emotion(output.emotion_logits.float(), targets["emotion"]) + self.sentiment(
            output.sentiment_logits.float(), targets["sentiment"]
        )


def build_loss(train_set: Dataset, options: TrainOptions) -> MultiTaskLoss:
    """The run's loss; with ``--class-weights balanced``, weighted by ``train_set``'s labels."""
    if options.class_weights == "none":
        return MultiTaskLoss(None, None, options.label_smoothing)
    return MultiTaskLoss(
        class_weights(dataset_labels(train_set, "emotion"), len(EMOTIONS)),
        class_weights(dataset_labels(train_set, "sentiment"), len(SENTIMENTS)),
        options.label_smoothing,
    )


def warmup_linear(total_steps: int, warmup_fraction: float):
    """LR multiplier: linear warm-up, then linear decay to zero over ``total_steps``."""
    warmup = max(1, int(total_steps * warmup_fraction))

    def factor(step: int) -> float:
        if step < warmup:
            return (step + 1) / warmup
        return max(0.0, (total_steps - step) / max(1, total_steps - warmup))

    return factor


def warmup_cosine(total_steps: int, warmup_fraction: float):
    """LR multiplier: linear warm-up, then cosine decay to zero over ``total_steps``."""
    warmup = max(1, int(total_steps * warmup_fraction))

    def factor(step: int) -> float:
        if step < warmup:
            return (step + 1) / warmup
        progress = min(1.0, (step - warmup) / max(1, total_steps - warmup))
        return 0.5 * (1.0 + math.cos(math.pi * progress))

    return factor


SCHEDULES = {"linear": warmup_linear, "cosine": warmup_cosine}
