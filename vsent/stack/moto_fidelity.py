"""Where moto's behaviour differs from AWS in a way the real handlers notice, the local stack
makes it match AWS. Only the local stack calls this; the cloud path never imports it."""

from __future__ import annotations

import itertools
import secrets
import threading
from collections.abc import Callable
from typing import Any

from moto.s3 import notifications

_sequence = itertools.count(1)
_lock = threading.Lock()


def _complete(event: dict[str, Any], key: Any) -> dict[str, Any]:
    """Add the fields AWS always sends and moto leaves out (the Powertools S3 model needs them)."""
    with _lock:
        sequencer = f"{next(_sequence):016X}"
    for record in event["Records"]:
        record.setdefault("userIdentity", {"principalId": "AWS:AIDALOCALSTACKUSER"})
        record.setdefault("requestParameters", {"sourceIPAddress": "127.0.0.1"})
        record.setdefault(
            "responseElements",
            {"x-amz-request-id": secrets.token_hex(8).upper(), "x-amz-id-2": secrets.token_hex(32)},
        )
        s3 = record["s3"]
        s3["bucket"].setdefault("ownerIdentity", {"principalId": "LOCALSTACKOWNER"})
        version = getattr(key, "version_id", None)
        if version and version != "null":
            s3["object"].setdefault("versionId", version)
        s3["object"].setdefault("sequencer", sequencer)
    return event


def complete_s3_event_notifications() -> None:
    """Make moto's S3 event notifications carry every field of AWS's (idempotent)."""
    original: Callable[..., dict[str, Any]] = notifications._get_s3_event
    if getattr(original, "completed_by_vsent", False):
        return

    def get_s3_event(event_name: str, bucket: Any, key: Any, notification_id: str) -> Any:
        return _complete(original(event_name, bucket, key, notification_id), key)

    get_s3_event.completed_by_vsent = True  # type: ignore[attr-defined]
    notifications._get_s3_event = get_s3_event
