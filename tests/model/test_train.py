"""Training on the synthetic set: learning, resuming, early stopping, the SageMaker contract."""

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from vs_model.evaluation import head_report
from vs_model.labels import EMOTIONS, SENTIMENTS
from vs_model.metric_lines import METRIC_DEFINITIONS
from vs_model.optimization import class_weights, warmup_cosine, warmup_linear
from vs_model.training import run
from vs_model.training_options import parse_options


@pytest.fixture(scope="session")
def shared_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Feature caches built by the first in-process run and reused by the others."""
    return tmp_path_factory.mktemp("feature-cache")


def _majority_weighted_f1(train: list[int], test: list[int], labels: tuple[str, ...]) -> float:
    majority = int(np.bincount(train, minlength=len(labels)).argmax())
    return head_report(test, [majority] * len(test), labels).weighted_f1


def test_train_script_end_to_end(synthetic_meld: Path, tmp_path: Path, repo_root: Path) -> None:
    work = tmp_path / "run"
    env = {**os.environ, "PYTHONPATH": str(repo_root / "model"), "OMP_NUM_THREADS": "2"}
    command = [
        sys.executable,
        str(repo_root / "model" / "train.py"),
        "--preset",
        "tiny",
        "--data-root",
        str(synthetic_meld),
        "--work-dir",
        str(work),
        "--epochs",
        "6",
        "--progress",
        "false",
    ]
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stderr[-3000:]

    epoch_lines = [line for line in done.stdout.splitlines() if " epoch=" in line]
    assert len(epoch_lines) == 6
    names = set()
    for definition in METRIC_DEFINITIONS:
        if re.search(definition["Regex"], epoch_lines[-1]):
            names.add(definition["Name"])
    assert {"train:loss", "validation:emotion_weighted_f1", "validation:score"} <= names
    assert re.search(r" test_score=[0-9.]+", done.stdout)

    for path in ("model/model.pt", "model/config.json", "model/tokenizer", "model/text_encoder"):
        assert (work / path).exists(), path
    assert list((work / "tensorboard").glob("events.out.tfevents.*"))
    assert (work / "output" / "test_confusion.png").stat().st_size > 1000
    assert (work / "output" / "validation_report.json").is_file()
    summary = json.loads((work / "output" / "training_summary.json").read_text())
    assert len(summary["history"]) == 6
    assert 1 <= summary["best_epoch"] <= 6

    report = json.loads((work / "output" / "test_report.json").read_text())
    cache = work / "checkpoints" / "feature-cache"
    train_index = json.loads((cache / "train" / "index.json").read_text())
    test_index = json.loads((cache / "test" / "index.json").read_text())
    for head, labels in (("emotion", EMOTIONS), ("sentiment", SENTIMENTS)):
        train_labels = np.repeat(
            np.arange(len(labels)), list(train_index["label_counts"][head].values())
        )
        test_labels = np.repeat(
            np.arange(len(labels)), list(test_index["label_counts"][head].values())
        )
        baseline = _majority_weighted_f1(train_labels.tolist(), test_labels.tolist(), labels)
        assert report[head]["weighted_f1"] > baseline + 0.25, (head, baseline, report[head])
    assert report["emotion"]["weighted_f1"] >= 0.45


def _options(data: Path, work: Path, cache: Path, *extra: str):
    return parse_options(
        [
            "--preset",
            "tiny",
            "--data-root",
            str(data),
            "--work-dir",
            str(work),
            "--cache-dir",
            str(cache),
            "--max-train-samples",
            "24",
            "--progress",
            "false",
            *extra,
        ]
    )


def test_resume_continues_the_run(synthetic_meld: Path, shared_cache: Path, tmp_path: Path):
    first = run(_options(synthetic_meld, tmp_path, shared_cache, "--epochs", "2"))
    assert first.epochs_run == [1, 2]
    assert (tmp_path / "checkpoints" / "resume.pt").is_file()

    # The job restarts (a spot interruption) with a longer schedule: it goes on at epoch 3.
    second = run(_options(synthetic_meld, tmp_path, shared_cache, "--epochs", "3"))
    assert second.epochs_run == [3]
    assert [m["epoch"] for m in second.history] == [1, 2, 3]
    assert second.history[:2] == first.history

    # Restarted after the last epoch: nothing is trained again, the model is exported anyway.
    third = run(_options(synthetic_meld, tmp_path, shared_cache, "--epochs", "3"))
    assert third.epochs_run == []
    assert third.best_epoch == second.best_epoch
    assert (tmp_path / "model" / "model.pt").is_file()


def test_early_stopping_on_a_flat_validation_score(
    synthetic_meld: Path, shared_cache: Path, tmp_path: Path
) -> None:
    frozen = [f"--lr-{part}" for part in ("text", "video", "audio", "head")]
    zero_lrs = [arg for flag in frozen for arg in (flag, "0")]
    result = run(
        _options(
            synthetic_meld, tmp_path, shared_cache, "--epochs", "5", "--patience", "1", *zero_lrs
        )
    )
    assert result.stopped_early
    assert result.epochs_run == [1, 2]
    assert result.best_epoch == 1


def test_sagemaker_environment_and_string_hyperparameters(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    for variable, folder in (
        ("SM_CHANNEL_TRAINING", "train"),
        ("SM_CHANNEL_VALIDATION", "validation"),
        ("SM_MODEL_DIR", "model"),
        ("SM_OUTPUT_DATA_DIR", "output"),
    ):
        monkeypatch.setenv(variable, str(tmp_path / folder))
    monkeypatch.delenv("SM_CHANNEL_TEST", raising=False)
    options = parse_options(["--preset", "paper", "--freeze-text", "True", "--epochs", "3"])
    assert options.train == tmp_path / "train"
    assert options.validation == tmp_path / "validation"
    assert options.test is None
    assert options.model_dir == tmp_path / "model"
    assert options.output_dir == tmp_path / "output"
    assert options.checkpoint_dir == Path("/opt/ml/checkpoints")
    assert options.tensorboard_dir == Path("/opt/ml/output/tensorboard")
    assert options.freeze_text is True
    assert (options.epochs, options.batch_size, options.lr_text) == (3, 16, 2e-5)


def test_missing_channels_are_a_usage_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SM_CHANNEL_TRAINING", raising=False)
    monkeypatch.delenv("SM_CHANNEL_VALIDATION", raising=False)
    with pytest.raises(SystemExit):
        parse_options([])


def test_class_weights_and_schedule() -> None:
    weights = class_weights(torch.tensor([0, 0, 0, 1]), 3)
    assert weights.tolist() == pytest.approx([4 / 9, 4 / 3, 1.0])
    factor = warmup_cosine(100, 0.1)
    assert factor(0) == pytest.approx(0.1)
    assert factor(9) == pytest.approx(1.0)
    assert factor(55) == pytest.approx(0.5)
    assert factor(100) == pytest.approx(0.0)
    linear = warmup_linear(100, 0.1)
    assert linear(0) == pytest.approx(0.1)
    assert linear(10) == pytest.approx(1.0)
    assert linear(55) == pytest.approx(0.5)
    assert linear(100) == pytest.approx(0.0)


def test_defaults_are_plain_cross_entropy_and_linear_decay(tmp_path: Path) -> None:
    options = parse_options(["--data-root", str(tmp_path), "--preset", "text"])
    assert (options.class_weights, options.label_smoothing) == ("none", 0.0)
    assert options.schedule == "linear"
    assert (options.epochs, options.batch_size, options.lr_text) == (3, 32, 5e-5)
