"""Where moto's behaviour differs from AWS in a way the real handlers notice, the local stack
makes it match AWS. Only the local stack calls this; the cloud path never imports it."""

from __future__ import annotations

import itertools
import json
import secrets
import threading
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs, urlsplit

from moto.apigateway import urls
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


UsageOf = Callable[[str, str, str, str], dict[str, list[list[int]]]]


def serve_usage_plan_usage(usage: UsageOf) -> None:
    """Answer API Gateway's GetUsage (which moto lacks) from `usage(plan, key, start, end)`.

    The local gateway meters the usage plan, so it is what knows the counts; call this before
    moto serves its first API Gateway request.
    """

    def get_usage(request: Any, full_url: str, headers: Any) -> tuple[int, dict[str, str], str]:
        parts = urlsplit(full_url)
        plan_id = parts.path.rstrip("/").split("/")[-2]
        query = {name: values[-1] for name, values in parse_qs(parts.query).items()}
        items = usage(plan_id, query.get("keyId", ""), query["startDate"], query["endDate"])
        body = {"usagePlanId": plan_id, "startDate": query["startDate"],
                "endDate": query["endDate"], "values": items}  # fmt: skip
        return 200, {"Content-Type": "application/json"}, json.dumps(body)

    urls.url_paths["{0}/usageplans/(?P<usage_plan_id>[^/]+)/usage$"] = get_usage
