"""S3 event notifications delivered through SQS to the submit function."""

from __future__ import annotations

from aws_lambda_powertools.utilities.parser.models import S3Model, SqsRecordModel
from pydantic import BaseModel, ConfigDict, Json


class S3TestEvent(BaseModel):
    """The message S3 sends once when a notification configuration is created."""

    model_config = ConfigDict(extra="allow")

    Service: str
    Event: str
    Bucket: str


class UploadRecord(SqsRecordModel):  # type: ignore[override]
    """One SQS record of the uploads queue: an S3 event notification, or S3's test event."""

    body: Json[S3Model | S3TestEvent]  # type: ignore[assignment]


class UploadRef(BaseModel):
    """One created object, identified so that duplicate deliveries of its event agree."""

    bucket: str
    key: str
    version_id: str | None = None
    sequencer: str | None = None

    @property
    def version_token(self) -> str:
        """What distinguishes this upload from another of the same key."""
        return self.version_id or self.sequencer or ""
