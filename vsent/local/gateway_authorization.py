"""How the local API Gateway authorizes a request: AWS_IAM (SigV4) or a Lambda REQUEST
authorizer whose IAM policy must allow the method; a refusal is a gateway response type."""

from __future__ import annotations

import logging
import re
import time
from dataclasses import dataclass, replace
from typing import Any

from vsent.local.gateway_config import ApiConfig, Route
from vsent.local.proxy_event import GatewayRequest, proxy_event
from vsent.local.sigv4 import SignatureError
from vsent.local.spec import ACCOUNT_ID

log = logging.getLogger(__name__)


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


def authorize(
    config: ApiConfig, route: Route, request: GatewayRequest, parameters: dict[str, str]
) -> Authorization:
    """Run the route's authorization as API Gateway would; Refusal if it fails."""
    if route.authorizer is None:
        return Authorization()
    if route.authorizer == "AWS_IAM":
        if config.sigv4 is None:
            raise Refusal("MISSING_AUTHENTICATION_TOKEN")
        try:
            principal = config.sigv4.verify(
                request.method, request.url, request.headers, request.body
            )
        except SignatureError as exc:
            unsigned = str(exc) == "Missing Authentication Token"
            kind = "MISSING_AUTHENTICATION_TOKEN" if unsigned else "INVALID_SIGNATURE"
            raise Refusal(kind) from exc
        return Authorization(identity=principal.identity())
    function = (config.authorizers or {}).get(route.authorizer)
    if function is None:
        raise Refusal("AUTHORIZER_FAILURE")
    method_arn = (
        f"arn:aws:execute-api:{config.region}:{ACCOUNT_ID}:{config.api_id}/"
        f"{config.stage}/{request.method}{request.path}"
    )
    event = proxy_event(
        route, replace(request, body=b""), parameters, config.stage, config.api_id, None, None
    )
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
