"""A local REST API Gateway: routes, Lambda REQUEST authorizers, AWS_IAM (SigV4) routes, API
keys, usage-plan limits and the Lambda proxy event.

Where the service itself answers (no such route, unauthorized, a missing or unknown key,
throttled, quota used up, the function failed) it uses the template's GatewayResponses, falling
back to API Gateway's defaults such as 403 {"message": "Forbidden"}.
"""

from __future__ import annotations

import base64
import json
import logging
import re
import threading
import time
import uuid
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from functools import cached_property
from typing import Any, ClassVar
from urllib.parse import parse_qs, unquote, urlsplit

from vsent.local.functions import LocalFunction
from vsent.local.http_util import BackgroundServer, QuietHandler
from vsent.local.sigv4 import SignatureError, SigV4Verifier
from vsent.local.spec import ACCOUNT_ID, GatewayResponseSpec

log = logging.getLogger(__name__)

_TEXT_TYPES = ("application/json", "text/", "application/x-www-form-urlencoded")
_DEFAULT_TEMPLATE = '{"message":$context.error.messageString}'
# API Gateway's own status and message per response type.
_DEFAULT_RESPONSES = {
    "MISSING_AUTHENTICATION_TOKEN": (403, "Missing Authentication Token"),
    "INVALID_SIGNATURE": (403, "Forbidden"),
    "UNAUTHORIZED": (401, "Unauthorized"),
    "ACCESS_DENIED": (403, "User is not authorized to access this resource"),
    "AUTHORIZER_FAILURE": (500, "Internal server error"),
    "INVALID_API_KEY": (403, "Forbidden"),
    "THROTTLED": (429, "Too Many Requests"),
    "QUOTA_EXCEEDED": (429, "Limit Exceeded"),
    "DEFAULT_5XX": (502, "Internal server error"),
}


@dataclass(frozen=True)
class Route:
    """A resource path and method bound to a function."""

    resource: str
    method: str
    api_key_required: bool
    function: LocalFunction
    # "AWS_IAM", a Lambda authorizer's name, or None.
    authorizer: str | None = None

    @cached_property
    def pattern(self) -> re.Pattern[str]:
        """The regular expression matching concrete paths of this resource."""
        parts = []
        for segment in self.resource.strip("/").split("/"):
            if segment.startswith("{") and segment.endswith("+}"):
                parts.append(f"(?P<{segment[1:-2]}>.+)")
            elif segment.startswith("{") and segment.endswith("}"):
                parts.append(f"(?P<{segment[1:-1]}>[^/]+)")
            else:
                parts.append(re.escape(segment))
        return re.compile("^/" + "/".join(parts) + "$")


class UsagePlan:
    """Per-key throttle (steady rate and burst, a token bucket) and monthly request quota,
    with the daily counts API Gateway's GetUsage reports."""

    def __init__(self, rate: float | None, burst: int | None, quota: int | None) -> None:
        self._rate = rate
        self._burst = burst or 1
        self._quota = quota
        self._tokens: dict[str, float] = {}
        self._updated: dict[str, float] = {}
        self._daily: dict[str, dict[date, int]] = defaultdict(dict)
        self._lock = threading.Lock()

    def _used_this_month(self, key: str, today: date) -> int:
        return sum(
            count
            for day, count in self._daily[key].items()
            if (day.year, day.month) == (today.year, today.month)
        )

    def usage(self, key: str, start: date, end: date) -> list[list[int]]:
        """[used, remaining] for each day from start to end, as GetUsage lists them."""
        with self._lock:
            days = []
            for ordinal in range(start.toordinal(), end.toordinal() + 1):
                day = date.fromordinal(ordinal)
                used = self._daily[key].get(day, 0)
                left = -1 if self._quota is None else self._quota - self._used_this_month(key, day)
                days.append([used, max(left, 0) if left >= 0 else -1])
            return days

    def refusal(self, key: str) -> str | None:
        """The gateway response type refusing this request, or None to let it through."""
        now = time.monotonic()
        today = datetime.now(UTC).date()
        with self._lock:
            if self._quota is not None and self._used_this_month(key, today) >= self._quota:
                return "QUOTA_EXCEEDED"
            if self._rate is not None:
                elapsed = now - self._updated.get(key, now)
                tokens = min(self._burst, self._tokens.get(key, self._burst) + elapsed * self._rate)
                self._updated[key] = now
                if tokens < 1:
                    self._tokens[key] = tokens
                    return "THROTTLED"
                self._tokens[key] = tokens - 1
            self._daily[key][today] = self._daily[key].get(today, 0) + 1
            return None


