"""Issuers' signing keys, fetched only from admin-registered issuers and cached per
container (docs/federation.md).

- The JWKS URL is the one registered with the issuer, or the ``jwks_uri`` of
  ``{issuer}/.well-known/openid-configuration`` (OpenID Connect Discovery 1.0 §4),
  whose ``issuer`` must be the registered one. Never a URL a client supplies.
- Every fetch goes through :class:`~.safe_http.SafeFetcher` (https, public addresses,
  time and size limits, no redirects to other hosts).
- A key set is kept for the response's ``Cache-Control: max-age`` (or a SPIFFE
  bundle's ``spiffe_refresh_hint``) clamped to [5 min, 24 h], 1 h if neither.
- An unknown ``kid`` refetches at most once per ``REFRESH_INTERVAL`` per issuer, so a
  client sending made-up kids cannot make us hammer the issuer.
- When a refresh fails, the last good set stays in use.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from ..store.records import TrustedIssuer
from .safe_http import FetchFailed, FetchRefused, SafeFetcher, check_url

log = logging.getLogger(__name__)

MIN_TTL = 300
MAX_TTL = 86400
DEFAULT_TTL = 3600
REFRESH_INTERVAL = 30
MAX_KEYS = 50
SIGNING_USES = (None, "sig", "jwt-svid")
"""``jwt-svid``: how SPIFFE bundles mark JWT-SVID keys (SPIFFE Trust Domain and Bundle §4.2)."""

_MAX_AGE = re.compile(r"(?:^|,)\s*max-age\s*=\s*\"?(\d{1,10})\"?\s*(?:,|$)", re.IGNORECASE)


class KeysUnavailable(Exception):
    """No key set could be fetched for the issuer and none was fetched before."""


def discovery_url(issuer: str) -> str:
    return issuer.rstrip("/") + "/.well-known/openid-configuration"


def cache_seconds(headers: Mapping[str, str], document: Mapping[str, Any]) -> int:
    """How long to keep a key set: ``max-age`` (``no-store``/``no-cache``: the floor)."""
    control = headers.get("cache-control", "")
    ttl = DEFAULT_TTL
    if any(word in control.lower() for word in ("no-store", "no-cache")):
        ttl = MIN_TTL
    elif (match := _MAX_AGE.search(control)) is not None:
        ttl = int(match.group(1))
    elif isinstance(document.get("spiffe_refresh_hint"), int):
        ttl = int(document["spiffe_refresh_hint"])
    return max(MIN_TTL, min(MAX_TTL, ttl))


def signing_keys(document: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """The public signing keys of a JWKS (RFC 7517 §5) by ``kid``; others are skipped."""
    keys = document.get("keys")
    if not isinstance(keys, list):
        raise FetchFailed("not a JWK set")
    found: dict[str, dict[str, Any]] = {}
    for jwk in keys[:MAX_KEYS]:
        if not isinstance(jwk, dict) or not isinstance(jwk.get("kid"), str):
            continue
        if jwk.get("use") not in SIGNING_USES or jwk.get("kty") not in ("RSA", "EC", "OKP"):
            continue
        if any(private in jwk for private in ("d", "p", "q", "dp", "dq", "qi", "k")):
            continue
        found.setdefault(jwk["kid"], jwk)
    return found


@dataclass
class _Entry:
    keys: dict[str, dict[str, Any]] = field(default_factory=dict)
    expires_at: float = 0.0
    attempted_at: float | None = None
    jwks_uri: str | None = None
    fetched: bool = False
    refused: bool = False
    """The last attempt was refused by the URL or address rules (not an outage)."""
    fetched_at: float | None = None
    failed: bool = False
    """The last attempt failed (an outage or a refusal); the last good set, if any, stays."""


@dataclass(frozen=True)
class KeySetStatus:
    """What this container holds of an issuer's key set (for the admin API).

    ``state``: ``ok`` (a fresh set), ``stale`` (the last refresh failed; the last good
    set is still used), ``unavailable`` (never obtained: the issuer did not answer),
    ``refused`` (its URL or address breaks the fetch rules)."""

    state: str
    jwks_uri: str | None
    keys: tuple[dict[str, Any], ...]
    """Public members only: ``kid``, ``kty``, ``alg``, ``use``, ``crv`` when present."""
    fetched_at: float | None
    expires_at: float | None
    checked_at: float | None


_SHOWN_MEMBERS = ("kid", "kty", "alg", "use", "crv")


class IssuerKeys:
    """Per-container cache of each trusted issuer's key set."""

    def __init__(
        self,
        fetcher: SafeFetcher,
        clock: Callable[[], float],
        local_mode: bool = False,
        refresh_interval: int = REFRESH_INTERVAL,
    ) -> None:
        self._fetcher = fetcher
        self._clock = clock
        self._local_mode = local_mode
        self._refresh_interval = refresh_interval
        self._entries: dict[str, _Entry] = {}
        self._lock = threading.Lock()

    def discover(self, issuer: str) -> str:
        """The ``jwks_uri`` of an OpenID provider (FetchFailed / FetchRefused)."""
        document, _ = self._fetcher.get_json(discovery_url(issuer))
        if document.get("issuer") != issuer:
            raise FetchFailed("the discovery document names another issuer")
        jwks_uri = document.get("jwks_uri")
        if not isinstance(jwks_uri, str):
            raise FetchFailed("the discovery document has no jwks_uri")
        check_url(jwks_uri, self._local_mode)
        return jwks_uri

    def key(self, issuer: TrustedIssuer, kid: str) -> dict[str, Any] | None:
        """The issuer's public JWK with this ``kid``; ``None`` if it has none (or its key
        set URL breaks the rules). ``KeysUnavailable`` if the issuer's keys were never
        obtained and cannot be now (an outage: the client may retry)."""
        with self._lock:
            entry = self._entries.setdefault(self._cache_key(issuer), _Entry())
            now = self._clock()
            stale = now >= entry.expires_at
            if kid in entry.keys and not stale:
                return entry.keys[kid]
            may_fetch = (
                entry.attempted_at is None
                or now - entry.attempted_at >= self._refresh_interval
            )
            if may_fetch:
                self._refresh(issuer, entry, now)
            if not entry.fetched:
                if entry.refused:
                    return None
                raise KeysUnavailable(issuer.issuer_id)
            return entry.keys.get(kid)

    def status(self, issuer: TrustedIssuer) -> KeySetStatus:
        """The issuer's key set as the token endpoint would use it now: refreshed first
        when stale or never fetched (at most once per refresh interval, like an unknown
        ``kid``), so an admin can check a newly registered issuer."""
        with self._lock:
            entry = self._entries.setdefault(self._cache_key(issuer), _Entry())
            now = self._clock()
            may_fetch = (
                entry.attempted_at is None
                or now - entry.attempted_at >= self._refresh_interval
            )
            if now >= entry.expires_at and may_fetch:
                self._refresh(issuer, entry, now)
            if entry.fetched:
                state = "stale" if entry.failed else "ok"
            else:
                state = "refused" if entry.refused else "unavailable"
            keys = tuple(
                {m: jwk[m] for m in _SHOWN_MEMBERS if isinstance(jwk.get(m), str)}
                for _, jwk in sorted(entry.keys.items())
            )
            return KeySetStatus(
                state=state, jwks_uri=issuer.jwks_uri or entry.jwks_uri, keys=keys,
                fetched_at=entry.fetched_at, expires_at=entry.expires_at if entry.fetched else None,
                checked_at=entry.attempted_at,
            )

    def _cache_key(self, issuer: TrustedIssuer) -> str:
        return f"{issuer.issuer_id}\n{issuer.jwks_uri or ''}"

    def _refresh(self, issuer: TrustedIssuer, entry: _Entry, now: float) -> None:
        entry.attempted_at = now
        try:
            jwks_uri = issuer.jwks_uri or entry.jwks_uri or self.discover(issuer.issuer)
            entry.jwks_uri = jwks_uri if issuer.jwks_uri is None else None
            document, headers = self._fetcher.get_json(jwks_uri)
            keys = signing_keys(document)
        except (FetchFailed, FetchRefused) as exc:
            entry.refused = isinstance(exc, FetchRefused)
            entry.failed = True
            log.warning(
                "issuer keys refresh failed issuer_id=%s reason=%s kept_last_good=%s",
                issuer.issuer_id, type(exc).__name__, entry.fetched,
            )
            return
        entry.keys = keys
        entry.expires_at = now + cache_seconds(headers, document)
        entry.fetched = True
        entry.fetched_at = now
        entry.failed = entry.refused = False
        log.info("issuer keys refreshed issuer_id=%s keys=%d", issuer.issuer_id, len(keys))
