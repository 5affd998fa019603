"""The issuer's JSON Web Key Set (RFC 7517 §5), cached the way its HTTP headers ask."""

from __future__ import annotations

import json
import logging
import re
import threading
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa

from m2m_client.errors import KeySetError
from m2m_client.fetch import Fetch, FetchError, HttpResponse, require_secure_url

logger = logging.getLogger(__name__)

# Which key fits which algorithm (RFC 7518 §3.1): key type and, for EC, the curve.
KEY_TYPES: Mapping[str, tuple[str, str | None]] = MappingProxyType(
    {
        "RS256": ("RSA", None),
        "RS384": ("RSA", None),
        "RS512": ("RSA", None),
        "PS256": ("RSA", None),
        "PS384": ("RSA", None),
        "PS512": ("RSA", None),
        "ES256": ("EC", "P-256"),
        "ES384": ("EC", "P-384"),
        "ES512": ("EC", "P-521"),
    }
)
MIN_RSA_BITS = 2048  # RFC 7518 §3.3
_MAX_AGE = re.compile(r"^\s*max-age\s*=\s*\"?([0-9]+)\"?\s*$", re.IGNORECASE)


@dataclass(frozen=True)
class CachePolicy:
    """How long a key set is trusted, and how often the endpoint may be asked again.

    `default_max_age` applies when the response has no `max-age`; any age is clamped to
    [`min_refresh_interval`, `max_max_age`]. An unknown `kid` triggers a refetch at most
    once per `min_refresh_interval`; after a failed fetch the next try waits
    `error_retry_interval`.
    """

    default_max_age: float = 300.0
    max_max_age: float = 86400.0
    min_refresh_interval: float = 30.0
    error_retry_interval: float = 5.0


DEFAULT_CACHE_POLICY = CachePolicy()


@dataclass(frozen=True)
class KeySet:
    """A snapshot of usable keys by `kid`, and until when it is fresh."""

    keys: Mapping[str, jwt.PyJWK]
    fresh_until: float


def parse_jwks(document: object, algorithms: Collection[str]) -> dict[str, jwt.PyJWK]:
    """Keep the public signature keys of an allowed algorithm (RFC 7517 §4, §5); skip the rest.

    A key must name its `kid` and its `alg` so a token's `alg` can be held to it
    (RFC 8725 §3.1); a key whose `use` is present must say `sig`.
    """
    if not isinstance(document, dict) or not isinstance(document.get("keys"), list):
        raise KeySetError("JWKS document has no keys array")
    keys: dict[str, jwt.PyJWK] = {}
    for entry in document["keys"]:
        key = _usable_key(entry, algorithms)
        if key is None:
            continue
        kid = entry["kid"]
        if kid in keys:
            logger.warning("JWKS lists a kid twice, keeping the first: kid=%s", kid)
            continue
        keys[kid] = key
    return keys


def _usable_key(entry: object, algorithms: Collection[str]) -> jwt.PyJWK | None:
    if not isinstance(entry, dict):
        return None
    kid, alg = entry.get("kid"), entry.get("alg")
    if not isinstance(kid, str) or not kid or not isinstance(alg, str) or alg not in algorithms:
        return None
    if entry.get("use", "sig") != "sig":
        return None
    if "d" in entry:  # private key material has no business in a published set
        logger.warning("JWKS publishes private key material, key skipped: kid=%s", kid)
        return None
    kty, crv = KEY_TYPES.get(alg, (None, None))
    if kty is None or entry.get("kty") != kty or (crv is not None and entry.get("crv") != crv):
        return None
    try:
        key = jwt.PyJWK(entry, algorithm=alg)
    except (jwt.PyJWTError, ValueError, TypeError, KeyError):
        logger.warning("JWKS key cannot be loaded, skipped: kid=%s", kid)
        return None
    if isinstance(key.key, rsa.RSAPublicKey) and key.key.key_size < MIN_RSA_BITS:
        logger.warning("JWKS RSA key too short, skipped: kid=%s", kid)
        return None
    return key


