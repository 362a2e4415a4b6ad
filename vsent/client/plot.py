"""A timeline picture of a result: emotion and sentiment of every utterance over time."""

from __future__ import annotations

from pathlib import Path
from typing import Any

# The object API draws straight to a file: no pyplot state, no display needed.
from matplotlib.figure import Figure
from matplotlib.patches import Patch

from vs_model.labels import EMOTIONS, SENTIMENTS

EMOTION_COLOURS = {
    "anger": "#d62728",
    "disgust": "#8c564b",
    "fear": "#9467bd",
    "joy": "#ffbf00",
    "neutral": "#9e9e9e",
    "sadness": "#1f77b4",
    "surprise": "#ff7f0e",
}
SENTIMENT_COLOURS = {"negative": "#c0392b", "neutral": "#9e9e9e", "positive": "#27ae60"}


def plot_timeline(result: dict[str, Any], out: Path) -> Path:
    """Write a PNG with two lanes (emotion, sentiment); bar opacity is the confidence."""
    # Without speech, the picture's windows are what there is to show.
    utterances = result["utterances"] or result.get("picture", [])
    duration = max(
        [result.get("video", {}).get("duration_s") or 0.0]
        + [utterance["end_s"] for utterance in utterances]
    )
    figure = Figure(figsize=(max(8.0, min(24.0, duration / 4)), 3.2))
    axis = figure.subplots()
    lanes = (("emotion", EMOTION_COLOURS, 1.0), ("sentiment", SENTIMENT_COLOURS, 0.0))
    for head, colours, y in lanes:
        for utterance in utterances:
            answer = utterance[head]
            width = max(utterance["end_s"] - utterance["start_s"], 0.05)
            axis.broken_barh(
                [(utterance["start_s"], width)],
                (y + 0.1, 0.8),
                facecolors=colours.get(answer["label"], "#444444"),
                alpha=0.35 + 0.65 * float(answer["confidence"]),
                edgecolor="black",
                linewidth=0.5,
            )
            if width > duration / 40:
                axis.text(
                    utterance["start_s"] + width / 2, y + 0.5, answer["label"],
                    ha="center", va="center", fontsize=7,
                )  # fmt: skip
    axis.set_yticks([0.5, 1.5], ["sentiment", "emotion"])
    axis.set_xlim(0, max(duration, 1.0))
    axis.set_ylim(0, 2)
    axis.set_xlabel("seconds")
    model = result.get("model", {})
    title = f"{result.get('job_id', '')} · {model.get('name', '')}"
    if model.get("modalities"):
        title += f" · reads {' + '.join(model['modalities'])}"
    if model.get("demo"):
        title += " · DEMO MODEL"
    axis.set_title(title, fontsize=9)
    handles = [Patch(color=EMOTION_COLOURS[e], label=e) for e in EMOTIONS]
    handles += [Patch(color=SENTIMENT_COLOURS[s], label=s) for s in SENTIMENTS]
    axis.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.01, 1), fontsize=7)
    figure.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(out, dpi=120)
    return out
