"""The settings of a training run: SageMaker's paths, the command line and per-preset defaults.

SageMaker passes hyperparameters as command-line arguments and data and output folders as
``SM_*`` environment variables; locally the same arguments name the folders instead.
"""

from __future__ import annotations

import argparse
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from vs_model.config import ModelConfig, preset
from vs_model.datasets import DEFAULT_MAX_CLIP_SECONDS
from vs_model.encoder_packages import MINILM_PACKAGE, MPNET_PACKAGE

# Per-preset defaults of the hyperparameters not given on the command line. The tiny preset's
# text encoder is random, so it learns at the rate of the new layers.
PRESET_DEFAULTS: dict[str, dict[str, Any]] = {
    # The settings MELD's dev split confirmed for an end-to-end fine-tuned MiniLM (README).
    "text": {
        "epochs": 3,
        "batch_size": 32,
        "lr_text": 5e-5,
        "lr_video": 1e-4,
        "lr_audio": 5e-4,
        "lr_head": 5e-4,
    },
    "paper": {
        "epochs": 20,
        "batch_size": 16,
        "lr_text": 2e-5,
        "lr_video": 1e-4,
        "lr_audio": 5e-4,
        "lr_head": 5e-4,
    },
    # Tests only: dozens of synthetic clips with skewed labels, where plain cross-entropy lets a
    # random tiny encoder settle on the majority class; weighted, smoothed loss keeps it learning.
    "tiny": {
        "epochs": 8,
        "batch_size": 8,
        "lr_text": 2e-3,
        "lr_video": 2e-3,
        "lr_audio": 2e-3,
        "lr_head": 2e-3,
        "class_weights": "balanced",
        "label_smoothing": 0.1,
        "schedule": "cosine",
        "select_metric": "score",
    },
}
# What every preset uses unless it says otherwise: plain cross-entropy, warm-up then linear decay,
# the epoch chosen on validation emotion weighted F1 (what MELD's dev split supported, README).
COMMON_DEFAULTS: dict[str, Any] = {
    "class_weights": "none",
    "label_smoothing": 0.0,
    "schedule": "linear",
    "select_metric": "emotion",
}


@dataclass
class TrainOptions:
    """Every setting of a run: paths (from SageMaker's environment unless given) and
    hyperparameters."""

    train: Path
    validation: Path
    test: Path | None
    model_dir: Path
    output_dir: Path
    checkpoint_dir: Path
    tensorboard_dir: Path
    cache_dir: Path
    preset: str = "tiny"
    epochs: int = 8
    batch_size: int = 8
    lr_text: float = 2e-3
    lr_video: float = 2e-3
    lr_audio: float = 2e-3
    lr_head: float = 2e-3
    weight_decay: float = 0.01
    label_smoothing: float = 0.0
    class_weights: str = "none"
    grad_clip: float = 1.0
    warmup_fraction: float = 0.1
    schedule: str = "linear"
    select_metric: str = "emotion"
    patience: int = 4
    num_workers: int = 0
    cache_workers: int | None = None
    shard_size: int = 128
    max_clip_seconds: float = DEFAULT_MAX_CLIP_SECONDS
    decode_every_epoch: bool = False
    text_model: str | None = None
    text_pooling: str | None = None
    head: str | None = None
    freeze_text: bool | None = None
    text_train_layers: str | None = None
    text_max_length: int | None = None
    text_lora_rank: int | None = None
    text_lora_alpha: int | None = None
    dialogue_context: bool | None = None
    modalities: str | None = None
    threads: int | None = None
    amp: str = "auto"
    seed: int = 42
    max_train_samples: int | None = None
    max_eval_samples: int | None = None
    progress: bool = True

    def learning_rates(self) -> dict[str, float]:
        """The learning rate of each part of the model, as ``param_groups`` takes them."""
        return {
            "text": self.lr_text,
            "video": self.lr_video,
            "audio": self.lr_audio,
            "head": self.lr_head,
        }


