"""The client credentials grant (RFC 6749 §4.4) issuing RFC 9068 JWT access tokens."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field

from ..errors import InvalidRequest, InvalidScope, InvalidTarget, UnsupportedGrantType
from ..store.records import Grant
from ..tokens.issuer import TokenIssuer
from .claims import access_token_claims
from .client_auth import ClientAuthenticator
from .quota import TokenQuotas
from .request import IncomingRequest, Parameters, parse_parameters
from .reuse import CachedToken, TokenCache, reuse_key
from .scopes import format_scope, parse_scope
from .token_id import new_jti

log = logging.getLogger(__name__)

GRANT_TYPE = "client_credentials"


@dataclass(frozen=True)
class TokenResponse:
    """RFC 6749 §5.1 successful response (no refresh token for this grant, §4.4.3)."""

    access_token: str
    expires_in: int
    scope: str
    reused: bool = False
    headers: dict[str, str] = field(default_factory=dict)
    """Extra response header fields (the quota's RateLimit fields)."""

    def as_dict(self) -> dict[str, object]:
        return {
            "access_token": self.access_token,
            "token_type": "Bearer",
            "expires_in": self.expires_in,
            "scope": self.scope,
        }

    def __repr__(self) -> str:  # never let the token reach a log line
        return (f"TokenResponse(expires_in={self.expires_in}, scope={self.scope!r}, "
                f"reused={self.reused})")


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


class ClientCredentialsGrant:
    def __init__(
        self,
        authenticator: ClientAuthenticator,
        issuer: TokenIssuer,
        clock: Callable[[], float],
        cache: TokenCache | None = None,
        quotas: TokenQuotas | None = None,
    ) -> None:
        self._authenticator = authenticator
        self._issuer = issuer
        self._clock = clock
        self._cache = cache if cache is not None else TokenCache()
        self._quotas = quotas

    def handle(self, request: IncomingRequest, issuer_url: str) -> TokenResponse:
        params = parse_parameters(request)
        grant_type = params.single("grant_type")
        if grant_type is None:
            raise InvalidRequest("The grant_type parameter is required.")
        if grant_type != GRANT_TYPE:
            raise UnsupportedGrantType("Only the client_credentials grant is supported.")
        audience = requested_audience(params)
        scope_param = params.single("scope")
        requested = parse_scope(scope_param) if scope_param is not None else None

        client = self._authenticator.authenticate(request, params, issuer_url)
        app = client.credentials.app
        grant = client.credentials.grant_for(audience)
        # The same answer for unknown APIs, ungranted ones, and grants whose every scope
        # was removed from the API.
        if grant is None or not grant.scopes:
            raise InvalidTarget("The requested audience is not available to this client.")
        scopes = decide_scopes(requested, grant)

        lifetime = grant.token_lifetime
        if app.token_lifetime is not None:
            lifetime = min(lifetime, app.token_lifetime)
        now = int(self._clock())
        key = self._issuer.current_key()
        reuse = reuse_key(client.credentials, grant, scopes, lifetime, key.kid, issuer_url)
        if grant.token_reuse is not None:
            cached = self._cache.find(reuse, now, grant.token_reuse)
            if cached is not None:
                self._log(app.client_id, audience, cached.scope, cached.jti,
                          cached.expires_at - now, client.method, reused=True)
                headers = (self._quotas.state_for_reused(app.client_id, app.quota, now)
                           if self._quotas else {})
                return TokenResponse(cached.access_token, cached.expires_at - now, cached.scope,
                                     reused=True, headers=headers)
        # counted (and, over an enforced quota, refused) before the signature is paid for
        headers = self._quotas.count_fresh(app.client_id, app.quota, now) if self._quotas else {}
        jti = new_jti(app.revocation_generation)
        claims = access_token_claims(
            issuer=issuer_url,
            client_id=app.client_id,
            audience=audience,
            scopes=scopes,
            issued_at=now,
            lifetime=lifetime,
            jti=jti,
            custom=app.claims,
        )
        token = self._issuer.issue(claims, key)
        scope = format_scope(scopes)
        if grant.token_reuse is not None:
            self._cache.keep(reuse, CachedToken(token, now + lifetime, lifetime, scope, jti))
        self._log(app.client_id, audience, scope, jti, lifetime, client.method, reused=False)
        return TokenResponse(access_token=token, expires_in=lifetime, scope=scope,
                             headers=headers)

    @staticmethod
    def _log(client_id: str, audience: str, scope: str, jti: str, expires_in: int,
             method: str, *, reused: bool) -> None:
        """One line per token response, fresh or reused. Never the token."""
        log.info(
            "token issued client_id=%s aud=%s scope=%r jti=%s expires_in=%d auth=%s reused=%s",
            client_id, audience, scope, jti, expires_in, method, "true" if reused else "false",
        )
