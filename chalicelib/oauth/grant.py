"""What every grant of the token endpoint (RFC 6749 §4.4, RFC 8693, RFC 7523 §2.1) shares:
the :class:`TokenGrant` interface, the :class:`GrantDecision` it hands back, and the rules
for audience (RFC 8707), scope (RFC 6749 §3.3) and lifetime that each grant applies.

A grant decides *who* gets a token for *what*; the token endpoint
(:mod:`.token_endpoint`) then binds it to the sender (:mod:`.sender_constraint`), reuses
or counts and signs it, the same way for every grant.
"""

from __future__ import annotations

from collections.abc import Hashable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from ..errors import InvalidRequest, InvalidScope, InvalidTarget
from ..store.records import App, Grant
from .client_auth import AuthenticatedClient
from .request import IncomingRequest, Parameters


@dataclass(frozen=True)
class GrantDecision:
    """A grant's answer: the token to issue, before binding, reuse, quota and signing."""

    client: AuthenticatedClient
    """The client the token is issued to (``client_id``; its app's quota, claims,
    revocation generation and credentials apply)."""
    grant: Grant
    """The app's grant for the requested audience (audience, lifetime, reuse settings)."""
    scopes: tuple[str, ...]
    lifetime: int
    grant_type: str
    """The ``grant_type`` that was used: the ``gty`` claim and the outcome log's field."""
    subject: str | None = None
    """``sub`` when it is not the client itself (RFC 8693 delegation keeps the subject)."""
    claims: Mapping[str, Any] = field(default_factory=dict)
    """Registered claims the grant adds (RFC 8693 §4.1 ``act``); they win over the
    app's custom claims."""
    reuse_identity: Hashable = ()
    """What else, beyond the client and grant, the token was issued under (an exchanged
    token: the subject token's identity), so reuse never crosses it."""
    response: Mapping[str, str] = field(default_factory=dict)
    """Extra members of the token response (RFC 8693 §2.2.1 ``issued_token_type``)."""
    not_after: int | None = None
    """The token must not outlive this time (an exchanged token never outlives its
    subject token): ``exp`` is at most it. ``lifetime`` stays the configured one, so
    reuse is still found under the same key while time passes."""

    def lifetime_at(self, now: int) -> int:
        """The lifetime of a token signed at ``now``."""
        if self.not_after is None:
            return self.lifetime
        return max(0, min(self.lifetime, self.not_after - now))


class TokenGrant(Protocol):
    """One grant type of the token endpoint, one module each."""

    grant_type: str

    def decide(
        self, request: IncomingRequest, params: Parameters, issuer: str, now: int
    ) -> GrantDecision:
        """Authenticate what the grant needs and decide the token, or raise an
        :class:`~chalicelib.errors.OAuthError`; ``issuer`` is our issuer identifier."""


def requested_audience(params: Parameters) -> str:
    """``audience`` (single value) or RFC 8707 ``resource``; they must agree if both sent."""
    audience = params.single("audience")
    resources = params.all("resource")
    if len(resources) > 1:
        raise InvalidTarget("Only one resource may be requested per token.")
    resource = resources[0] if resources else None
    if audience and resource and audience != resource:
        raise InvalidRequest("The audience and resource parameters must name the same API.")
    target = audience or resource
    if target is None:
        raise InvalidRequest("The audience (or resource) parameter is required.")
    return target


def decide_scopes(requested: tuple[str, ...] | None, grant: Grant) -> tuple[str, ...]:
    """Omitted: everything granted. Otherwise a subset of the grant (RFC 6749 §3.3)."""
    if requested is None:
        return grant.scopes
    excess = [s for s in requested if s not in grant.scopes]
    if excess:
        raise InvalidScope("The requested scope exceeds what this client was granted.")
    return requested


def token_lifetime(grant: Grant, app: App) -> int:
    """The API's token lifetime, shortened by the app's own limit if it has one."""
    if app.token_lifetime is not None:
        return min(grant.token_lifetime, app.token_lifetime)
    return grant.token_lifetime
