"""A local SageMaker Runtime API, the one boto3 reaches through AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME.

moto accepts InvokeEndpointAsync but runs nothing, so the functions' sagemaker-runtime client
is pointed here instead while every other service stays on moto: the submit function's code is
the same as on AWS. Only the two invocation operations exist, in botocore's REST-JSON shape.
"""

from __future__ import annotations

import re
import uuid
from typing import ClassVar
from urllib.parse import unquote

import requests

from vsent.local.async_endpoint import AsyncEndpoint
from vsent.local.http_util import BackgroundServer, QuietHandler
from vsent.local.spec import ACCOUNT_ID

_ROUTE = re.compile(r"^/endpoints/(?P<name>[^/]+)/(?P<operation>async-invocations|invocations)$")
_DEFAULT_INVOCATION_TIMEOUT_S = 900


class _RuntimeHandler(QuietHandler):
    endpoint: ClassVar[AsyncEndpoint]
    model_url: ClassVar[str]

    def do_POST(self) -> None:
        match = _ROUTE.match(self.path.split("?", 1)[0])
        if match is None:
            self._error(404, "UnknownOperationException", f"no operation at {self.path}")
            return
        name = unquote(match.group("name"))
        if name != self.endpoint.spec.name:
            self._error(
                400,
                "ValidationError",
                f"Endpoint {name} of account {ACCOUNT_ID} not found.",
            )
            return
        body = self.read_body()
        if match.group("operation") == "invocations":
            self._invoke(body)
        else:
            self._invoke_async(body)

    def _invoke_async(self, body: bytes) -> None:
        input_location = self.headers.get("X-Amzn-SageMaker-InputLocation")
        if not input_location and not body:
            self._error(400, "ValidationError", "InputLocation or Body is required.")
            return
        timeout = self.headers.get("X-Amzn-SageMaker-InvocationTimeoutSeconds")
        invocation = self.endpoint.accept(
            inference_id=self.headers.get("X-Amzn-SageMaker-Inference-Id") or str(uuid.uuid4()),
            input_location=input_location,
            body=None if input_location else body,
            content_type=self.headers.get(
                "X-Amzn-SageMaker-Content-Type", "application/octet-stream"
            ),
            accept=self.headers.get("X-Amzn-SageMaker-Accept"),
            timeout_s=int(timeout) if timeout else _DEFAULT_INVOCATION_TIMEOUT_S,
        )
        self.send_json(
            202,
            {"InferenceId": invocation.inference_id},
            {
                "X-Amzn-SageMaker-OutputLocation": invocation.output_location,
                "X-Amzn-SageMaker-FailureLocation": invocation.failure_location,
            },
        )

    def _invoke(self, body: bytes) -> None:
        response = requests.post(
            f"{self.model_url}/invocations",
            data=body,
            headers={
                "Content-Type": self.headers.get("Content-Type", "application/octet-stream"),
                "Accept": self.headers.get("Accept", "application/json"),
            },
            timeout=_DEFAULT_INVOCATION_TIMEOUT_S,
        )
        if not response.ok:
            self._error(
                424,
                "ModelError",
                f"Received {'client' if response.status_code < 500 else 'server'} error "
                f'({response.status_code}) from primary with message "{response.text}"',
            )
            return
        self.send(
            200,
            response.content,
            {"Content-Type": response.headers.get("Content-Type", "application/json")},
        )

    def _error(self, status: int, code: str, message: str) -> None:
        self.send_json(status, {"message": message}, {"x-amzn-ErrorType": code})


def runtime_server(endpoint: AsyncEndpoint, model_url: str) -> BackgroundServer:
    """The SageMaker Runtime API for `endpoint`, not yet started."""
    handler = type(
        "RuntimeHandler", (_RuntimeHandler,), {"endpoint": endpoint, "model_url": model_url}
    )
    return BackgroundServer(handler)
