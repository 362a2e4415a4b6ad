"""Training under SageMaker's contract, and the same run locally with arguments instead.

Data channels (``SM_CHANNEL_TRAINING``, ``SM_CHANNEL_VALIDATION``, ``SM_CHANNEL_TEST``) are either
a feature cache folder (holding ``index.json``, or parts of one in subfolders that each hold one)
or a folder in MELD's layout (a CSV and its clip folder); the latter is decoded once into a
feature cache under ``--cache-dir``. A channel holding MELD's CSV alone trains a text-only model
through the same loop. The best epoch by validation emotion weighted F1 (or ``--select-metric
score``: the mean of both heads') goes to ``SM_MODEL_DIR``, is reloaded from there and scored on
test. A resume checkpoint in ``/opt/ml/checkpoints`` (synced to S3 by SageMaker for spot training)
lets a restarted job continue at the next epoch. ``torchrun`` launches DDP.

This module holds the loop; its settings are in ``training_options``, its data in
``training_data``, the loss and schedules in ``optimization``, its reports and exported model in
``training_reports``, process groups in ``distributed`` and the resume checkpoint in ``resume``.
"""

from __future__ import annotations

import logging
import math
import os
import random
import time
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.utils.data import DataLoader
from torch.utils.tensorboard import SummaryWriter

from vs_model.checkpoint import save_model
from vs_model.config import ModelConfig
from vs_model.distributed import (
    DistContext,
    barrier,
    broadcast_from_main,
    init_distributed,
    set_epoch,
    shutdown,
    sum_across,
    wrap_model,
)
from vs_model.evaluation import model_inputs
from vs_model.network import MultimodalSentimentModel
from vs_model.optimization import SCHEDULES, MultiTaskLoss, amp_dtype, build_loss
from vs_model.resume import RESUME_FILE, RunState, load_resume, restore, save_resume
from vs_model.text import build_tokenizer
from vs_model.training_data import channel_has_media, open_run_datasets, run_loader
from vs_model.training_options import TrainOptions, model_config, parse_options
from vs_model.training_reports import BEST_DIR, evaluate_split, finish_run, log_epoch

LOGGER = logging.getLogger(__name__)

# The validation figure each --select-metric choice maximises.
SELECTION_METRICS = {
    "score": "validation_score",
    "emotion": "validation_emotion_weighted_f1",
}


@dataclass
class TrainResult:
    """What a run did: epochs trained in this process, the whole history, the best epoch."""

    epochs_run: list[int]
    history: list[dict[str, float]]
    best_epoch: int
    best_score: float
    test_report: dict[str, Any] | None = None
    stopped_early: bool = False


def _seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def _train_epoch(
    model: nn.Module,
    loader: DataLoader,
    optimizer: torch.optim.Optimizer,
    scheduler: torch.optim.lr_scheduler.LRScheduler,
    scaler: torch.amp.GradScaler,
    loss_fn: MultiTaskLoss,
    options: TrainOptions,
    ctx: DistContext,
    dtype: torch.dtype | None,
) -> float:
    model.train()
    total = torch.zeros(2, dtype=torch.float64, device=ctx.device)
    for batch in loader:
        if not batch["ids"]:
            continue
        inputs = model_inputs(batch, ctx.device)
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
    sum_across(total, ctx)
    return float(total[0] / total[1]) if total[1] > 0 else math.nan


def run(options: TrainOptions) -> TrainResult:
    """Train, select the best epoch on validation, export it and score it on test."""
    ctx = init_distributed()
    try:
        return _run(options, ctx)
    finally:
        shutdown(ctx)


def run_config(options: TrainOptions) -> ModelConfig:
    """The model configuration of a run: text only when the training data holds no media."""
    cfg = model_config(options)
    if not cfg.text_only and not channel_has_media(options.train, "train"):
        LOGGER.info(
            "%s holds no media (no clips, no feature cache): training on text only", options.train
        )
        cfg = cfg.replace(modalities=("text",))
    return cfg


