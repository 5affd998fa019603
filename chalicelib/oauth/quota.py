"""Per-app quotas on freshly signed tokens (issue 9 §2), and their state in the IETF
RateLimit header fields (draft-ietf-httpapi-ratelimit-headers-10 §§3–4):

    RateLimit-Policy: "hour";q=100;w=3600, "day";q=1000;w=86400
    RateLimit: "hour";r=42;t=1234, "day";r=958;t=56789

Windows are fixed UTC hours and days. Only fresh tokens are counted (every app's, so
usage can be seen before limits are set); reused tokens are free. Over an enforced
quota the request is refused with 429 ``too_many_requests``; in monitor mode
(``enforce: false``) it succeeds and the overrun is logged as a warning.
"""

from __future__ import annotations

import logging
import threading
from typing import NamedTuple

from ..errors import OAuthError
from ..store.records import Quota, UsageCount
from ..store.repository import UsageRepository
from ..store.usage_windows import DAY, HOUR, day_start, hour_start

log = logging.getLogger(__name__)


class QuotaExceeded(OAuthError):
    """The app used up its quota of fresh tokens for this window. RFC 6749 §5.2 has no
    code for it; ``too_many_requests`` names HTTP 429 (RFC 6585 §4), which is what
    retrying clients act on, together with ``Retry-After``."""

    error = "too_many_requests"
    status = 429

    def __init__(self, retry_after: int, rate_headers: dict[str, str]) -> None:
        super().__init__("The client's token quota is used up; retry after the window resets.")
        self.retry_after = retry_after
        self.rate_headers = rate_headers

    def headers(self) -> dict[str, str]:
        return {"Retry-After": str(self.retry_after), **self.rate_headers}


class _Seen(NamedTuple):
    """This container's last count of an app (a NamedTuple: built on every fresh token,
    cheaper than a frozen dataclass)."""

    hour_start: int
    hour: int
    day_start: int
    day: int


def rate_limit_headers(quota: Quota, counts: UsageCount, now: int) -> dict[str, str]:
    """``RateLimit-Policy`` and ``RateLimit`` for the app's limits (hour first)."""
    policies, states = [], []
    for name, limit, used, window, reset in (
        ("hour", quota.per_hour, counts.hour, HOUR, hour_start(now) + HOUR - now),
        ("day", quota.per_day, counts.day, DAY, day_start(now) + DAY - now),
    ):
        if limit is None:
            continue
        policies.append(f'"{name}";q={limit};w={window}')
        states.append(f'"{name}";r={max(limit - used, 0)};t={reset}')
    if not policies:
        return {}
    return {"RateLimit-Policy": ", ".join(policies), "RateLimit": ", ".join(states)}


class TokenQuotas:
    """Counts each fresh token and decides whether it may be signed."""

    def __init__(self, usage: UsageRepository) -> None:
        self._usage = usage
        self._seen: dict[str, _Seen] = {}
        self._lock = threading.Lock()

    def count_fresh(self, client_id: str, quota: Quota | None, now: int) -> dict[str, str]:
        """Count a token about to be signed; the RateLimit fields for its response.
        Raises :class:`QuotaExceeded` over an enforced quota."""
        enforced = quota is not None and quota.enforce
        try:
            counts = self._usage.count_fresh_token(client_id, now, quota)
        except Exception:
            if enforced:
                raise
            # counting without a limit to enforce is bookkeeping: never fail a token for it
            log.warning("could not count a fresh token client_id=%s", client_id)
            return {}
        self._remember(client_id, counts, now)
        if quota is None:
            return {}
        headers = rate_limit_headers(quota, counts, now)
        if not counts.allowed:
            log.info("token refused over quota client_id=%s hour=%d day=%d",
                     client_id, counts.hour, counts.day)
            raise QuotaExceeded(self._retry_after(quota, counts, now), headers)
        over = [
            f"{name}={used}/{limit}"
            for name, used, limit in (("hour", counts.hour, quota.per_hour),
                                      ("day", counts.day, quota.per_day))
            if limit is not None and used > limit
        ]
        if over:
            log.warning("token quota exceeded (monitor mode) client_id=%s %s",
                        client_id, " ".join(over))
        return headers

    def state_for_reused(self, client_id: str, quota: Quota | None, now: int) -> dict[str, str]:
        """The RateLimit fields of a reused token's response, from this container's last
        count (no extra read: a reused token costs one Query). Other containers' tokens
        since then are not seen, so ``r`` may overstate what is left."""
        if quota is None:
            return {}
        with self._lock:
            seen = self._seen.get(client_id)
        hour = seen.hour if seen and seen.hour_start == hour_start(now) else 0
        day = seen.day if seen and seen.day_start == day_start(now) else 0
        return rate_limit_headers(quota, UsageCount(hour, day), now)

    def _remember(self, client_id: str, counts: UsageCount, now: int) -> None:
        with self._lock:
            self._seen[client_id] = _Seen(hour_start(now), counts.hour,
                                          day_start(now), counts.day)
            if len(self._seen) > 10_000:  # bounded like the token cache
                self._seen.pop(next(iter(self._seen)))

    @staticmethod
    def _retry_after(quota: Quota, counts: UsageCount, now: int) -> int:
        """Seconds until every exhausted window has reset."""
        waits = [1]
        if quota.per_hour is not None and counts.hour >= quota.per_hour:
            waits.append(hour_start(now) + HOUR - now)
        if quota.per_day is not None and counts.day >= quota.per_day:
            waits.append(day_start(now) + DAY - now)
        return max(waits)
