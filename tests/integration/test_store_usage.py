"""Store contract: fresh-token counters (memory and DynamoDB, see conftest)."""

from __future__ import annotations

from chalicelib.store.records import Quota, UsageCount
from chalicelib.store.repository import Store
from tests.integration.store_records import NOW

HOUR, DAY = 3600, 86400
START = NOW - NOW % DAY  # midnight UTC


def test_counts_hour_and_day_unconditionally_without_an_enforced_quota(store: Store) -> None:
    assert store.count_fresh_token("c", START, None) == UsageCount(1, 1)
    assert store.count_fresh_token("c", START + 10, Quota(per_hour=1, enforce=False)) == \
        UsageCount(2, 2)
    assert store.count_fresh_token("c", START + HOUR, None) == UsageCount(1, 3)
    assert store.count_fresh_token("other", START, None) == UsageCount(1, 1)


def test_an_enforced_quota_refuses_without_counting_and_reports_the_counts(
    store: Store,
) -> None:
    quota = Quota(per_hour=2, per_day=3)
    assert store.count_fresh_token("c", START, quota).allowed
    assert store.count_fresh_token("c", START, quota).allowed
    assert store.count_fresh_token("c", START, quota) == UsageCount(2, 2, allowed=False)
    # the next hour has room, until the day is used up
    assert store.count_fresh_token("c", START + HOUR, quota) == UsageCount(1, 3)
    assert store.count_fresh_token("c", START + HOUR, quota) == UsageCount(1, 3, allowed=False)
    # a new day starts from zero
    assert store.count_fresh_token("c", START + DAY, quota) == UsageCount(1, 1)


def test_usage_reports_the_last_48_hours_and_30_days_oldest_first(store: Store) -> None:
    store.count_fresh_token("c", START - 47 * HOUR, None)
    store.count_fresh_token("c", START - 48 * HOUR, None)  # outside the hourly view
    store.count_fresh_token("c", START - 29 * DAY, None)
    store.count_fresh_token("c", START - 30 * DAY, None)  # outside the daily view
    store.count_fresh_token("c", START + 5, None)
    store.count_fresh_token("c", START + 6, None)

    usage = store.usage("c", START + 59)

    assert len(usage.hourly) == 48 and len(usage.daily) == 30
    assert usage.hourly[0] == (START - 47 * HOUR, 1)
    assert usage.hourly[-1] == (START, 2)
    assert sum(n for _, n in usage.hourly) == 3
    assert usage.daily[0] == (START - 29 * DAY, 1)
    assert usage.daily[-1] == (START, 2)
    assert sum(n for _, n in usage.daily) == 5
    assert store.usage("nobody", START).daily[-1] == (START, 0)
