"""Training under SageMaker's contract, and the same run locally with arguments instead.

Data channels (``SM_CHANNEL_TRAINING``, ``SM_CHANNEL_VALIDATION``, ``SM_CHANNEL_TEST``) are either
a feature cache folder (holding ``index.json``, or parts of one in subfolders that each hold one)
or a folder in MELD's layout (a CSV and its clip folder); the latter is decoded once into a
feature cache under ``--cache-dir``. The best model by validation score (mean of the two heads'
weighted F1) goes to ``SM_MODEL_DIR``, is reloaded from there and scored on test. A resume
checkpoint in ``/opt/ml/checkpoints`` (synced to S3 by SageMaker for spot training) lets a
restarted job continue at the next epoch. ``torchrun`` launches DDP.
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import os
import random
import shutil
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.distributed as dist
from torch import nn
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import DataLoader, Dataset, DistributedSampler, Subset
from torch.utils.tensorboard import SummaryWriter

from vs_model.cache import CachedDataset, build_cache, is_cache, open_cache
from vs_model.checkpoint import load_model, save_model
from vs_model.config import ModelConfig, preset
from vs_model.datasets import DEFAULT_MAX_CLIP_SECONDS, ClipDataset, collate_items
from vs_model.evaluation import (
    MODEL_INPUTS,
    EvaluationReport,
    collect_predictions,
    evaluate,
    write_report,
)
from vs_model.labels import EMOTIONS, SENTIMENTS
from vs_model.meld import load_split
from vs_model.metric_lines import format_metric_line
from vs_model.network import MultimodalSentimentModel
from vs_model.text import build_tokenizer

LOGGER = logging.getLogger("vs_model.training")

RESUME_FILE = "resume.pt"
BEST_DIR = "best-model"
SUMMARY_FILE = "training_summary.json"
CHANNEL_SPLITS = {"train": "train", "validation": "dev", "test": "test"}

# Per-preset defaults of the hyperparameters not given on the command line. The tiny preset's
# text encoder is random, so it learns at the rate of the new layers.
PRESET_DEFAULTS: dict[str, dict[str, Any]] = {
    "paper": {
        "epochs": 20,
        "batch_size": 16,
        "lr_text": 2e-5,
        "lr_video": 1e-4,
        "lr_audio": 5e-4,
        "lr_head": 5e-4,
    },
    "tiny": {
        "epochs": 8,
        "batch_size": 8,
        "lr_text": 2e-3,
        "lr_video": 2e-3,
        "lr_audio": 2e-3,
        "lr_head": 2e-3,
    },
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
    label_smoothing: float = 0.1
    class_weights: str = "balanced"
    grad_clip: float = 1.0
    warmup_fraction: float = 0.1
    patience: int = 4
    num_workers: int = 0
    cache_workers: int | None = None
    shard_size: int = 128
    max_clip_seconds: float = DEFAULT_MAX_CLIP_SECONDS
    decode_every_epoch: bool = False
    text_model: str | None = None
    text_pooling: str | None = None
    freeze_text: bool | None = None
    amp: str = "auto"
    seed: int = 42
    max_train_samples: int | None = None
    max_eval_samples: int | None = None
    progress: bool = True


@dataclass
class TrainResult:
    """What a run did: epochs trained in this process, the whole history, the best epoch."""

    epochs_run: list[int]
    history: list[dict[str, float]]
    best_epoch: int
    best_score: float
    test_report: dict[str, Any] | None = None
    stopped_early: bool = False


@dataclass
class _RunState:
    epoch: int = 0
    best_score: float = -math.inf
    best_epoch: int = 0
    bad_epochs: int = 0
    finished: bool = False
    stopped_early: bool = False
    history: list[dict[str, float]] = field(default_factory=list)


@dataclass(frozen=True)
class _Dist:
    rank: int
    world_size: int
    device: torch.device

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def enabled(self) -> bool:
        return self.world_size > 1


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
    paths.add_argument("--train", type=Path, help="MELD folder or feature cache")
    paths.add_argument("--validation", type=Path, help="MELD folder or feature cache")
    paths.add_argument("--test", type=Path, help="MELD folder or feature cache")
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
    hyper.add_argument("--label-smoothing", type=float, default=0.1)
    hyper.add_argument("--class-weights", choices=("balanced", "none"), default="balanced")
    hyper.add_argument("--grad-clip", type=float, default=1.0, help="max gradient norm; 0: off")
    hyper.add_argument("--warmup-fraction", type=float, default=0.1)
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
    hyper.add_argument("--text-model", help="hub name or local folder of the text encoder")
    hyper.add_argument("--text-pooling", choices=("cls", "mean"))
    hyper.add_argument("--freeze-text", type=_bool, nargs="?", const=True)
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
    for key, value in PRESET_DEFAULTS[args["preset"]].items():
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
    if options.text_model:
        overrides["text_model"] = options.text_model
    if options.text_pooling:
        overrides["text_pooling"] = options.text_pooling
    if options.freeze_text is not None:
        overrides["freeze_text"] = options.freeze_text
    return preset(options.preset, **overrides)


def _init_distributed() -> _Dist:
    world_size = int(os.environ.get("WORLD_SIZE", "1"))
    use_cuda = torch.cuda.is_available()
    if world_size > 1:
        local_rank = int(os.environ.get("LOCAL_RANK", "0"))
        if use_cuda:
            torch.cuda.set_device(local_rank)
        dist.init_process_group(backend="nccl" if use_cuda else "gloo")
        device = torch.device("cuda", local_rank) if use_cuda else torch.device("cpu")
        return _Dist(dist.get_rank(), world_size, device)
    return _Dist(0, 1, torch.device("cuda" if use_cuda else "cpu"))


def _barrier(ctx: _Dist) -> None:
    if ctx.enabled:
        dist.barrier()


def _seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def amp_dtype(device: torch.device, mode: str) -> torch.dtype | None:
    """The autocast dtype: bf16 where the GPU supports it, else fp16; none on CPU or when off."""
    if device.type != "cuda" or mode == "off":
        return None
    if mode == "fp16":
        return torch.float16
    if mode == "bf16" or torch.cuda.is_bf16_supported():
        return torch.bfloat16
    return torch.float16


def open_channel(
    folder: Path,
    channel: str,
    cfg: ModelConfig,
    tokenizer: object,
    options: TrainOptions,
    ctx: _Dist,
) -> Dataset:
    """The dataset of one channel: an existing feature cache, or MELD clips cached on first use."""
    if is_cache(folder):
        dataset = open_cache(folder)
        dataset.check_compatible(cfg)
        return dataset
    split = load_split(folder, CHANNEL_SPLITS[channel])
    if split.skipped_counts and ctx.is_main:
        LOGGER.info("%s: skipped %s", channel, split.skipped_counts)
    if options.decode_every_epoch:
        return ClipDataset(
            split.utterances, cfg, tokenizer, max_clip_seconds=options.max_clip_seconds
        )
    cache_folder = options.cache_dir / channel
    if ctx.is_main:
        summary = build_cache(
            split.utterances,
            cache_folder,
            cfg,
            tokenizer,
            split=split.name,
            shard_size=options.shard_size,
            workers=options.cache_workers,
            max_clip_seconds=options.max_clip_seconds,
            skipped=split.skipped,
            progress=options.progress,
        )
        LOGGER.info(
            "%s cache: %d clips in %d shards (%d reused), skipped %s",
            channel,
            summary.items,
            summary.shards,
            summary.reused_shards,
            summary.skipped_counts,
        )
    _barrier(ctx)
    return CachedDataset(cache_folder)


def _limit(dataset: Dataset, limit: int | None, seed: int) -> Dataset:
    if limit is None or limit >= len(dataset):
        return dataset
    generator = torch.Generator().manual_seed(seed)
    chosen = torch.randperm(len(dataset), generator=generator)[:limit].sort().values
    return Subset(dataset, chosen.tolist())


def dataset_labels(dataset: Dataset, head: str) -> torch.Tensor:
    """Labels of one head for every item of a dataset (a Subset included), without decoding."""
    if isinstance(dataset, Subset):
        return dataset_labels(dataset.dataset, head)[torch.as_tensor(dataset.indices)]
    return dataset.labels(head)


def class_weights(labels: torch.Tensor, n_classes: int) -> torch.Tensor:
    """Inverse-frequency ("balanced") weights, ``N / (K * count)``; absent classes get 1."""
    counts = torch.bincount(labels, minlength=n_classes).double()
    weights = torch.where(counts > 0, labels.numel() / (n_classes * counts.clamp(min=1)), 1.0)
    return weights.float()


class MultiTaskLoss(nn.Module):
    """Label-smoothed, class-weighted cross-entropy of both heads, summed."""

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


def warmup_cosine(total_steps: int, warmup_fraction: float):
    """LR multiplier: linear warm-up, then cosine decay to zero over ``total_steps``."""
    warmup = max(1, int(total_steps * warmup_fraction))

    def factor(step: int) -> float:
        if step < warmup:
            return (step + 1) / warmup
        progress = min(1.0, (step - warmup) / max(1, total_steps - warmup))
        return 0.5 * (1.0 + math.cos(math.pi * progress))

    return factor


def _loader(
    dataset: Dataset, batch_size: int, options: TrainOptions, ctx: _Dist, *, train: bool
) -> DataLoader:
    sampler = None
    if train and ctx.enabled:
        sampler = DistributedSampler(
            dataset, num_replicas=ctx.world_size, rank=ctx.rank, shuffle=True, seed=options.seed
        )
    generator = torch.Generator().manual_seed(options.seed)
    return DataLoader(
        dataset,
        batch_size=batch_size,
        shuffle=train and sampler is None,
        sampler=sampler,
        num_workers=options.num_workers,
        collate_fn=collate_items,
        pin_memory=ctx.device.type == "cuda",
        persistent_workers=options.num_workers > 0,
        drop_last=False,
        generator=generator,
    )


def _load_resume(path: Path, cfg: ModelConfig) -> dict[str, Any] | None:
    if not path.is_file():
        return None
    state = torch.load(path, map_location="cpu", weights_only=True)
    if state["config"] != cfg.to_dict():
        raise ValueError(
            f"{path} belongs to a run with another model configuration; "
            "remove the checkpoint folder or point --checkpoint-dir elsewhere"
        )
    return state


def _save_resume(path: Path, payload: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_suffix(".partial")
    torch.save(payload, temporary)
    os.replace(temporary, path)


def _train_epoch(
    model: nn.Module,
    loader: DataLoader,
    optimizer: torch.optim.Optimizer,
    scheduler: torch.optim.lr_scheduler.LRScheduler,
    scaler: torch.amp.GradScaler,
    loss_fn: MultiTaskLoss,
    options: TrainOptions,
    ctx: _Dist,
    dtype: torch.dtype | None,
) -> float:
    model.train()
    total = torch.zeros(2, dtype=torch.float64, device=ctx.device)
    for batch in loader:
        if not batch["ids"]:
            continue
        inputs = {k: batch[k].to(ctx.device, non_blocking=True) for k in MODEL_INPUTS}
        targets = {k: batch[k].to(ctx.device, non_blocking=True) for k in ("emotion", "sentiment")}
        optimizer.zero_grad(set_to_none=True)
        with torch.autocast(ctx.device.type, dtype=dtype, enabled=dtype is not None):
            output = model(**inputs)
        loss = loss_fn(output, targets)
        scaler.scale(loss).backward()
        if options.grad_clip > 0:
            scaler.unscale_(optimizer)
            nn.utils.clip_grad_norm_(model.parameters(), options.grad_clip)
        scaler.step(optimizer)
        scaler.update()
        scheduler.step()
        count = len(batch["ids"])
        total += torch.tensor(
            [loss.detach().double().item() * count, count], dtype=torch.float64, device=ctx.device
        )
    if ctx.enabled:
        dist.all_reduce(total)
    return float(total[0] / total[1]) if total[1] > 0 else math.nan


def _evaluate(
    model: nn.Module,
    dataset: Dataset,
    split: str,
    options: TrainOptions,
    ctx: _Dist,
    dtype: torch.dtype | None,
    loss_fn: MultiTaskLoss | None,
) -> EvaluationReport:
    loader = _loader(dataset, options.batch_size, options, ctx, train=False)
    predictions = collect_predictions(
        model, loader, ctx.device, autocast_dtype=dtype, loss_fn=loss_fn
    )
    return evaluate(predictions, split)


def _unwrap(model: nn.Module) -> nn.Module:
    return model.module if isinstance(model, DistributedDataParallel) else model


def run(options: TrainOptions) -> TrainResult:
    """Train, select the best epoch on validation, export it and score it on test."""
    ctx = _init_distributed()
    try:
        return _run(options, ctx)
    finally:
        if ctx.enabled:
            dist.destroy_process_group()


def _run(options: TrainOptions, ctx: _Dist) -> TrainResult:
    _seed_everything(options.seed)
    cfg = model_config(options)
    tokenizer = build_tokenizer(cfg)
    train_set = _limit(
        open_channel(options.train, "train", cfg, tokenizer, options, ctx),
        options.max_train_samples,
        options.seed,
    )
    validation_set = _limit(
        open_channel(options.validation, "validation", cfg, tokenizer, options, ctx),
        options.max_eval_samples,
        options.seed,
    )
    test_set = None
    if options.test is not None:
        test_set = _limit(
            open_channel(options.test, "test", cfg, tokenizer, options, ctx),
            options.max_eval_samples,
            options.seed,
        )
    if len(train_set) == 0 or len(validation_set) == 0:
        raise ValueError("the training and validation data must each hold at least one clip")

    model = MultimodalSentimentModel(cfg).to(ctx.device)
    lrs = {
        "text": options.lr_text,
        "video": options.lr_video,
        "audio": options.lr_audio,
        "head": options.lr_head,
    }
    optimizer = torch.optim.AdamW(model.param_groups(lrs), weight_decay=options.weight_decay)
    train_loader = _loader(train_set, options.batch_size, options, ctx, train=True)
    total_steps = options.epochs * max(1, len(train_loader))
    scheduler = torch.optim.lr_scheduler.LambdaLR(
        optimizer, warmup_cosine(total_steps, options.warmup_fraction)
    )
    dtype = amp_dtype(ctx.device, options.amp)
    scaler = torch.amp.GradScaler(ctx.device.type, enabled=dtype == torch.float16)
    loss_fn = _loss(train_set, options).to(ctx.device)

    state = _RunState()
    resume_path = options.checkpoint_dir / RESUME_FILE
    resumed = _load_resume(resume_path, cfg)
    if resumed is not None:
        model.load_state_dict(resumed["model"])
        optimizer.load_state_dict(resumed["optimizer"])
        scheduler.load_state_dict(resumed["scheduler"])
        scaler.load_state_dict(resumed["scaler"])
        state = _RunState(**resumed["state"])
        # A run resumed with more epochs goes on; an early stop stays stopped.
        state.finished = state.stopped_early or state.epoch >= options.epochs
        if ctx.is_main:
            LOGGER.info("resuming after epoch %d (best %d)", state.epoch, state.best_epoch)
    if ctx.enabled:
        device_ids = [ctx.device.index] if ctx.device.type == "cuda" else None
        model = DistributedDataParallel(model, device_ids=device_ids)

    writer = SummaryWriter(str(options.tensorboard_dir)) if ctx.is_main else None
    epochs_run: list[int] = []
    while not state.finished:
        state.epoch += 1
        epochs_run.append(state.epoch)
        if isinstance(train_loader.sampler, DistributedSampler):
            train_loader.sampler.set_epoch(state.epoch)
        started = time.monotonic()
        train_loss = _train_epoch(
            model, train_loader, optimizer, scheduler, scaler, loss_fn, options, ctx, dtype
        )
        verdict: list[Any] = [None]
        if ctx.is_main:
            report = _evaluate(
                _unwrap(model), validation_set, "validation", options, ctx, dtype, loss_fn
            )
            metrics = {
                "epoch": state.epoch,
                "train_loss": train_loss,
                **report.flat_metrics("validation"),
                "learning_rate": scheduler.get_last_lr()[-1],
                "epoch_seconds": time.monotonic() - started,
            }
            verdict[0] = metrics
            _log_epoch(metrics, writer)
            if report.score > state.best_score:
                save_model(options.checkpoint_dir / BEST_DIR, model, tokenizer, cfg)
        if ctx.enabled:
            dist.broadcast_object_list(verdict, src=0)
        _advance(state, verdict[0], options)
        if ctx.is_main:
            _save_resume(
                resume_path,
                {
                    "config": cfg.to_dict(),
                    "model": _unwrap(model).state_dict(),
                    "optimizer": optimizer.state_dict(),
                    "scheduler": scheduler.state_dict(),
                    "scaler": scaler.state_dict(),
                    "state": asdict(state),
                },
            )
        _barrier(ctx)

    test_payload = None
    if ctx.is_main:
        test_payload = _finish(
            options, state, validation_set, test_set, ctx, dtype, loss_fn, writer
        )
        writer.close()
    _barrier(ctx)
    return TrainResult(
        epochs_run=epochs_run,
        history=state.history,
        best_epoch=state.best_epoch,
        best_score=state.best_score,
        test_report=test_payload,
        stopped_early=state.stopped_early,
    )


def _loss(train_set: Dataset, options: TrainOptions) -> MultiTaskLoss:
    if options.class_weights == "none":
        return MultiTaskLoss(None, None, options.label_smoothing)
    return MultiTaskLoss(
        class_weights(dataset_labels(train_set, "emotion"), len(EMOTIONS)),
        class_weights(dataset_labels(train_set, "sentiment"), len(SENTIMENTS)),
        options.label_smoothing,
    )


def _advance(state: _RunState, metrics: dict[str, float], options: TrainOptions) -> None:
    """Record an epoch and decide, identically on every rank, whether to go on."""
    state.history.append(metrics)
    score = metrics["validation_score"]
    if score > state.best_score:
        state.best_score, state.best_epoch, state.bad_epochs = score, state.epoch, 0
    else:
        state.bad_epochs += 1
    if state.bad_epochs >= options.patience:
        state.finished = state.stopped_early = True
    if state.epoch >= options.epochs:
        state.finished = True


def _log_epoch(metrics: dict[str, float], writer: SummaryWriter | None) -> None:
    print(format_metric_line(metrics), flush=True)
    if writer is None:
        return
    epoch = int(metrics["epoch"])
    for name, value in metrics.items():
        if name != "epoch":
            channel, metric = name.split("_", 1)
            writer.add_scalar(f"{channel}/{metric}", value, epoch)
    writer.flush()


def _finish(
    options: TrainOptions,
    state: _RunState,
    validation_set: Dataset,
    test_set: Dataset | None,
    ctx: _Dist,
    dtype: torch.dtype | None,
    loss_fn: MultiTaskLoss,
    writer: SummaryWriter | None,
) -> dict[str, Any] | None:
    """Export the best model to the model folder, reload it from there and write the reports."""
    best = options.checkpoint_dir / BEST_DIR
    shutil.copytree(best, options.model_dir, dirs_exist_ok=True)
    loaded = load_model(options.model_dir, device=ctx.device)
    reports = [_evaluate(loaded.model, validation_set, "validation", options, ctx, dtype, loss_fn)]
    if test_set is not None and len(test_set) > 0:
        reports.append(_evaluate(loaded.model, test_set, "test", options, ctx, dtype, loss_fn))
    for report in reports:
        report.extra["best_epoch"] = state.best_epoch
        write_report(report, options.output_dir)
    test_payload = None
    if len(reports) > 1:
        test_metrics = reports[1].flat_metrics("test")
        print(format_metric_line(test_metrics), flush=True)
        if writer is not None:
            for name, value in test_metrics.items():
                writer.add_scalar(f"test/{name.split('_', 1)[1]}", value, state.best_epoch)
        test_payload = reports[1].to_dict()
    summary = {
        "best_epoch": state.best_epoch,
        "best_validation_score": state.best_score,
        "epochs": state.epoch,
        "stopped_early": state.stopped_early,
        "history": state.history,
        "options": {k: str(v) if isinstance(v, Path) else v for k, v in asdict(options).items()},
    }
    (options.output_dir / SUMMARY_FILE).write_text(
        json.dumps(summary, indent=2) + "\n", encoding="utf-8"
    )
    return test_payload


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``model/train.py``."""
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    options = parse_options(argv)
    result = run(options)
    if int(os.environ.get("RANK", "0")) == 0:
        LOGGER.info(
            "done: best epoch %d, validation score %.4f", result.best_epoch, result.best_score
        )
    return 0
