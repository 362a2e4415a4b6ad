"""SageMaker asynchronous inference notifications, as they arrive through SNS and SQS."""

from __future__ import annotations

import json
import re
from typing import Literal

from aws_lambda_powertools.utilities.parser.models import SnsNotificationModel, SqsRecordModel
from pydantic import BaseModel, ConfigDict, Json, model_validator

MAX_REASON_CHARS = 1000
_SEE_LOGS = re.compile(r"\.?\s*See https?://\S+.*?for more information\.?\s*$", re.DOTALL)
_WITH_MESSAGE = re.compile(r'with message "(?P<message>.*)"\s*$', re.DOTALL)
_EXCEPTION_PREFIX = re.compile(r"^(?:[A-Z][A-Za-z0-9_.]*(?:Error|Exception|Timeout)\s*:\s*)+")


class InferenceRequestParameters(BaseModel):
    """What the asynchronous invocation was asked to do."""

    model_config = ConfigDict(extra="allow")

    endpointName: str | None = None
    inputLocation: str | None = None
    contentType: str | None = None


class InferenceResponseParameters(BaseModel):
    """Where the output (or the error body) was written."""

    model_config = ConfigDict(extra="allow")

    contentType: str | None = None
    outputLocation: str | None = None
    failureLocation: str | None = None


class AsyncInferenceNotification(BaseModel):
    """The message SageMaker publishes to the success or error topic of an async endpoint."""

    model_config = ConfigDict(extra="allow")

    invocationStatus: Literal["Completed", "Failed"]
    inferenceId: str
    awsRegion: str | None = None
    eventTime: str | None = None
    receivedTime: str | None = None
    failureReason: str | None = None
    requestParameters: InferenceRequestParameters = InferenceRequestParameters()
    responseParameters: InferenceResponseParameters = InferenceResponseParameters()

    @model_validator(mode="after")
    def _success_has_output(self) -> AsyncInferenceNotification:
        if self.invocationStatus == "Completed" and not self.responseParameters.outputLocation:
            raise ValueError("a Completed notification needs responseParameters.outputLocation")
        return self

    @property
    def succeeded(self) -> bool:
        """Whether the inference completed."""
        return self.invocationStatus == "Completed"


class SnsInferenceNotification(SnsNotificationModel):  # type: ignore[override]
    """The SNS envelope (not raw delivery) whose Message is a SageMaker notification."""

    Message: Json[AsyncInferenceNotification]  # type: ignore[assignment]


class NotificationRecord(SqsRecordModel):  # type: ignore[override]
    """One SQS record of the notifications queue."""

    body: Json[SnsInferenceNotification]  # type: ignore[assignment]


def clean_failure_reason(reason: str | None) -> str:
    """The model's own message inside SageMaker's failure reason.

    SageMaker wraps what the container raised, e.g. 'ClientError: Received client error (400)
    from primary with message "not a video: …". See https://… for more information.'; the
    serving stack may wrap it once more in a JSON body with a "message" field.
    """
    text = (reason or "").strip()
    text = _SEE_LOGS.sub("", text)
    match = _WITH_MESSAGE.search(text)
    if match:
        text = match.group("message")
    text = text.strip()
    try:
        body = json.loads(text)
    except ValueError:
        body = None
    if isinstance(body, dict):
        text = str(body.get("message") or body.get("errorMessage") or text)
    text = _EXCEPTION_PREFIX.sub("", text.strip())
    text = " ".join(text.split())
    if not text:
        return "the inference failed without a reason"
    return text[:MAX_REASON_CHARS]
