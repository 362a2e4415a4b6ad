"""Scores of both heads: accuracy, weighted and macro F1, a per-class report, confusion matrices.

As a command it scores any trained model on any MELD-format CSV and prints one JSON line::

    python -m vs_model.evaluation MODEL_FOLDER_OR_TAR_GZ dev_sent_emo.csv

Metrics are computed with numpy and follow scikit-learn's definitions (a class never predicted has
precision 0; macro F1 averages the classes that occur in the labels or the predictions; weighted F1
weights each class by its support), so the figures compare with published MELD results.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch

from vs_model.labels import EMOTIONS, SENTIMENTS

HEADS = ("emotion", "sentiment")
HEAD_LABELS = {"emotion": EMOTIONS, "sentiment": SENTIMENTS}


@dataclass(frozen=True)
class ClassReport:
    """Precision, recall, F1 and support of one class."""

    label: str
    precision: float
    recall: float
    f1: float
    support: int


@dataclass(frozen=True)
class HeadReport:
    """Every score of one head on one split."""

    labels: tuple[str, ...]
    accuracy: float
    weighted_f1: float
    macro_f1: float
    per_class: list[ClassReport]
    confusion: list[list[int]]


@dataclass
class EvaluationReport:
    """Scores of both heads on one split; ``score`` is what model selection maximises."""

    split: str
    samples: int
    emotion: HeadReport
    sentiment: HeadReport
    loss: float | None = None
    extra: dict[str, object] = field(default_factory=dict)

    @property
    def score(self) -> float:
        """Mean of the two heads' weighted F1: the selection metric of training."""
        return (self.emotion.weighted_f1 + self.sentiment.weighted_f1) / 2

    def flat_metrics(self, prefix: str) -> dict[str, float]:
        """``{prefix}_{head}_{metric}`` values as metric lines and TensorBoard take them."""
        values: dict[str, float] = {}
        if self.loss is not None:
            values[f"{prefix}_loss"] = self.loss
        for head in HEADS:
            report: HeadReport = getattr(self, head)
            values[f"{prefix}_{head}_accuracy"] = report.accuracy
            values[f"{prefix}_{head}_weighted_f1"] = report.weighted_f1
            values[f"{prefix}_{head}_macro_f1"] = report.macro_f1
        values[f"{prefix}_score"] = self.score
        return values

    def to_dict(self) -> dict[str, object]:
        """The JSON-ready report."""
        data = asdict(self)
        data["score"] = self.score
        return data


@dataclass
class Predictions:
    """Labels and predicted indices of both heads over a split, and the mean loss."""

    emotion_true: np.ndarray
    emotion_pred: np.ndarray
    sentiment_true: np.ndarray
    sentiment_pred: np.ndarray
    ids: list[str]
    loss: float | None = None


def confusion_matrix(y_true: Sequence[int], y_pred: Sequence[int], n_classes: int) -> np.ndarray:
    """Counts ``[true, predicted]`` of shape ``[n_classes, n_classes]``."""
    true = np.asarray(y_true, dtype=np.int64)
    pred = np.asarray(y_pred, dtype=np.int64)
    if true.shape != pred.shape:
        raise ValueError(f"labels {true.shape} and predictions {pred.shape} differ in length")
    flat = np.bincount(true * n_classes + pred, minlength=n_classes * n_classes)
    return flat.reshape(n_classes, n_classes)


def head_report(y_true: Sequence[int], y_pred: Sequence[int], labels: Sequence[str]) -> HeadReport:
    """Accuracy, weighted and macro F1 and per-class scores of one head."""
    matrix = confusion_matrix(y_true, y_pred, len(labels))
    true_positive = np.diag(matrix).astype(np.float64)
    support = matrix.sum(axis=1)
    predicted = matrix.sum(axis=0)
    precision = _safe_divide(true_positive, predicted)
    recall = _safe_divide(true_positive, support)
    f1 = _safe_divide(2 * precision * recall, precision + recall)
    total = int(support.sum())
    present = (support + predicted) > 0
    per_class = [
        ClassReport(label, float(p), float(r), float(f), int(s))
        for label, p, r, f, s in zip(labels, precision, recall, f1, support, strict=True)
    ]
    return HeadReport(
        labels=tuple(labels),
        accuracy=float(true_positive.sum() / total) if total else 0.0,
        weighted_f1=float((f1 * support).sum() / total) if total else 0.0,
        macro_f1=float(f1[present].mean()) if present.any() else 0.0,
        per_class=per_class,
        confusion=matrix.tolist(),
    )


