"""When to retry a request to the authorization server, and how long to wait first."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC
from email.utils import parsedate_to_datetime

_DELAY_SECONDS = re.compile(r"[0-9]+")

# RFC 9110 §10.2.3 allows Retry-After on 503 and §15.5 / RFC 6585 §4 on 429.
RETRY_AFTER_STATUSES = frozenset({429, 503})


@dataclass(frozen=True)
class RetryPolicy:
    """Bounded retries with capped exponential backoff and full jitter.

    `max_attempts` counts the first request. A `Retry-After` longer than
    `max_retry_after` is not waited for: the error is raised at once.
    """

    max_attempts: int = 4
    base_delay: float = 0.5
    max_delay: float = 8.0
    max_retry_after: float = 60.0

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        if self.base_delay < 0 or self.max_delay < 0 or self.max_retry_after < 0:
            raise ValueError("delays must not be negative")

    def backoff(self, retry: int, random: Callable[[], float]) -> float:
        """Delay before retry number `retry` (1-based): uniform in [0, min(cap, base·2^(n-1))]."""
        return random() * min(self.max_delay, self.base_delay * 2.0 ** (retry - 1))


def is_retryable_status(status: int) -> bool:
    """Server errors and throttling are worth retrying; other 4xx answers are final."""
    return status == 429 or 500 <= status <= 599


def parse_retry_after(value: str | None, now: float) -> float | None:
    """RFC 9110 §10.2.3: delay-seconds or an HTTP-date; None when absent or unparseable."""
    if value is None:
        return None
    value = value.strip()
    if _DELAY_SECONDS.fullmatch(value):
        return float(int(value))
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:  # "-0000" parses naive; an HTTP-date is always GMT
        when = when.replace(tzinfo=UTC)
    return max(0.0, when.timestamp() - now)