def _bool(text: str) -> bool:
    # SageMaker passes hyperparameters as strings, booleans as "True"/"False".
    value = text.strip().lower()
    if value in ("1", "true", "yes", "on"):
        return True
    if value in ("0", "false", "no", "off"):
        return False
    raise argparse.ArgumentTypeError(f"expected true or false, not {text!r}")


def _sagemaker_environment() -> dict[str, str | None]:
    """SageMaker's paths: the one place the training job's environment is read."""
    env = os.environ
    output = env.get("SM_OUTPUT_DATA_DIR", "/opt/ml/output/data")
    return {
        "train": env.get("SM_CHANNEL_TRAINING"),
        "validation": env.get("SM_CHANNEL_VALIDATION"),
        "test": env.get("SM_CHANNEL_TEST"),
        "model_dir": env.get("SM_MODEL_DIR", "/opt/ml/model"),
        "output_dir": output,
        "checkpoint_dir": "/opt/ml/checkpoints",
        "tensorboard_dir": "/opt/ml/output/tensorboard",
    }


def build_parser() -> argparse.ArgumentParser:
    """The command line: SageMaker hyperparameters arrive as these arguments."""
    parser = argparse.ArgumentParser(
        description="Train the multimodal emotion and sentiment model (SageMaker or local)."
    )
    paths = parser.add_argument_group("data and output folders (default: SageMaker's)")
    for channel in ("train", "validation", "test"):
        paths.add_argument(
            f"--{channel}",
            type=Path,
            help="MELD folder, feature cache, or a MELD CSV alone (text-only training)",
        )
    paths.add_argument("--data-root", type=Path, help="one MELD folder for all three channels")
    paths.add_argument("--work-dir", type=Path, help="local run: every output folder under this")
    for name in ("model-dir", "output-dir", "checkpoint-dir", "tensorboard-dir", "cache-dir"):
        paths.add_argument(f"--{name}", type=Path)

    hyper = parser.add_argument_group("hyperparameters")
    hyper.add_argument("--preset", choices=sorted(PRESET_DEFAULTS), default="tiny")
    hyper.add_argument("--epochs", type=int)
    hyper.add_argument("--batch-size", type=int)
    for part in ("text", "video", "audio", "head"):
        hyper.add_argument(f"--lr-{part}", type=float, help=f"learning rate of the {part} part")
    hyper.add_argument("--weight-decay", type=float, default=0.01)
    hyper.add_argument("--label-smoothing", type=float)
    hyper.add_argument(
        "--class-weights",
        choices=("balanced", "none"),
        help="balanced: weight each class by its inverse frequency (none: plain cross-entropy)",
    )
    hyper.add_argument("--grad-clip", type=float, default=1.0, help="max gradient norm; 0: off")
    hyper.add_argument("--warmup-fraction", type=float, default=0.1)
    hyper.add_argument(
        "--schedule",
        choices=("linear", "cosine"),
        help="learning-rate decay after the warm-up",
    )
    hyper.add_argument(
        "--select-metric",
        choices=("emotion", "score"),
        help="the validation figure that picks the best epoch: the emotion head's weighted F1, or"
        " the mean of both heads' (score); on MELD's dev split both picked the same epoch",
    )
    hyper.add_argument("--patience", type=int, default=4, help="epochs without improvement")
    hyper.add_argument("--num-workers", type=int, default=0, help="data loader processes")
    hyper.add_argument("--cache-workers", type=int, help="processes building the cache")
    hyper.add_argument("--shard-size", type=int, default=128)
    hyper.add_argument("--max-clip-seconds", type=float, default=DEFAULT_MAX_CLIP_SECONDS)
    hyper.add_argument(
        "--decode-every-epoch",
        type=_bool,
        nargs="?",
        const=True,
        default=False,
        help="read MELD clips directly instead of building a feature cache (small runs)",
    )
    hyper.add_argument(
        "--text-model",
        help=f"the text encoder: a hub name, a local folder, {MINILM_PACKAGE} or {MPNET_PACKAGE}",
    )
    hyper.add_argument("--text-pooling", choices=("cls", "mean"))
    hyper.add_argument(
        "--head",
        choices=("mlp", "linear"),
        help="mlp: projections and a fusion layer before the heads; linear: the heads read the"
        " pooled text vector directly",
    )
    hyper.add_argument("--freeze-text", type=_bool, nargs="?", const=True)
    hyper.add_argument(
        "--text-train-layers", help="fine-tune only the top N encoder layers, or 'all'"
    )
    hyper.add_argument("--text-max-length", type=int, help="tokens per text input")
    hyper.add_argument(
        "--text-lora-rank",
        type=int,
        help="train LoRA updates of this rank instead of the encoder's weights (0: off)",
    )
    hyper.add_argument("--text-lora-alpha", type=int, help="LoRA scaling numerator")
    hyper.add_argument(
        "--dialogue-context",
        type=_bool,
        nargs="?",
        const=True,
        help="feed the earlier utterances of the dialogue to the text encoder too",
    )
    hyper.add_argument(
        "--modalities",
        help="comma-separated subset of text,video,audio (default: the preset's; text alone"
        " when the data has no media)",
    )
    hyper.add_argument("--threads", type=int, help="CPU threads of torch (default: torch's)")
    hyper.add_argument("--amp", choices=("auto", "bf16", "fp16", "off"), default="auto")
    hyper.add_argument("--seed", type=int, default=42)
    hyper.add_argument("--max-train-samples", type=int)
    hyper.add_argument("--max-eval-samples", type=int)
    hyper.add_argument("--progress", type=_bool, nargs="?", const=True, default=True)
    return parser


