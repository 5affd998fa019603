"""Fresh-token counters, in memory (same windows and conditions as DynamoDB)."""

from __future__ import annotations

from ..records import Quota, Usage, UsageCount
from ..usage_windows import daily_starts, day_start, hour_start, hourly_starts
from .state import MemoryTables


class MemoryUsageRepository(MemoryTables):
    def count_fresh_token(self, client_id: str, now: int, quota: Quota | None) -> UsageCount:
        with self._lock:
            counts = self.usage_counts.setdefault(client_id, {})
            hour_key, day_key = ("h", hour_start(now)), ("d", day_start(now))
            hour, day = counts.get(hour_key, 0), counts.get(day_key, 0)
            if quota is not None and quota.enforce and (
                (quota.per_hour is not None and hour >= quota.per_hour)
                or (quota.per_day is not None and day >= quota.per_day)
            ):
                return UsageCount(hour, day, allowed=False)
            counts[hour_key], counts[day_key] = hour + 1, day + 1
            return UsageCount(hour + 1, day + 1)

    def usage(self, client_id: str, now: int) -> Usage:
        with self._lock:
            counts = self.usage_counts.get(client_id, {})
            return Usage(
                hourly=tuple((h, counts.get(("h", h), 0)) for h in hourly_starts(now)),
                daily=tuple((d, counts.get(("d", d), 0)) for d in daily_starts(now)),
            )
