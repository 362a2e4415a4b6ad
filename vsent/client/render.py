"""Terminal rendering of jobs and result documents with rich."""

from __future__ import annotations

from typing import Any

from rich.console import Group
from rich.table import Table
from rich.text import Text

_STATUS_STYLES = {
    "AWAITING_UPLOAD": "dim",
    "QUEUED": "yellow",
    "IN_PROGRESS": "cyan",
    "COMPLETED": "green",
    "FAILED": "bold red",
}
_SENTIMENT_STYLES = {"negative": "red", "neutral": "white", "positive": "green"}


def status_text(job: dict[str, Any]) -> Text:
    """One line: job id, state, and the reason when it failed."""
    line = Text.assemble(
        (job["job_id"], "bold"), " ", (job["status"], _STATUS_STYLES.get(job["status"], ""))
    )
    if job.get("filename"):
        line.append(f"  {job['filename']}", "dim")
    if job["status"] == "FAILED" and job.get("reason"):
        code = f" [{job['reason_code']}]" if job.get("reason_code") else ""
        line.append(f"\n  reason{code}: {job['reason']}", "red")
    return line


def model_banner(result: dict[str, Any]) -> Text:
    """Which model produced the result; a demo model is said loudly."""
    model = result.get("model", {})
    text = Text(f"model {model.get('name', '?')} {model.get('version', '')}", "dim")
    if model.get("modalities"):
        reads = " + ".join(model["modalities"])
        context = ", with dialogue context" if model.get("dialogue_context") else ""
        only = " only" if model["modalities"] == ["text"] else ""
        text.append(f"  reads {reads}{only}{context}", "dim")
    if model.get("demo"):
        text.append("  DEMO MODEL: trained on synthetic data, not on MELD", "bold yellow")
    return text


def _seconds(value: float) -> str:
    minutes, seconds = divmod(value, 60)
    return f"{int(minutes):d}:{seconds:05.2f}"


def result_table(result: dict[str, Any]) -> Group:
    """The utterances as a table (or, without speech, the picture's windows), with the model
    and the summary beneath."""
    rows = result["utterances"] or result.get("picture", [])
    title = f"{len(result['utterances'])} utterances ({result['segmentation']})"
    if not result["utterances"] and rows:
        title = f"no speech: {len(rows)} windows of the picture alone"
    table = Table(title=title)
    table.add_column("#", justify="right", style="dim")
    table.add_column("start", justify="right")
    table.add_column("end", justify="right")
    table.add_column("text", overflow="fold", max_width=48)
    table.add_column("emotion")
    table.add_column("sentiment")
    for index, utterance in enumerate(rows, start=1):
        emotion, sentiment = utterance["emotion"], utterance["sentiment"]
        table.add_row(
            str(index),
            _seconds(utterance["start_s"]),
            _seconds(utterance["end_s"]),
            utterance.get("text") or Text("(no text)", "dim"),
            f"{emotion['label']} {emotion['confidence']:.2f}",
            Text(
                f"{sentiment['label']} {sentiment['confidence']:.2f}",
                _SENTIMENT_STYLES.get(sentiment["label"], ""),
            ),
        )
    parts: list[Any] = [table, model_banner(result)]
    summary = result.get("summary", {})
    for head in ("emotion", "sentiment"):
        shares = summary.get(head, {})
        if shares:
            top = sorted(shares.items(), key=lambda item: -item[1])[:3]
            parts.append(Text(f"{head}: " + ", ".join(f"{k} {v:.0%}" for k, v in top), "dim"))
    for warning in result.get("warnings", []):
        parts.append(Text(f"warning: {warning}", "yellow"))
    return Group(*parts)
