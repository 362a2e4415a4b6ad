"""SageMaker asynchronous inference notifications, as they arrive through SNS and SQS."""

from __future__ import annotations

from typing import Literal

from aws_lambda_powertools.utilities.parser.models import SnsNotificationModel, SqsRecordModel
from pydantic import BaseModel, ConfigDict, Json, model_validator


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
