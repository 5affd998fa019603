"""UTC hour and day windows of the fresh-token counters, shared by both backends."""

from __future__ import annotations

import time

HOUR = 3600
DAY = 86400
HOURS_SHOWN = 48
DAYS_SHOWN = 30
KEEP_SECONDS = 35 * DAY
"""Counter items live (TTL) 35 days after their day starts: at least 30 days after it
ends, so the usage report's 30 days and 48 hours are always there."""


def hour_start(now: int) -> int:
    return now - now % HOUR


def day_start(now: int) -> int:
    return now - now % DAY


def day_label(start: int) -> str:
    return time.strftime("%Y-%m-%d", time.gmtime(start))


def hour_attribute(now: int) -> str:
    return f"h{time.gmtime(now).tm_hour:02d}"


def hourly_starts(now: int) -> list[int]:
    """The last 48 UTC hours, oldest first, the current one last."""
    current = hour_start(now)
    return [current - HOUR * i for i in range(HOURS_SHOWN - 1, -1, -1)]


def daily_starts(now: int) -> list[int]:
    """The last 30 UTC days, oldest first, today last."""
    today = day_start(now)
    return [today - DAY * i for i in range(DAYS_SHOWN - 1, -1, -1)]
