"""Opaque, signed pagination tokens over DynamoDB's LastEvaluatedKey of the owner index.

A token is `payload.signature`: the key as URL-safe base64 JSON, and an HMAC-SHA256 of that text
under a secret only the API holds. A token the API did not make, or made for another caller, is
refused before anything reaches DynamoDB; so is one whose fields do not have the shapes this
API writes.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import re
from typing import Any

from vs_common.keys import is_job_id

# The attributes of a LastEvaluatedKey of the owner-created-index: table key plus index key.
_TOKEN_FIELDS = frozenset({"job_id", "owner", "created_at"})
# utc_now()'s fixed-width format.
_CREATED_AT = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$")
_MAX_OWNER_CHARS = 256
# Shorter secrets make forgery a matter of guessing; the template generates 64 characters.
MIN_SECRET_BYTES = 32


class InvalidToken(ValueError):
    """A next_token this API did not hand to this caller."""

    def __init__(self) -> None:
        super().__init__("next_token is not one this API returned")


def _b64encode(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


def _b64decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class TokenSigner:
    """Makes and checks pagination tokens with one secret."""

    def __init__(self, secret: str | bytes) -> None:
        key = secret.encode("utf-8") if isinstance(secret, str) else secret
        if len(key) < MIN_SECRET_BYTES:
            raise ValueError(f"the pagination secret must be at least {MIN_SECRET_BYTES} bytes")
        self._key = key

    def _signature(self, payload: str) -> str:
        digest = hmac.new(self._key, payload.encode("ascii"), hashlib.sha256).digest()
        return _b64encode(digest)

    def encode(self, last_key: dict[str, Any]) -> str:
        """An opaque pagination token for DynamoDB's LastEvaluatedKey."""
        raw = json.dumps(last_key, separators=(",", ":"), sort_keys=True).encode("utf-8")
        payload = _b64encode(raw)
        return f"{payload}.{self._signature(payload)}"

    def decode(self, token: str, owner: str) -> dict[str, Any]:
        """The LastEvaluatedKey inside a token `owner` received; InvalidToken otherwise."""
        payload, dot, signature = token.partition(".")
        if not dot or not payload or not signature.isascii() or not payload.isascii():
            raise InvalidToken
        if not hmac.compare_digest(signature, self._signature(payload)):
            raise InvalidToken
        try:
            key = json.loads(_b64decode(payload))
        except (binascii.Error, ValueError) as exc:
            raise InvalidToken from exc
        if not _well_formed(key) or key["owner"] != owner:
            raise InvalidToken
        return key


def _well_formed(key: Any) -> bool:
    """Whether `key` has exactly the fields of an owner-index key, each in the shape we write."""
    return (
        isinstance(key, dict)
        and set(key) == _TOKEN_FIELDS
        and all(isinstance(v, str) for v in key.values())
        and is_job_id(key["job_id"])
        and bool(_CREATED_AT.match(key["created_at"]))
        and 0 < len(key["owner"]) <= _MAX_OWNER_CHARS
    )
