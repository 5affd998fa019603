"""Server-side token reuse (issue 9 §1): a repeated token request gets the token this
container already issued, while it is still good, for the price of the one DynamoDB
Query the request makes anyway and no KMS signature.

Held only in the Lambda container's memory (bearer tokens are never stored at rest),
in a bounded LRU. An entry is found only under the same key: the app, audience, scope
set after defaulting, the inputs to the claims (custom claims, lifetime, issuer) and
the signing key that is current now, *and* the app's state as the token request's
Query just read it: the app item's version (bumped by block/unblock, claims and
lifetime changes, secret additions, admin revoke-tokens), its ``revocations`` counter
(bumped by ``/oauth/revoke`` of any of its tokens), its revocation generation, the set
of its secrets (a revoked secret is a deleted item), of its client keys, AWS principals,
federated identities and TLS client certificates, and the grant's version and
settings. Any change to what the token was issued under makes the old entry
unreachable at once (it then ages out of the LRU) — without reading a list of revoked
``jti``s, so the Query's cost never grows with an app's revocation history.
"""

from __future__ import annotations

import json
import threading
from collections import OrderedDict
from collections.abc import Hashable, Mapping
from dataclasses import dataclass
from typing import Any

from ..store.records import AppCredentials, Grant

DEFAULT_MAX_ENTRIES = 4096


@dataclass(frozen=True)
class CachedToken:
    access_token: str
    expires_at: int
    lifetime: int
    scope: str
    jti: str

    def __repr__(self) -> str:  # never let the token reach a log line
        return f"CachedToken(jti={self.jti!r}, expires_at={self.expires_at})"

    def good_for_reuse(self, now: int, fraction: float) -> bool:
        """At least ``fraction`` of the token's lifetime is left."""
        remaining = self.expires_at - now
        return remaining > 0 and remaining >= fraction * self.lifetime


def reuse_key(
    credentials: AppCredentials,
    grant: Grant,
    scopes: tuple[str, ...],
    lifetime: int,
    kid: str,
    issuer: str,
) -> Hashable:
    """Everything a token was issued under, as the token request's one Query read it."""
    app = credentials.app
    return (
        app.client_id, grant.audience, frozenset(scopes), lifetime, kid, issuer,
        _canonical(app.claims),
        app.version, app.revocations, app.revocation_generation, app.enabled,
        frozenset(s.secret_id for s in credentials.secrets),
        # the app's other credentials: removing any of them ends reuse like a secret's
        frozenset(k.kid for k in credentials.keys),
        frozenset(p.principal_id for p in credentials.aws_principals),
        frozenset(f.identity_id for f in credentials.federated_identities),
        frozenset(t.credential_id for t in credentials.tls_clients),
        grant.api_id, grant.version, grant.scopes, grant.token_lifetime, grant.token_reuse,
    )


def _canonical(claims: Mapping[str, Any]) -> str:
    """The app's custom claims as one canonical string (most apps have none)."""
    return json.dumps(dict(claims), sort_keys=True, separators=(",", ":")) if claims else "{}"


class TokenCache:
    """A thread-safe LRU of issued tokens (``chalice local`` serves on threads)."""

    def __init__(self, max_entries: int = DEFAULT_MAX_ENTRIES) -> None:
        self._entries: OrderedDict[Hashable, CachedToken] = OrderedDict()
        self._max = max_entries
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._entries)

    def find(self, key: Hashable, now: int, fraction: float) -> CachedToken | None:
        with self._lock:
            entry = self._entries.get(key)
            if entry is None:
                return None
            if not entry.good_for_reuse(now, fraction):
                del self._entries[key]
                return None
            self._entries.move_to_end(key)
            return entry

    def keep(self, key: Hashable, token: CachedToken) -> None:
        with self._lock:
            self._entries[key] = token
            self._entries.move_to_end(key)
            while len(self._entries) > self._max:
                self._entries.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
