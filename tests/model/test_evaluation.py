"""Metrics on inputs with hand-computed answers, the report files and the metric lines."""

import json
import re
from pathlib import Path

import numpy as np
import pytest

from vs_model.evaluation import (
    Predictions,
    confusion_matrix,
    evaluate,
    head_report,
    write_report,
)
from vs_model.labels import EMOTIONS, SENTIMENTS
from vs_model.metric_lines import (
    METRIC_DEFINITIONS,
    format_metric_line,
    metric_name,
    parse_metric_line,
)


def test_confusion_matrix_counts_true_by_predicted() -> None:
    matrix = confusion_matrix([0, 0, 1, 2, 2, 2], [0, 1, 1, 2, 2, 0], 3)
    assert matrix.tolist() == [[1, 1, 0], [0, 1, 0], [1, 0, 2]]


def test_head_report_on_known_inputs() -> None:
    # true: a a b c c c ; predicted: a b b c c a
    report = head_report([0, 0, 1, 2, 2, 2], [0, 1, 1, 2, 2, 0], ("a", "b", "c"))
    precision = {"a": 1 / 2, "b": 1 / 2, "c": 1.0}
    recall = {"a": 1 / 2, "b": 1.0, "c": 2 / 3}
    f1 = {k: 2 * precision[k] * recall[k] / (precision[k] + recall[k]) for k in precision}
    assert report.accuracy == pytest.approx(4 / 6)
    assert report.macro_f1 == pytest.approx(sum(f1.values()) / 3)
    assert report.weighted_f1 == pytest.approx((2 * f1["a"] + f1["b"] + 3 * f1["c"]) / 6)
    by_label = {c.label: c for c in report.per_class}
    assert by_label["b"].recall == pytest.approx(1.0)
    assert by_label["c"].support == 3


def test_classes_never_seen_are_left_out_of_macro_f1() -> None:
    report = head_report([0, 0, 1], [0, 0, 0], ("a", "b", "c"))
    f1_a = 2 * (2 / 3) * 1.0 / (2 / 3 + 1.0)
    # "b" is in the labels (F1 0, never predicted: precision 0); "c" occurs nowhere.
    assert report.macro_f1 == pytest.approx(f1_a / 2)
    assert report.weighted_f1 == pytest.approx(2 * f1_a / 3)
    assert report.per_class[1].precision == 0.0


def test_perfect_and_empty_predictions() -> None:
    perfect = head_report([0, 1, 2], [0, 1, 2], ("a", "b", "c"))
    assert (perfect.accuracy, perfect.weighted_f1, perfect.macro_f1) == (1.0, 1.0, 1.0)
    empty = head_report([], [], ("a", "b"))
    assert (empty.accuracy, empty.weighted_f1, empty.macro_f1) == (0.0, 0.0, 0.0)


def test_report_files(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    emotion = rng.integers(0, len(EMOTIONS), 40)
    sentiment = rng.integers(0, len(SENTIMENTS), 40)
    predictions = Predictions(
        emotion_true=emotion,
        emotion_pred=np.where(rng.random(40) < 0.7, emotion, 0),
        sentiment_true=sentiment,
        sentiment_pred=sentiment,
        ids=[f"dia{i}_utt0" for i in range(40)],
        loss=1.25,
    )
    report = evaluate(predictions, "test")
    assert report.score == pytest.approx((report.emotion.weighted_f1 + 1.0) / 2)
    json_path, png_path = write_report(report, tmp_path / "out")
    document = json.loads(json_path.read_text())
    assert document["split"] == "test"
    assert document["samples"] == 40
    assert document["loss"] == 1.25
    assert [c["label"] for c in document["emotion"]["per_class"]] == list(EMOTIONS)
    assert np.asarray(document["sentiment"]["confusion"]).trace() == 40
    assert png_path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_metric_lines_parse_with_the_sagemaker_definitions() -> None:
    values = {
        "epoch": 3,
        "train_loss": 1.5,
        "validation_loss": 1.25,
        "validation_emotion_weighted_f1": 0.4321,
        "validation_sentiment_weighted_f1": 0.6,
        "validation_score": 0.51605,
        "learning_rate": 2e-5,
    }
    line = format_metric_line(values)
    assert line.startswith("[metrics] epoch=3 train_loss=1.5 ")
    assert parse_metric_line(line) == pytest.approx(values)
    found = {}
    for definition in METRIC_DEFINITIONS:
        match = re.search(definition["Regex"], line)
        if match:
            found[definition["Name"]] = float(match.group(1))
    assert found["train:loss"] == 1.5
    assert found["validation:loss"] == 1.25
    assert found["learning_rate"] == pytest.approx(2e-5)
    assert "validation:emotion_accuracy" not in found
    assert len(found) == len(values)


def test_metric_line_rejects_unknown_fields() -> None:
    with pytest.raises(KeyError, match="no metric definition for bogus"):
        format_metric_line({"bogus": 1.0})


def test_metric_names() -> None:
    assert metric_name("test_emotion_weighted_f1") == "test:emotion_weighted_f1"
    assert metric_name("epoch") == "epoch"
    assert metric_name("epoch_seconds") == "epoch_seconds"
    names = [d["Name"] for d in METRIC_DEFINITIONS]
    assert len(names) == len(set(names))
