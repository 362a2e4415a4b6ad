"""The request as the local API Gateway received it, and the Lambda proxy event made of it."""

from __future__ import annotations

import base64
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs

from vsent.local.gateway_config import Route
from vsent.local.spec import ACCOUNT_ID

_TEXT_TYPES = ("application/json", "text/", "application/x-www-form-urlencoded")


@dataclass(frozen=True)
class GatewayRequest:
    """One request to a route: its path is below the stage, `url` what the client asked for."""

    method: str
    url: str
    path: str
    query: str
    headers: dict[str, str]
    body: bytes
    source_ip: str


def _is_text(content_type: str) -> bool:
    return any(content_type.startswith(prefix) for prefix in _TEXT_TYPES)


def proxy_event(
    route: Route,
    request: GatewayRequest,
    path_parameters: dict[str, str],
    stage: str,
    api_id: str,
    api_key: str | None,
    api_key_id: str | None,
    authorizer: dict[str, Any] | None = None,
    caller_identity: dict[str, str] | None = None,
) -> dict[str, Any]:
    """The REST API Lambda proxy integration event (payload format 1.0)."""
    path, method, headers, body = request.path, request.method, request.headers, request.body
    multi_query = parse_qs(request.query, keep_blank_values=True)
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
                "sourceIp": request.source_ip,
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
