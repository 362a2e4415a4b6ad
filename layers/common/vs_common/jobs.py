"""The job: its row model and the state machine its status follows."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class JobStatus(StrEnum):
    """Where a job is in its life; the order of declaration is the order of progress."""

    AWAITING_UPLOAD = "AWAITING_UPLOAD"
    QUEUED = "QUEUED"
    IN_PROGRESS = "IN_PROGRESS"
    COMPLETED = "COMPLETED"
    FAILED = "FAILED"


TRANSITIONS: dict[JobStatus, frozenset[JobStatus]] = {
    JobStatus.AWAITING_UPLOAD: frozenset({JobStatus.QUEUED, JobStatus.FAILED}),
    JobStatus.QUEUED: frozenset({JobStatus.IN_PROGRESS, JobStatus.FAILED}),
    JobStatus.IN_PROGRESS: frozenset({JobStatus.COMPLETED, JobStatus.FAILED}),
    JobStatus.COMPLETED: frozenset(),
    JobStatus.FAILED: frozenset(),
}

# Owner of an object put straight into the bucket (no x-amz-meta-owner from a presigned POST).
DIRECT_OWNER = "direct"

TERMINAL: frozenset[JobStatus] = frozenset(s for s, nxt in TRANSITIONS.items() if not nxt)


class InvalidTransition(ValueError):
    """A status change the state machine does not allow (it would go backwards or sideways)."""

    def __init__(self, job_id: str, current: JobStatus | None, target: JobStatus) -> None:
        self.job_id = job_id
        self.current = current
        self.target = target
        where = current.value if current else "absent"
        super().__init__(f"job {job_id}: cannot move from {where} to {target.value}")


def sources_of(target: JobStatus) -> frozenset[JobStatus]:
    """The statuses from which `target` can be reached."""
    return frozenset(s for s, nxt in TRANSITIONS.items() if target in nxt)


def utc_now() -> str:
    """The current time as fixed-width ISO-8601 UTC, so that strings sort like instants."""
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class Job(BaseModel):
    """One row of the jobs table."""

    model_config = ConfigDict(extra="ignore", use_enum_values=False)

    job_id: str
    owner: str
    status: JobStatus
    created_at: str
    updated_at: str
    object_key: str
    filename: str
    content_type: str | None = None
    size_bytes: int | None = Field(default=None, ge=0)
    version_id: str | None = None
    manifest_key: str | None = None
    inference_id: str | None = None
    output_location: str | None = None
    failure_location: str | None = None
    reason: str | None = None
    reason_code: str | None = None
    result_json: str | None = None
    result_key: str | None = None
    expires_at: int | None = None

    @classmethod
    def from_item(cls, item: dict[str, Any]) -> Job:
        """Build a job from a DynamoDB item (numbers arrive as Decimal)."""
        return cls.model_validate(item)

    def to_item(self) -> dict[str, Any]:
        """The DynamoDB item for this job, without empty attributes."""
        return self.model_dump(mode="json", exclude_none=True)

    @property
    def result(self) -> dict[str, Any] | None:
        """The inline result document, when the row holds one."""
        return json.loads(self.result_json) if self.result_json else None
