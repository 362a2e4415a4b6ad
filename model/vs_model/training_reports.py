"""What a training run reports and leaves behind.

One metric line and TensorBoard scalars per epoch, the validation and test reports of a model,
the best model exported to the model folder, and the run's summary.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import asdict
from pathlib import Path
from typing import Any

import torch
from torch import nn
from torch.utils.data import Dataset
from torch.utils.tensorboard import SummaryWriter

from vs_model.checkpoint import load_model
from vs_model.distributed import DistContext
from vs_model.evaluation import EvaluationReport, collect_predictions, evaluate, write_report
from vs_model.metric_lines import format_metric_line
from vs_model.optimization import MultiTaskLoss
from vs_model.resume import RunState
from vs_model.training_data import run_loader
from vs_model.training_options import TrainOptions

BEST_DIR = "best-model"
SUMMARY_FILE = "training_summary.json"


def evaluate_split(
    model: nn.Module,
    dataset: Dataset,
    split: str,
    options: TrainOptions,
    ctx: DistContext,
    dtype: torch.dtype | None,
    loss_fn: MultiTaskLoss | None,
) -> EvaluationReport:
    """The report of ``model`` on one split, with its loss when ``loss_fn`` is given."""
    loader = run_loader(dataset, options, ctx, train=False)
    predictions = collect_predictions(
        model, loader, ctx.device, autocast_dtype=dtype, loss_fn=loss_fn
    )
    return evaluate(predictions, split)


def log_epoch(metrics: dict[str, float], writer: SummaryWriter | None) -> None:
    """Print an epoch's metric line and add its scalars to TensorBoard."""
    print(format_metric_line(metrics), flush=True)
    if writer is None:
        return
    epoch = int(metrics["epoch"])
    for name, value in metrics.items():
        if name != "epoch":
            channel, metric = name.split("_", 1)
            writer.add_scalar(f"{channel}/{metric}", value, epoch)
    writer.flush()


def finish_run(
    options: TrainOptions,
    state: RunState,
    validation_set: Dataset,
    test_set: Dataset | None,
    ctx: DistContext,
    dtype: torch.dtype | None,
    loss_fn: MultiTaskLoss,
    writer: SummaryWriter | None,
) -> dict[str, Any] | None:
    """Export the best model to the model folder, reload it from there and write the reports."""
    best = options.checkpoint_dir / BEST_DIR
    shutil.copytree(best, options.model_dir, dirs_exist_ok=True)
    loaded = load_model(options.model_dir, device=ctx.device)
    reports = [
        evaluate_split(loaded.model, validation_set, "validation", options, ctx, dtype, loss_fn)
    ]
    if test_set is not None and len(test_set) > 0:
        reports.append(evaluate_split(loaded.model, test_set, "test", options, ctx, dtype, loss_fn))
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
