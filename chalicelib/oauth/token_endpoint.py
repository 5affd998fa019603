"""The token endpoint (RFC 6749 §3.2): one pipeline for every grant, issuing RFC 9068 JWT
access tokens.

The request's ``grant_type`` picks a :class:`~.grant.TokenGrant`, which decides who gets
a token for what; then, the same for every grant, the token is bound to the proofs of
possession the request presents (:mod:`.sender_constraint`), reused if this container
issued the same one recently (:mod:`.reuse`), else counted against the app's quota
(:mod:`.quota`), signed and logged.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Hashable, Mapping, Sequence
from dataclasses import dataclass, field

from ..errors import InvalidRequest, OAuthError, UnsupportedGrantType
from ..tokens.issuer import TokenIssuer
from .claims import access_token_claims
from .grant import GrantDecision, TokenGrant
from .quota import TokenQuotas
from .request import IncomingRequest
from .reuse import CachedToken, TokenCache, reuse_key
from .scopes import format_scope
from .sender_constraint import BEARER, Bindings, ProofOfPossession, bind, present
from .token_id import new_jti

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TokenResponse:
    """RFC 6749 §5.1 successful response (no refresh token: RFC 6749 §4.4.3, RFC 8693
    §2.2.1 leaves it optional and we never issue one)."""

    access_token: str
    expires_in: int
    scope: str
    reused: bool = False
    token_type: str = BEARER
    extra: Mapping[str, str] = field(default_factory=dict)
    """Members a grant adds (RFC 8693 ``issued_token_type``)."""
    headers: dict[str, str] = field(default_factory=dict)
    """Extra response header fields (the quota's RateLimit fields, ``DPoP-Nonce``)."""

    def as_dict(self) -> dict[str, object]:
        return {
            "access_token": self.access_token,
            "token_type": self.token_type,
            "expires_in": self.expires_in,
            "scope": self.scope,
            **self.extra,
        }

    def __repr__(self) -> str:  # never let the token reach a log line
        return (f"TokenResponse(token_type={self.token_type!r}, expires_in={self.expires_in}, "
                f"scope={self.scope!r}, reused={self.reused})")


class TokenEndpoint:
    def __init__(
        self,
        grants: Sequence[TokenGrant],
        issuer: TokenIssuer,
        clock: Callable[[], float],
        cache: TokenCache | None = None,
        quotas: TokenQuotas | None = None,
        proofs: Sequence[ProofOfPossession] = (),
        headers: Callable[[int], Mapping[str, str]] | None = None,
    ) -> None:
        """``headers``: header fields every response carries, an error's too (RFC 9449
        §8: a fresh ``DPoP-Nonce`` when server nonces are on)."""
        self._grants = {g.grant_type: g for g in grants}
        self._headers = headers
        self._issuer = issuer
        self._clock = clock
        self._cache = cache if cache is not None else TokenCache()
        self._quotas = quotas
        self._proofs = tuple(proofs)

    @property
    def grant_types(self) -> tuple[str, ...]:
        """RFC 8414 ``grant_types_supported``."""
        return tuple(self._grants)

    def handle(self, request: IncomingRequest, issuer_url: str) -> TokenResponse:
        now = int(self._clock())
        if self._headers is None:
            return self._handle(request, issuer_url, now)
        headers = self._headers(now)
        try:
            response = self._handle(request, issuer_url, now)
        except OAuthError as error:
            error.extra_headers.update(headers)
            raise
        response.headers.update(headers)
        return response

    def _handle(self, request: IncomingRequest, issuer_url: str, now: int) -> TokenResponse:
        params = request.parameters
        grant_type = params.single("grant_type")
        if grant_type is None:
            raise InvalidRequest("The grant_type parameter is required.")
        grant = self._grants.get(grant_type)
        if grant is None:
            raise UnsupportedGrantType(
                f"Supported grant types: {', '.join(self._grants)}."
            )
        presented = present(self._proofs, request, issuer_url, now)  # before any jti is spent
        decision = grant.decide(request, params, issuer_url, now)
        bindings = bind(presented, decision)
        return self._respond(decision, bindings, issuer_url, now)

    def _respond(
        self, decision: GrantDecision, bindings: Bindings, issuer_url: str, now: int
    ) -> TokenResponse:
        credentials = decision.client.credentials
        app, grant, lifetime = credentials.app, decision.grant, decision.lifetime
        key = self._issuer.current_key()
        headers = dict(bindings.headers)
        reuse: Hashable | None = None  # built only where the API reuses tokens
        if grant.token_reuse is not None:
            reuse = (
                reuse_key(credentials, grant, decision.scopes, lifetime, key.kid, issuer_url),
                decision.grant_type, decision.subject, decision.reuse_identity,
                decision.not_after, bindings.reuse_identity,
            )
            cached = self._cache.find(reuse, now, grant.token_reuse)
            if cached is not None:
                self._log(decision, cached.scope, cached.jti, cached.expires_at - now,
                          bindings, reused=True)
                if self._quotas:
                    headers.update(self._quotas.state_for_reused(app.client_id, app.quota, now))
                return TokenResponse(cached.access_token, cached.expires_at - now, cached.scope,
                                     reused=True, token_type=bindings.token_type,
                                     extra=decision.response, headers=headers)
        lifetime = decision.lifetime_at(now)  # the key keeps the configured lifetime
        # counted (and, over an enforced quota, refused) before the signature is paid for
        if self._quotas:
            headers.update(self._quotas.count_fresh(app.client_id, app.quota, now))
        jti = new_jti(app.revocation_generation)
        claims = access_token_claims(
            issuer=issuer_url,
            client_id=app.client_id,
            audience=grant.audience,
            scopes=decision.scopes,
            issued_at=now,
            lifetime=lifetime,
            jti=jti,
            custom=app.claims,
            subject=decision.subject,
            grant_type=decision.grant_type,
            registered={**decision.claims,
                        **({"cnf": dict(bindings.confirmation)} if bindings.confirmation
                           else {})},
        )
        token = self._issuer.issue(claims, key)
        scope = format_scope(decision.scopes)
        if reuse is not None:
            self._cache.keep(reuse, CachedToken(token, now + lifetime, lifetime, scope, jti))
        self._log(decision, scope, jti, lifetime, bindings, reused=False)
        return TokenResponse(access_token=token, expires_in=lifetime, scope=scope,
                             token_type=bindings.token_type, extra=decision.response,
                             headers=headers)

    @staticmethod
    def _log(decision: GrantDecision, scope: str, jti: str, expires_in: int,
             bindings: Bindings, *, reused: bool) -> None:
        """One line per token response, fresh or reused. Never the token."""
        log.info(
            "token issued client_id=%s aud=%s scope=%r jti=%s expires_in=%d auth=%s "
            "grant_type=%s token_type=%s reused=%s",
            decision.client.client_id, decision.grant.audience, scope, jti, expires_in,
            decision.client.method, decision.grant_type, bindings.token_type,
            "true" if reused else "false",
        )
