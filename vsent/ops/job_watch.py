"""Follow a SageMaker training or processing job: status changes and its CloudWatch log lines.

The log lines come from the SageMaker SDK's reader (``sagemaker.core.logs.multi_stream_iter``),
which interleaves the streams of every instance by timestamp. The SDK's own waits
(``TrainingJob.wait(logs=True)``) are not used: they read logs through a process-wide client in
the default region, ignoring ``--region``, and draw a transient rich panel instead of lines.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

TERMINAL = {"Completed", "Failed", "Stopped"}


@dataclass(frozen=True)
class JobKind:
    """How to create and describe one kind of job and where its logs go."""

    name: str
    create: str
    log_group: str
    status_key: str
    describe: Callable[[Any, str], dict[str, Any]]


TRAINING = JobKind(
    "training",
    "CreateTrainingJob",
    "/aws/sagemaker/TrainingJobs",
    "TrainingJobStatus",
    lambda sm, name: sm.describe_training_job(TrainingJobName=name),
)
PROCESSING = JobKind(
    "processing",
    "CreateProcessingJob",
    "/aws/sagemaker/ProcessingJobs",
    "ProcessingJobStatus",
    lambda sm, name: sm.describe_processing_job(ProcessingJobName=name),
)


@dataclass
class LogTail:
    """Reads new events of every log stream of one job, remembering where each stream stopped."""

    logs: Any
    group: str
    prefix: str
    positions: dict[str, Any] = field(default_factory=dict)

    def new_lines(self) -> list[str]:
        """Lines written since the last call, in time order, each prefixed with its host."""
        from sagemaker.core.logs import Position, multi_stream_iter

        try:
            found = self.logs.describe_log_streams(
                logGroupName=self.group, logStreamNamePrefix=self.prefix + "/"
            )["logStreams"]
        except self.logs.exceptions.ResourceNotFoundException:
            return []  # the group appears with the first line the job writes
        streams = sorted(s["logStreamName"] for s in found)
        for stream in streams:
            self.positions.setdefault(stream, Position(timestamp=0, skip=0))
        lines: list[str] = []
        for index, event in multi_stream_iter(self.logs, self.group, streams, self.positions):
            stream = streams[index]
            host = stream.removeprefix(self.prefix + "/").split("/")[0]
            lines.append(f"[{host}] {event['message'].rstrip()}")
            # Reading resumes at the last timestamp, skipping the events of it already shown.
            last = self.positions[stream]
            skip = last.skip + 1 if event["timestamp"] == last.timestamp else 1
            self.positions[stream] = Position(timestamp=event["timestamp"], skip=skip)
        return lines


def follow(
    sm: Any,
    logs: Any,
    kind: JobKind,
    name: str,
    echo: Callable[[str], None],
    *,
    poll_s: float = 15.0,
    sleep: Callable[[float], None] | None = None,
) -> dict[str, Any]:
    """Print the job's status changes and log lines until it ends; returns the final description."""
    tail = LogTail(logs, kind.log_group, name)
    last = ""
    while True:
        job = kind.describe(sm, name)
        status = job[kind.status_key]
        detail = job.get("SecondaryStatus", "")
        shown = f"{status} ({detail})" if detail and detail != status else status
        if shown != last:
            echo(f"{kind.name} job {name}: {shown}")
            last = shown
        for line in tail.new_lines():
            echo(line)
        if status in TERMINAL:
            return job
        (sleep or time.sleep)(poll_s)
