"""The local API Gateway's configuration: routes, stage, keys, usage plan, authorizers, CORS, and
the gateway responses it answers with when the service itself refuses a request.

Where the service itself answers (no such route, unauthorized, a missing or unknown key,
throttled, quota used up, the function failed) it uses the template's GatewayResponses, falling
back to API Gateway's defaults such as 403 {"message": "Forbidden"}.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property

from vsent.local.functions import LocalFunction
from vsent.local.sigv4 import SigV4Verifier
from vsent.local.spec import GatewayResponseSpec
from vsent.local.usage_plan import UsagePlan

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