def freshness_lifetime(response: HttpResponse, policy: CachePolicy) -> float:
    """RFC 9111 §4.2.1: `max-age` less `Age` (§5.1), clamped by the policy."""
    lifetime = policy.default_max_age
    cache_control = response.header("cache-control") or ""
    for directive in cache_control.split(","):
        match = _MAX_AGE.match(directive)
        if match:
            lifetime = float(match.group(1))
            break
    age = response.header("age")
    if age is not None and age.strip().isdigit():
        lifetime -= float(age.strip())
    return min(max(lifetime, policy.min_refresh_interval), policy.max_max_age)


class JwksCache:
    """Thread-safe JWKS cache for a verifier.

    Known keys are read without a lock. An expired set keeps serving while one caller
    refetches; a failed fetch never wipes the last good set; an unknown `kid` refetches
    at most once per `min_refresh_interval`, so a flood of forged tokens cannot hammer
    the endpoint.
    """

    def __init__(
        self,
        locate: Callable[[], str],
        fetch: Fetch,
        algorithms: Collection[str],
        *,
        clock: Callable[[], float],
        policy: CachePolicy = DEFAULT_CACHE_POLICY,
    ) -> None:
        self._locate = locate
        self._fetch = fetch
        self._algorithms = frozenset(algorithms)
        self._clock = clock
        self._policy = policy
        self._lock = threading.Lock()
        self._state: KeySet | None = None
        self._last_attempt: float | None = None

    def get(self, kid: str) -> jwt.PyJWK | None:
        """The key for `kid`, or None when the (possibly refetched) set lacks it."""
        state = self._current()
        key = state.keys.get(kid)
        if key is not None:
            return key
        with self._lock:
            state = self._state or state
            if kid not in state.keys and self._may_fetch(self._policy.min_refresh_interval):
                state = self._refresh()
        return state.keys.get(kid)

    def _current(self) -> KeySet:
        state = self._state
        if state is not None and self._clock() < state.fresh_until:
            return state
        if state is not None:
            # Stale: one caller refetches, the others keep using the stale set meanwhile.
            if self._lock.acquire(blocking=False):
                try:
                    if self._state is state:
                        self._refresh()
                finally:
                    self._lock.release()
            return self._state or state
        with self._lock:
            if self._state is not None:
                return self._state
            if not self._may_fetch(self._policy.error_retry_interval):
                raise KeySetError("JWKS unavailable (retrying shortly)")
            return self._refresh()

    def _may_fetch(self, interval: float) -> bool:
        return self._last_attempt is None or self._clock() - self._last_attempt >= interval

    def _refresh(self) -> KeySet:
        """Fetch the set; on failure keep the last good one. Called with the lock held."""
        now = self._clock()
        self._last_attempt = now
        try:
            url = require_secure_url(self._locate())
            response = self._fetch(url)
            if response.status != 200:
                raise KeySetError(f"JWKS endpoint answered HTTP {response.status}")
            keys = parse_jwks(_json(response.body), self._algorithms)
        except (KeySetError, FetchError, ValueError) as exc:
            if self._state is None:
                if isinstance(exc, KeySetError):
                    raise
                raise KeySetError(f"JWKS unavailable: {exc}") from exc
            logger.warning("JWKS refresh failed, keeping the last good set: %s", exc)
            self._state = KeySet(self._state.keys, now + self._policy.error_retry_interval)
            return self._state
        if not keys:
            logger.warning("JWKS has no usable signature keys")
        lifetime = freshness_lifetime(response, self._policy)
        self._state = KeySet(MappingProxyType(keys), now + lifetime)
        logger.info("JWKS refreshed: keys=%d", len(keys))
        return self._state


def _json(body: bytes) -> Any:
    try:
        return json.loads(body)
    except ValueError:
        raise KeySetError("JWKS document is not JSON") from None