def parse_options(argv: list[str] | None = None) -> TrainOptions:
    """Options from arguments, falling back to SageMaker's environment and the preset."""
    parser = build_parser()
    args = vars(parser.parse_args(argv))
    env = _sagemaker_environment()
    data_root = args.pop("data_root")
    work_dir = args.pop("work_dir")
    for channel in ("train", "validation", "test"):
        args[channel] = args[channel] or data_root or _path(env[channel])
    if work_dir is not None:
        local = {
            "model_dir": work_dir / "model",
            "output_dir": work_dir / "output",
            "checkpoint_dir": work_dir / "checkpoints",
            "tensorboard_dir": work_dir / "tensorboard",
        }
    else:
        local = {key: Path(env[key]) for key in ("model_dir", "output_dir", "checkpoint_dir")}
        local["tensorboard_dir"] = Path(env["tensorboard_dir"])
    for key, default in local.items():
        args[key] = args[key] or default
    # In the checkpoint folder the cache survives a spot interruption (SageMaker syncs it).
    args["cache_dir"] = args["cache_dir"] or args["checkpoint_dir"] / "feature-cache"
    for key, value in {**COMMON_DEFAULTS, **PRESET_DEFAULTS[args["preset"]]}.items():
        if args[key] is None:
            args[key] = value
    missing = [c for c in ("train", "validation") if args[c] is None]
    if missing:
        parser.error(
            f"no {' or '.join(missing)} data: pass --{missing[0]} or --data-root, "
            "or set SM_CHANNEL_TRAINING / SM_CHANNEL_VALIDATION"
        )
    return TrainOptions(**args)


def _path(value: str | None) -> Path | None:
    return Path(value) if value else None


def model_config(options: TrainOptions) -> ModelConfig:
    """The preset with the text-encoder overrides of the command line."""
    overrides: dict[str, Any] = {}
    if options.modalities:
        overrides["modalities"] = tuple(m.strip() for m in options.modalities.split(",") if m)
    if options.dialogue_context is not None:
        overrides["dialogue_context"] = options.dialogue_context
    for field in ("text_max_length", "text_lora_rank", "text_lora_alpha"):
        if getattr(options, field) is not None:
            overrides[field] = getattr(options, field)
    if options.text_train_layers:
        layers = options.text_train_layers.strip().lower()
        overrides["text_train_layers"] = None if layers == "all" else int(layers)
    if options.text_model:
        overrides["text_model"] = options.text_model
    if options.text_pooling:
        overrides["text_pooling"] = options.text_pooling
    if options.head:
        overrides["head"] = options.head
    if options.freeze_text is not None:
        overrides["freeze_text"] = options.freeze_text
    return preset(options.preset, **overrides)
