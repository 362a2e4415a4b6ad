"""The local gateway's usage plan: per-key token-bucket throttling and a monthly quota, with the
template's limits."""

from __future__ import annotations

from datetime import UTC, datetime
from types import SimpleNamespace

import pytest
from support import SPEC

from vsent.local import usage_plan
from vsent.local.usage_plan import UsagePlan


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> SimpleNamespace:
    """The gateway's monotonic clock, moved by hand."""
    now = SimpleNamespace(t=100.0)
    monkeypatch.setattr(usage_plan, "time", SimpleNamespace(monotonic=lambda: now.t))
    return now


def test_the_plan_has_the_templates_limits() -> None:
    assert (SPEC.api.rate_limit, SPEC.api.burst_limit, SPEC.api.quota) == (10.0, 20, 10000)
    assert SPEC.api.quota_period == "MONTH"


def test_a_burst_passes_then_the_steady_rate(clock: SimpleNamespace) -> None:
    plan = UsagePlan(rate=2, burst=3, quota=None)

    assert [plan.refusal("a") for _ in range(4)] == [None, None, None, "THROTTLED"]
    assert plan.refusal("b") is None  # every key has a bucket of its own
    clock.t += 0.5  # one token at 2 per second
    assert [plan.refusal("a") for _ in range(2)] == [None, "THROTTLED"]
    clock.t += 10  # refills up to the burst, no further
    assert [plan.refusal("a") for _ in range(4)] == [None, None, None, "THROTTLED"]


def test_the_monthly_quota_and_the_usage_it_reports(clock: SimpleNamespace) -> None:
    plan = UsagePlan(rate=None, burst=None, quota=2)

    assert [plan.refusal("a") for _ in range(3)] == [None, None, "QUOTA_EXCEEDED"]
    assert plan.refusal("b") is None
    today = datetime.now(UTC).date()
    assert plan.usage("a", today, today) == [[2, 0]]
    assert plan.usage("b", today, today) == [[1, 1]]


def test_without_a_quota_the_remainder_is_unknown(clock: SimpleNamespace) -> None:
    plan = UsagePlan(rate=None, burst=None, quota=None)
    assert plan.refusal("a") is None
    today = datetime.now(UTC).date()
    assert plan.usage("a", today, today) == [[1, -1]]