# What the template's Api Cors allows a browser to send (SAM answers the preflight with these).
CORS_ALLOW_HEADERS = "Authorization,Content-Type,X-Amz-Date,X-Api-Key,X-Amz-Security-Token"
CORS_MAX_AGE_S = 600


@dataclass
class ApiConfig:
    """What the gateway needs: routes, stage, key lookup, usage plan, gateway responses, and
    the web page's origin, which preflights and the gateway's own refusals answer in CORS."""

    routes: list[Route]
    stage: str
    api_id: str
    region: str
    key_lookup: Callable[[str], str | None]
    usage_plan: UsagePlan
    gateway_responses: dict[str, GatewayResponseSpec]
    # HEADER: the key comes from x-api-key; AUTHORIZER: from the authorizer's usageIdentifierKey.
    api_key_source: str = "HEADER"
    authorizers: dict[str, LocalFunction] | None = None
    sigv4: SigV4Verifier | None = None
    cors_origin: str | None = None

    def cors_headers(self, origin: str | None) -> dict[str, str]:
        """Access-Control-Allow-Origin for a request from the page's origin, else nothing."""
        if self.cors_origin and origin == self.cors_origin:
            return {"Access-Control-Allow-Origin": origin, "Vary": "Origin"}
        return {}

    def gateway_response(self, kind: str) -> tuple[int, bytes]:
        """Status and body of API Gateway's own response of this type."""
        status, message = _DEFAULT_RESPONSES[kind]
        family = "DEFAULT_5XX" if status >= 500 else "DEFAULT_4XX"
        custom = self.gateway_responses.get(kind)
        fallback = self.gateway_responses.get(family)
        template = (custom and custom.template) or (fallback and fallback.template)
        status = (custom and custom.status) or status
        body = (template or _DEFAULT_TEMPLATE).replace(
            "$context.error.messageString", json.dumps(message)
        )
        return status, body.replace("$context.error.message", message).encode()


class Refusal(Exception):
    """API Gateway answers the request itself, with the gateway response of this type."""

    def __init__(self, kind: str) -> None:
        super().__init__(kind)
        self.kind = kind


@dataclass(frozen=True)
class Authorization:
    """What authorizing a request established: the caller and the usage plan key."""

    api_key: str | None = None
    authorizer: dict[str, Any] | None = None
    identity: dict[str, str] | None = None


def _policy_allows(policy: dict[str, Any], method_arn: str) -> bool:
    """Whether an IAM policy document allows execute-api:Invoke on `method_arn` (Deny wins)."""
    allowed = False
    statements = policy.get("Statement", [])
    for statement in statements if isinstance(statements, list) else [statements]:
        actions = statement.get("Action", [])
        resources = statement.get("Resource", [])
        actions = actions if isinstance(actions, list) else [actions]
        resources = resources if isinstance(resources, list) else [resources]
        if not any(_wildcard(action).match("execute-api:Invoke") for action in actions):
            continue
        if any(_wildcard(resource).match(method_arn) for resource in resources):
            if statement.get("Effect") == "Deny":
                return False
            allowed = allowed or statement.get("Effect") == "Allow"
    return allowed


def _wildcard(pattern: str) -> re.Pattern[str]:
    """IAM's wildcards: `*` any run of characters, `?` one character."""
    parts = (".*" if ch == "*" else "." if ch == "?" else re.escape(ch) for ch in pattern)
    return re.compile("^" + "".join(parts) + "$")


def _is_text(content_type: str) -> bool:
    return any(content_type.startswith(prefix) for prefix in _TEXT_TYPES)


