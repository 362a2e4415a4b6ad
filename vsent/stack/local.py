"""The local stack: moto, the template's resources, the real handlers, their event sources,
the async endpoint with its model server, and the API gateway — in one process.

The Lambda handlers share this process's environment, so it is set to the functions'
environment (the template's Globals plus the endpoints of moto and the local SageMaker
runtime) before they are imported. Run it in a process of its own (`python -m vsent.stack`).
"""

from __future__ import annotations

import logging
import os
import secrets
from pathlib import Path
from typing import IO, Any

import boto3
from moto.server import ThreadedMotoServer

from vsent.stack.api_gateway import ApiConfig, Route, UsagePlan, gateway_server
from vsent.stack.async_endpoint import AsyncEndpoint, Ledger
from vsent.stack.demo_model import is_demo_model
from vsent.stack.event_source import QueueSource, SqsPoller
from vsent.stack.functions import LocalFunction
from vsent.stack.http_util import BackgroundServer
from vsent.stack.model_server import ModelServerProcess
from vsent.stack.moto_fidelity import complete_s3_event_notifications
from vsent.stack.resources import api_key_lookup, create_api_key, create_resources
from vsent.stack.runtime_api import runtime_server
from vsent.stack.spec import StackSpec, build_spec
from vsent.stack.state import LEDGER_FILE, LOCAL_CREDENTIALS, StackInfo

log = logging.getLogger(__name__)


class StackError(RuntimeError):
    """The local stack cannot start as configured."""


def functions_environment(spec: StackSpec) -> dict[str, str]:
    """The environment every function sees; the template gives them all the same one here."""
    merged: dict[str, str] = {}
    for function in spec.functions:
        for name, value in function.environment.items():
            if merged.get(name, value) != value:
                raise StackError(
                    f"functions disagree on {name}; the local stack runs them in one process"
                )
            merged[name] = value
    return merged


class LocalStack:
    """Starts and stops every part of the local stack."""

    def __init__(
        self,
        template: Path,
        model: Path,
        state_dir: Path,
        model_log: IO[bytes],
        api_port: int = 0,
        region: str = "us-east-1",
    ) -> None:
        self.spec = build_spec(template, region=region)
        self._model = model
        self._state_dir = state_dir
        self._model_log = model_log
        self._api_port = api_port
        self._moto: ThreadedMotoServer | None = None
        self._model_server: ModelServerProcess | None = None
        self._endpoint: AsyncEndpoint | None = None
        self._servers: list[BackgroundServer] = []
        self._pollers: list[SqsPoller] = []

    def start(self) -> StackInfo:
        """Bring everything up; returns how to reach it."""
        complete_s3_event_notifications()
        self._moto = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
        self._moto.start()
        host, port = self._moto.get_host_and_port()
        moto_url = f"http://{host}:{port}"
        aws_env = {
            **LOCAL_CREDENTIALS,
            "AWS_REGION": self.spec.region,
            "AWS_DEFAULT_REGION": self.spec.region,
            "AWS_ENDPOINT_URL": moto_url,
            "AWS_EC2_METADATA_DISABLED": "true",
        }

        def client(service: str) -> Any:
            return boto3.client(
                service,
                endpoint_url=moto_url,
                region_name=self.spec.region,
                aws_access_key_id=LOCAL_CREDENTIALS["AWS_ACCESS_KEY_ID"],
                aws_secret_access_key=LOCAL_CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
            )

        created = create_resources(self.spec, client)
        key_ids = [create_api_key(client("apigateway"), name) for name in self.spec.api.api_keys]

        self._model_server = ModelServerProcess(
            self._model,
            {**os.environ, **aws_env, **self.spec.endpoint.container_environment},
            self._model_log,
        )
        model_url = self._model_server.start()
        self._endpoint = AsyncEndpoint(
            self.spec.endpoint,
            self.spec.region,
            client("s3"),
            client("sns"),
            model_url,
            Ledger(self._state_dir / LEDGER_FILE),
        )
        self._endpoint.start()
        runtime = runtime_server(self._endpoint, model_url)
        runtime.start()
        self._servers.append(runtime)

        os.environ.update(
            {
                **aws_env,
                **functions_environment(self.spec),
                "AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME": runtime.url,
                # No X-Ray daemon runs here.
                "POWERTOOLS_TRACE_DISABLED": "true",
                # What the template's generated secret holds on AWS: a fresh key per local stack.
                "PAGINATION_SECRET": secrets.token_urlsafe(48),
            }
        )
        functions = {
            spec.logical_id: LocalFunction(spec, self.spec.region) for spec in self.spec.functions
        }
        sqs = client("sqs")
        for function in functions.values():
            for event in function.spec.sqs_events:
                source = QueueSource(
                    url=created.queue_urls[event.queue],
                    arn=created.queue_arns[event.queue],
                    region=self.spec.region,
                )
                poller = SqsPoller(
                    sqs,
                    source,
                    function,
                    event.batch_size,
                    event.batching_window_s,
                    event.report_batch_item_failures,
                    event.maximum_concurrency,
                )
                poller.start()
                self._pollers.append(poller)

        api = self.spec.api
        routes = [
            Route(route.path, route.method, route.api_key_required, function)
            for function in functions.values()
            for route in function.spec.routes
        ]
        gateway = gateway_server(
            ApiConfig(
                routes=routes,
                stage=api.stage,
                api_id="local",
                key_lookup=api_key_lookup(client("apigateway")),
                usage_plan=UsagePlan(api.rate_limit, api.burst_limit, api.quota),
                gateway_responses=api.gateway_responses,
            ),
            self._api_port,
        )
        gateway.start()
        self._servers.append(gateway)
        key_id, key_value = key_ids[0]
        return StackInfo(
            api_url=f"{gateway.url}/{api.stage}",
            api_key=key_value,
            api_key_id=key_id,
            aws_endpoint_url=moto_url,
            sagemaker_runtime_url=runtime.url,
            model_server_url=model_url,
            region=self.spec.region,
            stack_name=self.spec.stack_name,
            bucket=created.bucket,
            endpoint_name=self.spec.endpoint.name,
            model=str(self._model),
            demo_model=is_demo_model(self._model),
            pid=os.getpid(),
            state_dir=str(self._state_dir),
        )

    def stop(self) -> None:
        """Stop in reverse order: no new requests, drain pollers and endpoint, then moto."""
        for server in reversed(self._servers):
            server.stop()
        for poller in self._pollers:
            poller.stop()
        if self._endpoint is not None:
            self._endpoint.stop()
        if self._model_server is not None:
            self._model_server.stop()
        if self._moto is not None:
            self._moto.stop()
