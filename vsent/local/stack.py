"""The local stack: moto, the template's resources, the real handlers, their event sources,
the async endpoint with its model server, and the API gateway — in one process.

The Lambda handlers share this process's environment, so it is set to the functions'
environment (the template's Globals plus the endpoints of moto and the local SageMaker
runtime) before they are imported. Run it in a process of its own (`python -m vsent.local`).

What the stack holds survives a restart with the same state folder: moto's state (see
moto_state.py), the endpoint's pending invocations (its ledger), the demo user with their API
key and the pagination secret (local-user.json, local-secret), and the logs, which are appended.
"""

from __future__ import annotations

import logging
import os
import secrets
from datetime import date
from pathlib import Path
from typing import IO, Any

from vs_common.site import page_config
from vsent.local.api_gateway import gateway_server
from vsent.local.async_endpoint import AsyncEndpoint, Ledger
from vsent.local.default_model import is_demo_model
from vsent.local.event_source import QueueSource, SqsPoller
from vsent.local.functions import LocalFunction
from vsent.local.gateway_config import ApiConfig, Route
from vsent.local.http_util import BackgroundServer
from vsent.local.model_server import ModelServerProcess
from vsent.local.moto_fidelity import complete_s3_event_notifications, serve_usage_plan_usage
from vsent.local.moto_state import PersistentMotoServer
from vsent.local.resources import create_resources, usage_plan_key_lookup
from vsent.local.runtime_api import runtime_server
from vsent.local.sigv4 import SigV4Verifier
from vsent.local.template_reader import build_spec
from vsent.local.usage_plan import UsagePlan
from vsent.local.users import DemoUser, create_demo_user, save_demo_user, saved_demo_user
from vsent.local.web import SiteServer
from vsent.local_info import (
    LEDGER_FILE,
    LOCAL_CREDENTIALS,
    MODEL_SERVER_PID_FILE,
    StackInfo,
    local_session,
)

log = logging.getLogger(__name__)

USER_FILE = "local-user.json"
SECRET_FILE = "local-secret"


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
        web_port: int = 0,
    ) -> None:
        self.spec = build_spec(template, region=region)
        self._model = model
        self._state_dir = state_dir
        self._model_log = model_log
        self._api_port = api_port
        self._web_port = web_port
        self._moto: PersistentMotoServer | None = None
        self._model_server: ModelServerProcess | None = None
        self._endpoint: AsyncEndpoint | None = None
        self._servers: list[BackgroundServer] = []
        self._pollers: list[SqsPoller] = []

    def start(self) -> StackInfo:
        """Bring everything up; returns how to reach it."""
        complete_s3_event_notifications()
        api = self.spec.api
        usage_plan = UsagePlan(api.rate_limit, api.burst_limit, api.quota)
        serve_usage_plan_usage(
            lambda _plan, key, start, end: {
                key: usage_plan.usage(key, date.fromisoformat(start), date.fromisoformat(end))
            }
        )
        self._moto = PersistentMotoServer(self._state_dir)
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

        session = local_session(self.spec.region)

        def client(service: str) -> Any:
            return session.client(service, endpoint_url=moto_url)

        created = create_resources(self.spec, client)

        self._model_server = ModelServerProcess(
            self._model,
            {**os.environ, **aws_env, **self.spec.endpoint.container_environment},
            self._model_log,
            self._state_dir / MODEL_SERVER_PID_FILE,
        )
        model_url = self._model_server.start()
        self._endpoint = AsyncEndpoint(
            self.spec.endpoint,
            self.spec.region,
            client("s3"),
            client("sns"),
            model_url,
            Ledger(self._state_dir / LEDGER_FILE),
            self._model_server.wait_ready,
        )
        self._endpoint.start()
        runtime = runtime_server(self._endpoint, model_url)
        runtime.start()
        self._servers.append(runtime)
        # The page's server binds first: its origin is what the API answers in CORS.
        site = SiteServer(self._web_port)
        site.start()
        self._servers.append(site)

        environment = self.spec.functions_environment(created.physical_ids)
        os.environ.update(
            {
                **aws_env,
                **environment,
                "AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME": runtime.url,
                # No X-Ray daemon runs here.
                "POWERTOOLS_TRACE_DISABLED": "true",
                # What the template's generated secret holds on AWS: one per state folder.
                "PAGINATION_SECRET": self._secret(),
                "ALLOWED_ORIGIN": site.url,
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

        routes = [
            Route(route.path, route.method, route.api_key_required, function, route.authorizer)
            for function in functions.values()
            for route in function.spec.routes
        ]
        gateway = gateway_server(
            ApiConfig(
                routes=routes,
                stage=api.stage,
                api_id="local",
                region=self.spec.region,
                key_lookup=usage_plan_key_lookup(client("apigateway"), created.usage_plan_id),
                usage_plan=usage_plan,
                gateway_responses=api.gateway_responses,
                api_key_source=api.api_key_source,
                authorizers={name: functions[logical] for name, logical in api.authorizers.items()},
                sigv4=SigV4Verifier(
                    self.spec.region,
                    {
                        LOCAL_CREDENTIALS["AWS_ACCESS_KEY_ID"]: LOCAL_CREDENTIALS[
                            "AWS_SECRET_ACCESS_KEY"
                        ]
                    },
                ),
                cors_origin=site.url,
            ),
            self._api_port,
        )
        gateway.start()
        self._servers.append(gateway)
        api_url = f"{gateway.url}/{api.stage}"
        pool = self.spec.user_pools[0]
        pool_id = created.physical_ids[self.spec.names[pool.logical_id]]
        client_id = created.physical_ids[self.spec.names[pool.client_logical_id]]
        user = self._demo_user(client, pool_id, client_id, api_url)
        site.configure(
            page_config(
                api_url=api_url,
                region=self.spec.region,
                cognito_endpoint=f"{moto_url}/",
                user_pool_id=pool_id,
                client_id=client_id,
                max_video_bytes=int(environment["MAX_VIDEO_BYTES"]),
                max_video_seconds=int(environment["MAX_VIDEO_SECONDS"]),
                local=True,
            ),
            connect=[gateway.url, moto_url],
        )
        return StackInfo(
            api_url=api_url,
            web_url=f"{site.url}/",
            api_key=user.api_key,
            api_key_id=user.api_key_id,
            user_email=user.email,
            user_password=user.password,
            user_pool_id=pool_id,
            user_pool_client_id=client_id,
            cognito_endpoint_url=moto_url,
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

    def _secret(self) -> str:
        path = self._state_dir / SECRET_FILE
        if not path.is_file():
            path.touch(mode=0o600)
            path.write_text(secrets.token_urlsafe(48), encoding="utf-8")
        return path.read_text(encoding="utf-8").strip()

    def _demo_user(self, client: Any, pool_id: str, client_id: str, api_url: str) -> DemoUser:
        """The demo user of an earlier run of this state folder, or a new one."""
        path = self._state_dir / USER_FILE
        user = saved_demo_user(path, client("apigateway"))
        if user is None:
            user = create_demo_user(client("cognito-idp"), pool_id, client_id, api_url)
            save_demo_user(path, user)
        return user

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
