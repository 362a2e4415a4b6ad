"""The local API Gateway's usage plan: per-key throttle and monthly quota, and GetUsage's counts."""

from __future__ import annotations

import threading
import time
from collections import defaultdict
from datetime import UTC, date, datetime


class UsagePlan:
    """Per-key throttle (steady rate and burst, a token bucket) and monthly request quota,
    with the daily counts API Gateway's GetUsage reports."""

    def __init__(self, rate: float | None, burst: int | None, quota: int | None) -> None:
        self._rate = rate
        self._burst = burst or 1
        self._quota = quota
        self._tokens: dict[str, float] = {}
        self._updated: dict[str, float] = {}
        self._daily: dict[str, dict[date, int]] = defaultdict(dict)
        self._lock = threading.Lock()

    def _used_this_month(self, key: str, today: date) -> int:
        return sum(
            count
            for day, count in self._daily[key].items()
            if (day.year, day.month) == (today.year, today.month)
        )

    def usage(self, key: str, start: date, end: date) -> list[list[int]]:
        """[used, remaining] for each day from start to end, as GetUsage lists them."""
        with self._lock:
            days = []
            for ordinal in range(start.toordinal(), end.toordinal() + 1):
                day = date.fromordinal(ordinal)
                used = self._daily[key].get(day, 0)
                left = -1 if self._quota is None else self._quota - self._used_this_month(key, day)
                days.append([used, max(left, 0) if left >= 0 else -1])
            return days

    def refusal(self, key: str) -> str | None:
        """The gateway response type refusing this request, or None to let it through."""
        now = time.monotonic()
        today = datetime.now(UTC).date()
        with self._lock:
            if self._quota is not None and self._used_this_month(key, today) >= self._quota:
                return "QUOTA_EXCEEDED"
            if self._rate is not None:
                elapsed = now - self._updated.get(key, now)
                tokens = min(self._burst, self._tokens.get(key, self._burst) + elapsed * self._rate)
                self._updated[key] = now
                if tokens < 1:
                    self._tokens[key] = tokens
                    return "THROTTLED"
                self._tokens[key] = tokens - 1
            self._daily[key][today] = self._daily[key].get(today, 0) + 1
            return None
