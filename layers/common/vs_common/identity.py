"""Who calls the API: a signed-in user (Cognito token), one of a user's API keys, or the operator.

The tenant is always a user's Cognito subject: a request with an API key acts for the user who
owns the key, never for the key itself, so revoking a key loses no jobs. The authorizer
establishes the caller and hands it to the api function in its context; direct uploads (owner
`direct`) are reachable only on the operator routes, which API Gateway guards with AWS_IAM.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

# Prefix of the owner a local-only, unverified API key stands for (never a Cognito subject).
LOCAL_OWNER_PREFIX = "local:"


class AuthMethod(StrEnum):
    """How the caller proved who they are."""

    TOKEN = "token"  # a Cognito ID or access token (a browser, `vsent login`)
    KEY = "key"  # an API key a user created (scripts)
    OPERATOR = "operator"  # a SigV4-signed request of the stack's own account (AWS_IAM routes)
    LOCAL = "local"  # an unverified key under `sam local`, only with the explicit local flag


@dataclass(frozen=True)
class Caller:
    """The identity a request acts for."""

    owner: str
    method: AuthMethod
    key_id: str = ""

    def context(self) -> dict[str, str]:
        """The authorizer context API Gateway passes on to the api function (strings only)."""
        return {"owner": self.owner, "auth": self.method.value, "key_id": self.key_id}

    @classmethod
    def from_context(cls, context: Mapping[str, Any] | None) -> Caller | None:
        """The caller an authorizer put in `requestContext.authorizer`, if any."""
        if not context:
            return None
        owner, method = context.get("owner"), context.get("auth")
        if not isinstance(owner, str) or not owner or method not in AuthMethod.__members__.values():
            return None
        return cls(owner, AuthMethod(method), str(context.get("key_id") or ""))


def hash_key(value: str) -> str:
    """The SHA-256 of an API key value: all that is ever stored or logged of a key."""
    return hashlib.sha256(value.encode("utf-8")).hexdigest()


def local_owner(value: str) -> str:
    """The owner an unverified local key stands for: its hash, never the key itself."""
    return LOCAL_OWNER_PREFIX + hash_key(value)


def header(headers: Mapping[str, str] | None, name: str) -> str | None:
    """A request header by name, case-insensitively (API Gateway keeps the client's case)."""
    wanted = name.lower()
    for key, value in (headers or {}).items():
        if key.lower() == wanted:
            return value
    return None


def bearer_token(headers: Mapping[str, str] | None) -> str | None:
    """The token of an `Authorization: Bearer <token>` header, if there is one."""
    value = header(headers, "authorization")
    if value is None:
        return None
    scheme, _, token = value.strip().partition(" ")
    return token.strip() or None if scheme.lower() == "bearer" else None
