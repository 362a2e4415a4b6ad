"""A local REST API Gateway: the HTTP server that routes requests, authorizes them (see
gateway_authorization), applies API keys and the usage plan, and invokes the route's function
with the Lambda proxy event, answering with the gateway responses of gateway_config when the
service itself refuses.
"""

from __future__ import annotations

import base64
import logging
from typing import Any, ClassVar
from urllib.parse import unquote, urlsplit

from vsent.local.gateway_authorization import Refusal, authorize
from vsent.local.gateway_config import CORS_ALLOW_HEADERS, CORS_MAX_AGE_S, ApiConfig, Route
from vsent.local.http_util import BackgroundServer, QuietHandler
from vsent.local.proxy_event import GatewayRequest, proxy_event

log = logging.getLogger(__name__)


class _GatewayHandler(QuietHandler):
    config: ClassVar[ApiConfig]

    def do_GET(self) -> None:
        self._handle()

    def do_POST(self) -> None:
        self._handle()

    def do_PUT(self) -> None:
        self._handle()

    def do_PATCH(self) -> None:
        self._handle()

    def do_DELETE(self) -> None:
        self._handle()

    def do_OPTIONS(self) -> None:
        """A CORS preflight, answered by the gateway without the function or a key (as the
        MOCK integration that SAM's Api Cors creates does)."""
        self.read_body()
        url = urlsplit(self.path)
        stage_prefix = f"/{self.config.stage}"
        path = url.path[len(stage_prefix) :] or "/"
        methods = sorted(
            {route.method for route in self.config.routes if route.pattern.match(path)}
        )
        if not url.path.startswith(stage_prefix + "/") or not methods:
            self._refuse("MISSING_AUTHENTICATION_TOKEN")
            return
        headers = self.config.cors_headers(self.headers.get("Origin"))
        if headers:
            headers.update(
                {
                    "Access-Control-Allow-Methods": ",".join([*methods, "OPTIONS"]),
                    "Access-Control-Allow-Headers": CORS_ALLOW_HEADERS,
                    "Access-Control-Max-Age": str(CORS_MAX_AGE_S),
                }
            )
        self.send(200, b"", headers)

    def _handle(self) -> None:
        body = self.read_body()
        url = urlsplit(self.path)
        stage_prefix = f"/{self.config.stage}"
        path = url.path[len(stage_prefix) :] or "/"
        found = self._match(path) if url.path.startswith(stage_prefix + "/") else None
        if found is None:
            self._refuse("MISSING_AUTHENTICATION_TOKEN")
            return
        route, parameters = found
        headers = {name: value for name, value in self.headers.items()}
        request = GatewayRequest(
            method=self.command,
            url=f"http://{self.headers.get('Host', '')}{self.path}",
            path=path,
            query=url.query,
            headers=headers,
            body=body,
            source_ip=self.client_address[0],
        )
        try:
            granted = authorize(self.config, route, request, parameters)
        except Refusal as refusal:
            self._refuse(refusal.kind)
            return
        api_key = granted.api_key
        if self.config.api_key_source == "HEADER":
            api_key = next((v for k, v in headers.items() if k.lower() == "x-api-key"), None)
        api_key_id = self.config.key_lookup(api_key) if api_key else None
        if route.api_key_required and api_key_id is None:
            self._refuse("INVALID_API_KEY")
            return
        refusal = self.config.usage_plan.refusal(api_key_id or "anonymous")
        if refusal:
            self._refuse(refusal)
            return
        event = proxy_event(
            route,
            request,
            parameters,
            self.config.stage,
            self.config.api_id,
            api_key,
            api_key_id,
            authorizer=granted.authorizer,
            caller_identity=granted.identity,
        )
        try:
            response = route.function.invoke(event)
            status = int(response["statusCode"])
        except Exception:  # API Gateway hides what went wrong in the function
            log.exception("%s failed", route.function.spec.logical_id)
            self._refuse("DEFAULT_5XX")
            return
        self._respond(status, response)

    def _refuse(self, kind: str) -> None:
        status, body = self.config.gateway_response(kind)
        cors = self.config.cors_headers(self.headers.get("Origin"))
        self.send(status, body, {"Content-Type": "application/json", **cors})

    def _match(self, path: str) -> tuple[Route, dict[str, str]] | None:
        for route in self.config.routes:
            match = route.pattern.match(path)
            if match and route.method in (self.command, "ANY"):
                return route, {name: unquote(value) for name, value in match.groupdict().items()}
        return None

    def _respond(self, status: int, response: dict[str, Any]) -> None:
        headers: dict[str, str] = {}
        for name, values in (response.get("multiValueHeaders") or {}).items():
            headers[name] = ", ".join(str(value) for value in values)
        headers.update({k: str(v) for k, v in (response.get("headers") or {}).items()})
        raw = response.get("body") or ""
        body = base64.b64decode(raw) if response.get("isBase64Encoded") else raw.encode("utf-8")
        headers.pop("Content-Length", None)
        headers.setdefault("Content-Type", "application/json")
        self.send(status, body, headers)


def gateway_server(config: ApiConfig, port: int = 0) -> BackgroundServer:
    """The local API Gateway for `config`, not yet started."""
    handler = type("GatewayHandler", (_GatewayHandler,), {"config": config})
    return BackgroundServer(handler, port)