def _safe_divide(numerator: np.ndarray, denominator: np.ndarray) -> np.ndarray:
    out = np.zeros_like(numerator, dtype=np.float64)
    np.divide(numerator, denominator, out=out, where=denominator > 0)
    return out


def evaluate(predictions: Predictions, split: str) -> EvaluationReport:
    """The report of both heads from collected predictions."""
    return EvaluationReport(
        split=split,
        samples=len(predictions.emotion_true),
        emotion=head_report(predictions.emotion_true, predictions.emotion_pred, EMOTIONS),
        sentiment=head_report(predictions.sentiment_true, predictions.sentiment_pred, SENTIMENTS),
        loss=predictions.loss,
    )


LossFn = Callable[[object, Mapping[str, torch.Tensor]], torch.Tensor]


@torch.no_grad()
def collect_predictions(
    model: torch.nn.Module,
    batches: Iterable[Mapping[str, object]],
    device: torch.device,
    *,
    autocast_dtype: torch.dtype | None = None,
    loss_fn: LossFn | None = None,
) -> Predictions:
    """Run ``model`` over ``batches`` (collated items) and gather labels, predictions and loss."""
    model.eval()
    emotion_true: list[np.ndarray] = []
    emotion_pred: list[np.ndarray] = []
    sentiment_true: list[np.ndarray] = []
    sentiment_pred: list[np.ndarray] = []
    ids: list[str] = []
    loss_sum, loss_count = 0.0, 0
    for batch in batches:
        inputs = model_inputs(batch, device)
        with torch.autocast(device.type, dtype=autocast_dtype, enabled=autocast_dtype is not None):
            output = model(**inputs)
        targets = {k: batch[k].to(device) for k in HEADS}
        if loss_fn is not None:
            n = len(targets["emotion"])
            loss_sum += float(loss_fn(output, targets)) * n
            loss_count += n
        emotion_true.append(batch["emotion"].numpy())
        sentiment_true.append(batch["sentiment"].numpy())
        emotion_pred.append(output.emotion_logits.argmax(dim=-1).cpu().numpy())
        sentiment_pred.append(output.sentiment_logits.argmax(dim=-1).cpu().numpy())
        ids.extend(batch["ids"])
    return Predictions(
        emotion_true=_concat(emotion_true),
        emotion_pred=_concat(emotion_pred),
        sentiment_true=_concat(sentiment_true),
        sentiment_pred=_concat(sentiment_pred),
        ids=ids,
        loss=loss_sum / loss_count if loss_count else None,
    )


MODEL_INPUTS = ("input_ids", "attention_mask", "frames", "mel")


def model_inputs(batch: Mapping[str, object], device: torch.device) -> dict[str, torch.Tensor]:
    """The model's inputs that the batch holds (text-only batches have no frames or mel)."""
    return {k: batch[k].to(device, non_blocking=True) for k in MODEL_INPUTS if k in batch}


def _concat(parts: list[np.ndarray]) -> np.ndarray:
    return np.concatenate(parts) if parts else np.zeros(0, dtype=np.int64)


