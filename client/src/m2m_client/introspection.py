"""Asking the authorization server whether a token is still active (RFC 7662)."""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable

import requests

from m2m_client.credentials import AuthMethod, ClientCredentials, ClientSecret
from m2m_client.errors import IntrospectionError

logger = logging.getLogger(__name__)


class Introspector:
    """Introspects tokens that already passed local verification, caching each answer.

    An answer is cached for the shorter of the token's remaining lifetime and
    `cache_ttl`, keyed by a SHA-256 of the token (the token itself is never stored
    or logged). Any failure raises `IntrospectionError`: the caller fails closed.
    """

    def __init__(
        self,
        introspection_url: str,
        client_id: str,
        client_secret: str,
        *,
        auth_method: AuthMethod = "client_secret_basic",
        session: requests.Session | None = None,
        timeout: float = 5.0,
        cache_ttl: float = 60.0,
        max_entries: int = 10_000,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.introspection_url = introspection_url
        self._credentials = ClientCredentials(client_id, ClientSecret(client_secret), auth_method)
        self._session = session if session is not None else requests.Session()
        self._timeout = timeout
        self._cache_ttl = cache_ttl
        self._max_entries = max_entries
        self._clock = clock
        self._lock = threading.Lock()
        self._cache: OrderedDict[str, tuple[bool, float]] = OrderedDict()

    def __repr__(self) -> str:
        return (
            f"Introspector(introspection_url={self.introspection_url!r}, "
            f"client_id={self._credentials.client_id!r})"
        )

    def is_active(self, token: str, expires_at: float) -> bool:
        """Whether the server reports the token active (RFC 7662 §2.2), from cache if fresh."""
        key = hashlib.sha256(token.encode("utf-8")).hexdigest()
        now = self._clock()
        with self._lock:
            cached = self._cache.get(key)
            if cached is not None and now < cached[1]:
                return cached[0]
        active = self._ask(token)
        ttl = min(expires_at - now, self._cache_ttl)
        if ttl > 0:
            self._remember(key, active, now + ttl, now)
        return active

    def _ask(self, token: str) -> bool:
        form = {"token": token, "token_type_hint": "access_token"}
        form.update(self._credentials.form_fields())
        try:
            response = self._session.post(
                self.introspection_url,
                data=form,
                headers={"Accept": "application/json"},
                auth=self._credentials.requests_auth(),
                timeout=self._timeout,
                allow_redirects=False,
            )
        except requests.RequestException as exc:
            raise IntrospectionError(f"introspection failed: {type(exc).__name__}") from exc
        with response:
            if response.status_code != 200:
                raise IntrospectionError(
                    f"introspection endpoint answered HTTP {response.status_code}"
                )
            try:
                body = response.json()
            except ValueError:
                raise IntrospectionError("introspection response is not JSON") from None
        if not isinstance(body, dict) or not isinstance(body.get("active"), bool):
            raise IntrospectionError("introspection response lacks a boolean active")
        active: bool = body["active"]
        logger.info("token introspected: active=%s", active)
        return active

    def _remember(self, key: str, active: bool, until: float, now: float) -> None:
        with self._lock:
            if key not in self._cache and len(self._cache) >= self._max_entries:
                for stale in [k for k, (_, t) in self._cache.items() if t <= now]:
                    del self._cache[stale]
                while len(self._cache) >= self._max_entries:
                    self._cache.popitem(last=False)
            self._cache[key] = (active, until)
