"""Opaque pagination tokens over DynamoDB's LastEvaluatedKey of the owner index."""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any

# The attributes of a LastEvaluatedKey of the owner-created-index: table key plus index key.
_TOKEN_FIELDS = frozenset({"job_id", "owner", "created_at"})


class InvalidToken(ValueError):
    """A next_token this API did not hand to this caller."""

    def __init__(self) -> None:
        super().__init__("next_token is not one this API returned")


def encode_token(last_key: dict[str, Any]) -> str:
    """An opaque pagination token for DynamoDB's LastEvaluatedKey."""
    raw = json.dumps(last_key, separators=(",", ":"), sort_keys=True).encode("utf-8")
    return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


def decode_token(token: str, owner: str) -> dict[str, Any]:
    """The LastEvaluatedKey inside a token `owner` received; InvalidToken otherwise."""
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        key = json.loads(raw)
    except (binascii.Error, ValueError) as exc:
        raise InvalidToken from exc
    if (
        not isinstance(key, dict)
        or set(key) != _TOKEN_FIELDS
        or not all(isinstance(v, str) for v in key.values())
        or key["owner"] != owner
    ):
        raise InvalidToken
    return key
