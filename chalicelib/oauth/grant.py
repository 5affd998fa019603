"""The client credentials grant (RFC 6749 §4.4) issuing RFC 9068 JWT access tokens."""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable
from dataclasses import dataclass

from ..errors import InvalidRequest, InvalidScope, InvalidTarget, UnsupportedGrantType
from ..store.records import Grant
from ..tokens.issuer import TokenIssuer
from .claims import access_token_claims
from .client_auth import ClientAuthenticator
from .request import IncomingRequest, Parameters, parse_parameters
from .scopes import format_scope, parse_scope

log = logging.getLogger(__name__)

GRANT_TYPE = "client_credentials"


@dataclass(frozen=True)
class TokenResponse:
    """RFC 6749 §5.1 successful response (no refresh token for this grant, §4.4.3)."""

    access_token: str
    expires_in: int
    scope: str

    def as_dict(self) -> dict[str, object]:
        return {
            "access_token": self.access_token,
            "token_type": "Bearer",
            "expires_in": self.expires_in,
            "scope": self.scope,
        }

    def __repr__(self) -> str:  # never let the token reach a log line
        return f"TokenResponse(expires_in={self.expires_in}, scope={self.scope!r})"


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
    ) -> None:
        self._authenticator = authenticator
        self._issuer = issuer
        self._clock = clock

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
        jti = secrets.token_urlsafe(16)
        claims = access_token_claims(
            issuer=issuer_url,
            client_id=app.client_id,
            audience=audience,
            scopes=scopes,
            issued_at=int(self._clock()),
            lifetime=lifetime,
            jti=jti,
            custom=app.claims,
        )
        token = self._issuer.issue(claims)
        log.info(
            "token issued client_id=%s aud=%s scope=%r jti=%s expires_in=%d auth=%s",
            app.client_id, audience, format_scope(scopes), jti, lifetime, client.method,
        )
        return TokenResponse(access_token=token, expires_in=lifetime, scope=format_scope(scopes))
