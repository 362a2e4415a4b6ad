"""Follow a SageMaker training or processing job: status changes and its CloudWatch log lines."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

TERMINAL = {"Completed", "Failed", "Stopped"}


@dataclass(frozen=True)
class JobKind:
    """How to describe one kind of job and where its logs go."""

    name: str
    log_group: str
    status_key: str
    describe: Callable[[Any, str], dict[str, Any]]


TRAINING = JobKind(
    "training",
    "/aws/sagemaker/TrainingJobs",
    "TrainingJobStatus",
    lambda sm, name: sm.describe_training_job(TrainingJobName=name),
)
PROCESSING = JobKind(
    "processing",
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
    tokens: dict[str, str] = field(default_factory=dict)

    def new_lines(self) -> list[str]:
        """Lines written since the last call, stream by stream, each prefixed with its host."""
        try:
            streams = self.logs.describe_log_streams(
                logGroupName=self.group, logStreamNamePrefix=self.prefix
            )["logStreams"]
        except self.logs.exceptions.ResourceNotFoundException:
            return []  # the group appears with the first line the job writes
        lines: list[str] = []
        for stream in sorted(s["logStreamName"] for s in streams):
            lines += self._read_stream(stream)
        return lines

    def _read_stream(self, stream: str) -> list[str]:
        host = stream.removeprefix(self.prefix + "/").split("/")[0]
        lines: list[str] = []
        while True:
            request = {"logGroupName": self.group, "logStreamName": stream, "startFromHead": True}
            if stream in self.tokens:
                request["nextToken"] = self.tokens[stream]
            page = self.logs.get_log_events(**request)
            lines += [f"[{host}] {event['message'].rstrip()}" for event in page["events"]]
            # The forward token repeats once a stream has no newer events.
            unchanged = page.get("nextForwardToken") == self.tokens.get(stream)
            self.tokens[stream] = page.get("nextForwardToken", self.tokens.get(stream, ""))
            if unchanged or not page["events"]:
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