def _run(options: TrainOptions, ctx: DistContext) -> TrainResult:
    _seed_everything(options.seed)
    if options.threads:
        torch.set_num_threads(options.threads)
    cfg = run_config(options)
    tokenizer = build_tokenizer(cfg)
    train_set, validation_set, test_set = open_run_datasets(options, cfg, tokenizer, ctx)

    raw_model = MultimodalSentimentModel(cfg).to(ctx.device)
    optimizer = torch.optim.AdamW(
        raw_model.param_groups(options.learning_rates()), weight_decay=options.weight_decay
    )
    train_loader = run_loader(train_set, options, ctx, train=True)
    total_steps = options.epochs * max(1, len(train_loader))
    scheduler = torch.optim.lr_scheduler.LambdaLR(
        optimizer, SCHEDULES[options.schedule](total_steps, options.warmup_fraction)
    )
    dtype = amp_dtype(ctx.device, options.amp)
    scaler = torch.amp.GradScaler(ctx.device.type, enabled=dtype == torch.float16)
    loss_fn = build_loss(train_set, options).to(ctx.device)

    # What the resume checkpoint holds besides the run state; the model before any DDP wrapper.
    parts = {"model": raw_model, "optimizer": optimizer, "scheduler": scheduler, "scaler": scaler}
    state = RunState()
    resume_path = options.checkpoint_dir / RESUME_FILE
    resumed = load_resume(resume_path, cfg)
    if resumed is not None:
        state = restore(resumed, parts, options.epochs)
        if ctx.is_main:
            LOGGER.info("resuming after epoch %d (best %d)", state.epoch, state.best_epoch)
    model = wrap_model(raw_model, ctx)

    writer = SummaryWriter(str(options.tensorboard_dir)) if ctx.is_main else None
    epochs_run: list[int] = []
    while not state.finished:
        state.epoch += 1
        epochs_run.append(state.epoch)
        set_epoch(train_loader, state.epoch)
        started = time.monotonic()
        train_loss = _train_epoch(
            model, train_loader, optimizer, scheduler, scaler, loss_fn, options, ctx, dtype
        )
        metrics = None
        if ctx.is_main:
            report = evaluate_split(
                raw_model, validation_set, "validation", options, ctx, dtype, loss_fn
            )
            metrics = {
                "epoch": state.epoch,
                "train_loss": train_loss,
                **report.flat_metrics("validation"),
                "learning_rate": scheduler.get_last_lr()[-1],
                "epoch_seconds": time.monotonic() - started,
            }
            log_epoch(metrics, writer)
            if metrics[SELECTION_METRICS[options.select_metric]] > state.best_score:
                save_model(options.checkpoint_dir / BEST_DIR, raw_model, tokenizer, cfg)
        _advance(state, broadcast_from_main(metrics, ctx), options)
        if ctx.is_main:
            save_resume(resume_path, cfg, parts, state)
        barrier(ctx)

    test_payload = None
    if ctx.is_main:
        test_payload = finish_run(
            options, state, validation_set, test_set, ctx, dtype, loss_fn, writer
        )
        writer.close()
    barrier(ctx)
    return TrainResult(
        epochs_run=epochs_run,
        history=state.history,
        best_epoch=state.best_epoch,
        best_score=state.best_score,
        test_report=test_payload,
        stopped_early=state.stopped_early,
    )


def _advance(state: RunState, metrics: dict[str, float], options: TrainOptions) -> None:
    """Record an epoch and decide, identically on every rank, whether to go on."""
    state.history.append(metrics)
    score = metrics[SELECTION_METRICS[options.select_metric]]
    if score > state.best_score:
        state.best_score, state.best_epoch, state.bad_epochs = score, state.epoch, 0
    else:
        state.bad_epochs += 1
    if state.bad_epochs >= options.patience:
        state.finished = state.stopped_early = True
    if state.epoch >= options.epochs:
        state.finished = True


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