def write_report(report: EvaluationReport, folder: Path) -> tuple[Path, Path]:
    """Write ``{split}_report.json`` and ``{split}_confusion.png`` into ``folder``."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    json_path = folder / f"{report.split}_report.json"
    json_path.write_text(json.dumps(report.to_dict(), indent=2) + "\n", encoding="utf-8")
    png_path = folder / f"{report.split}_confusion.png"
    plot_confusion(report, png_path)
    return json_path, png_path


def plot_confusion(report: EvaluationReport, path: Path) -> None:
    """Both heads' confusion matrices side by side, coloured by recall, annotated with counts."""
    # The object API renders with Agg without touching pyplot's global backend.
    from matplotlib.figure import Figure

    figure = Figure(figsize=(13, 5.5), layout="constrained")
    axes = figure.subplots(1, 2, width_ratios=(7, 4))
    for axis, head in zip(axes, HEADS, strict=True):
        head_scores: HeadReport = getattr(report, head)
        counts = np.asarray(head_scores.confusion)
        rows = counts.sum(axis=1, keepdims=True)
        recall = np.divide(counts, rows, out=np.zeros(counts.shape), where=rows > 0)
        image = axis.imshow(recall, cmap="Blues", vmin=0.0, vmax=1.0)
        ticks = range(len(head_scores.labels))
        axis.set_xticks(ticks, head_scores.labels, rotation=45, ha="right")
        axis.set_yticks(ticks, head_scores.labels)
        axis.set_xlabel("predicted")
        axis.set_ylabel("true")
        axis.set_title(
            f"{head}: acc {head_scores.accuracy:.3f}, weighted F1 {head_scores.weighted_f1:.3f}"
        )
        for (row, col), count in np.ndenumerate(counts):
            colour = "white" if recall[row, col] > 0.5 else "black"
            axis.text(col, row, str(count), ha="center", va="center", color=colour, fontsize=8)
        figure.colorbar(image, ax=axis, shrink=0.8, label="share of true class")
    figure.suptitle(f"{report.split}: {report.samples} utterances")
    figure.savefig(path, dpi=110)


def score_model(
    model_source: str | Path,
    csv_path: str | Path,
    *,
    split: str | None = None,
    batch_size: int = 32,
    device: str = "cpu",
) -> dict[str, object]:
    """Score a model (folder or ``model.tar.gz``) on a MELD CSV: N and every head's figures.

    A text-only model reads the CSV alone; a model that also reads video and audio decodes the
    clips of the MELD folder the CSV sits in.
    """
    # Imported here: the training loop imports this module and needs none of these.
    from torch.utils.data import DataLoader

    from vs_model.checkpoint import load_model, model_folder
    from vs_model.datasets import ClipDataset, TextDataset, collate_items
    from vs_model.meld import SPLITS, load_split, load_text_split

    csv_path = Path(csv_path)
    if split is None:
        guess = csv_path.name.removesuffix("_sent_emo.csv")
        split = guess if guess in SPLITS else "test"
    with tempfile.TemporaryDirectory(prefix="vs-evaluate-") as scratch:
        loaded = load_model(model_folder(model_source, Path(scratch)), device=device)
    cfg = loaded.cfg
    if cfg.text_only:
        dataset = TextDataset(load_text_split(csv_path, split).utterances, cfg, loaded.tokenizer)
    else:
        meld = load_split(csv_path.parent, split)
        dataset = ClipDataset(meld.utterances, cfg, loaded.tokenizer)
    if len(dataset) == 0:
        raise ValueError(f"{csv_path}: no utterance to score")
    loader = DataLoader(dataset, batch_size=batch_size, collate_fn=collate_items)
    report = evaluate(collect_predictions(loaded.model, loader, torch.device(device)), split)
    result: dict[str, object] = {
        "model": str(model_source),
        "csv": str(csv_path),
        "split": split,
        "modalities": list(cfg.modalities),
        "dialogue_context": cfg.dialogue_context,
        "n": report.samples,
    }
    for head in HEADS:
        scores: HeadReport = getattr(report, head)
        result[head] = {
            "accuracy": round(scores.accuracy, 4),
            "weighted_f1": round(scores.weighted_f1, 4),
            "macro_f1": round(scores.macro_f1, 4),
            "labels": list(scores.labels),
            "confusion": scores.confusion,
        }
    return result


def main(argv: list[str] | None = None) -> int:
    """Command line: print the scores of a model on a MELD CSV as one JSON line."""
    parser = argparse.ArgumentParser(
        prog="python -m vs_model.evaluation",
        description="Score a trained model on a MELD-format CSV; prints one JSON line.",
    )
    parser.add_argument("model", help="model folder or model.tar.gz")
    parser.add_argument("csv", help="a MELD CSV (train/dev/test_sent_emo.csv or any such file)")
    parser.add_argument("--split", help="train, dev or test (default: from the file name)")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args(argv)
    try:
        result = score_model(
            args.model, args.csv, split=args.split, batch_size=args.batch_size, device=args.device
        )
    except (OSError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
