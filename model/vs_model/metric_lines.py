"""The one-line metric records training prints, and the regexes SageMaker parses them with.

Pure Python on purpose: the launcher (``vsent`` or a notebook) imports :data:`METRIC_DEFINITIONS`
for ``metric_definitions=`` without having torch installed.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping

PREFIX = "[metrics]"
_NUMBER = r"([-+]?[0-9]*\.?[0-9]+(?:[eE][-+]?[0-9]+)?)"

_HEAD_METRICS = ("accuracy", "weighted_f1", "macro_f1")
_HEAD_FIELDS = tuple(
    f"{head}_{metric}" for head in ("emotion", "sentiment") for metric in _HEAD_METRICS
)
EPOCH_FIELDS = (
    "epoch",
    "train_loss",
    "validation_loss",
    *(f"validation_{name}" for name in _HEAD_FIELDS),
    "validation_score",
    "learning_rate",
    "epoch_seconds",
)
TEST_FIELDS = ("test_loss", *(f"test_{name}" for name in _HEAD_FIELDS), "test_score")
FIELDS = EPOCH_FIELDS + TEST_FIELDS


CHANNELS = ("train", "validation", "test")


def metric_name(field: str) -> str:
    """SageMaker's name for a field: ``train_loss`` becomes ``train:loss``; others stay as is."""
    channel, _, rest = field.partition("_")
    return f"{channel}:{rest}" if channel in CHANNELS and rest else field


def _definition(field: str) -> dict[str, str]:
    # A leading space keeps `train_loss` from matching inside a longer name.
    return {"Name": metric_name(field), "Regex": f" {field}={_NUMBER}"}


METRIC_DEFINITIONS: list[dict[str, str]] = [_definition(field) for field in FIELDS]


def format_metric_line(values: Mapping[str, float | int]) -> str:
    """One line ``[metrics] epoch=3 train_loss=0.91 …`` with the known fields in a fixed order.

    Raises ``KeyError`` for a field no metric definition covers, so nothing is printed that
    SageMaker would silently ignore.
    """
    unknown = sorted(set(values) - set(FIELDS))
    if unknown:
        raise KeyError(f"no metric definition for {', '.join(unknown)}")
    parts = [PREFIX]
    for field in FIELDS:
        if field in values:
            parts.append(f"{field}={_format_value(values[field])}")
    return " ".join(parts)


def _format_value(value: float | int) -> str:
    if isinstance(value, int):
        return str(value)
    if not math.isfinite(value):
        return "nan"
    return f"{value:.6g}"


def parse_metric_line(line: str) -> dict[str, float]:
    """The values in a metric line, read with :data:`METRIC_DEFINITIONS` as SageMaker would."""
    found: dict[str, float] = {}
    for field in FIELDS:
        match = re.search(f" {field}={_NUMBER}", line)
        if match:
            found[field] = float(match.group(1))
    return found