def proxy_event(
    route: Route,
    path: str,
    path_parameters: dict[str, str],
    method: str,
    query: str,
    headers: dict[str, str],
    body: bytes,
    stage: str,
    api_id: str,
    api_key: str | None,
    api_key_id: str | None,
    source_ip: str,
    authorizer: dict[str, Any] | None = None,
    caller_identity: dict[str, str] | None = None,
) -> dict[str, Any]:
    """The REST API Lambda proxy integration event (payload format 1.0)."""
    multi_query = parse_qs(query, keep_blank_values=True)
    text = _is_text(headers.get("Content-Type", headers.get("content-type", "")))
    now = datetime.now(UTC)
    return {
        "resource": route.resource,
        "path": path,
        "httpMethod": method,
        "headers": headers or None,
        "multiValueHeaders": {name: [value] for name, value in headers.items()} or None,
        "queryStringParameters": {k: v[-1] for k, v in multi_query.items()} or None,
        "multiValueQueryStringParameters": multi_query or None,
        "pathParameters": path_parameters or None,
        "stageVariables": None,
        "requestContext": {
            "resourceId": uuid.uuid4().hex[:6],
            "resourcePath": route.resource,
            "httpMethod": method,
            "extendedRequestId": uuid.uuid4().hex,
            "requestTime": now.strftime("%d/%b/%Y:%H:%M:%S +0000"),
            "path": f"/{stage}{path}",
            "accountId": ACCOUNT_ID,
            "protocol": "HTTP/1.1",
            "stage": stage,
            "domainPrefix": api_id,
            "requestTimeEpoch": int(now.timestamp() * 1000),
            "requestId": str(uuid.uuid4()),
            "identity": {
                "apiKey": api_key,
                "apiKeyId": api_key_id,
                "sourceIp": source_ip,
                "userAgent": headers.get("User-Agent", headers.get("user-agent")),
                **(caller_identity or {}),
            },
            "domainName": "127.0.0.1",
            "apiId": api_id,
            **({"authorizer": authorizer} if authorizer is not None else {}),
        },
        "body": (body.decode("utf-8") if text else base64.b64encode(body).decode())
        if body
        else None,
        "isBase64Encoded": bool(body) and not text,
    }


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
        try:
            granted = self._authorize(route, path, parameters, url.query, headers, body)
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
            route, path, parameters, self.command, url.query, headers, body,
            self.config.stage, self.config.api_id, api_key, api_key_id, self.client_address[0],
            granted.authorizer, granted.identity,
        )  # fmt: skip
        try:
            response = route.function.invoke(event)
            status = int(response["statusCode"])
        except Exception:  # API Gateway hides what went wrong in the function
            log.exception("%s failed", route.function.spec.logical_id)
            self._refuse("DEFAULT_5XX")
            return
        self._respond(status, response)

    def _authorize(
        self,
        route: Route,
        path: str,
        parameters: dict[str, str],
        query: str,
        headers: dict[str, str],
        body: bytes,
    ) -> Authorization:
        """Run the route's authorization as API Gateway would; Refusal if it fails."""
        if route.authorizer is None:
            return Authorization()
        if route.authorizer == "AWS_IAM":
            if self.config.sigv4 is None:
                raise Refusal("MISSING_AUTHENTICATION_TOKEN")
            url = f"http://{self.headers.get('Host', '')}{self.path}"
            try:
                principal = self.config.sigv4.verify(self.command, url, headers, body)
            except SignatureError as exc:
                unsigned = str(exc) == "Missing Authentication Token"
                kind = "MISSING_AUTHENTICATION_TOKEN" if unsigned else "INVALID_SIGNATURE"
                raise Refusal(kind) from exc
            return Authorization(identity=principal.identity())
        function = (self.config.authorizers or {}).get(route.authorizer)
        if function is None:
            raise Refusal("AUTHORIZER_FAILURE")
        method_arn = (
            f"arn:aws:execute-api:{self.config.region}:{ACCOUNT_ID}:{self.config.api_id}/"
            f"{self.config.stage}/{self.command}{path}"
        )
        event = proxy_event(
            route, path, parameters, self.command, query, headers, b"",
            self.config.stage, self.config.api_id, None, None, self.client_address[0],
        )  # fmt: skip
        for field in ("body", "isBase64Encoded"):
            event.pop(field)
        event.update(type="REQUEST", methodArn=method_arn)
        started = time.monotonic()
        try:
            answer = function.invoke(event)
        except Exception as exc:
            if str(exc) == "Unauthorized":
                raise Refusal("UNAUTHORIZED") from exc
            log.exception("authorizer %s failed", route.authorizer)
            raise Refusal("AUTHORIZER_FAILURE") from exc
        if not isinstance(answer, dict) or "principalId" not in answer:
            raise Refusal("AUTHORIZER_FAILURE")
        if not _policy_allows(answer.get("policyDocument") or {}, method_arn):
            raise Refusal("ACCESS_DENIED")
        context = {
            **(answer.get("context") or {}),
            "principalId": answer["principalId"],
            "integrationLatency": int((time.monotonic() - started) * 1000),
        }
        return Authorization(api_key=answer.get("usageIdentifierKey"), authorizer=context)

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
