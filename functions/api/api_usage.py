"""GET /usage: the usage plan's limits and this month's requests per key of a user."""

from datetime import date
from typing import Any

from vs_common.apikeys import KeyStore, UsagePlanKeys


def usage_report(
    keys: KeyStore, plan_keys: UsagePlanKeys, owner: str, today: date
) -> dict[str, Any]:
    """The plan's throttle and quota, and the owner's requests from the 1st of the month to
    `today`: per API key, and on their token meter (requests signed in with a token)."""
    plan = plan_keys.plan
    start = today.replace(day=1)
    records = keys.list(owner)
    meter = keys.meter_key_id(owner)
    ids = [record.key_id for record in records] + ([meter] if meter else [])
    used = plan_keys.usage(ids, start, today)
    quota = plan.get("quota") or {}
    limit = quota.get("limit")

    def entry(key_id: str, name: str) -> dict[str, Any]:
        remaining = None if limit is None else max(0, int(limit) - used[key_id])
        return {"key_id": key_id, "name": name, "used": used[key_id], "remaining": remaining}

    return {
        "throttle": {
            "rate_limit": (plan.get("throttle") or {}).get("rateLimit"),
            "burst_limit": (plan.get("throttle") or {}).get("burstLimit"),
        },
        "quota": {"limit": limit, "period": quota.get("period")},
        "period": {"start": start.isoformat(), "end": today.isoformat()},
        "keys": [entry(record.key_id, record.name) for record in records],
        "token_requests": entry(meter, "token requests") if meter else None,
    }
