"""Federated workload identity as client authentication (docs/federation.md).

The client presents a token its platform issued to it — AWS outbound identity
federation, a Kubernetes service-account token, a GitHub Actions OIDC token — as a
JWT bearer client assertion (RFC 7523 §2.2, §3 with a third-party issuer), or a
SPIFFE JWT-SVID with ``client_assertion_type=urn:ietf:params:oauth:client-assertion-type:
jwt-spiffe`` (draft-ietf-oauth-spiffe-client-auth §4: ``sub`` is the SPIFFE ID, whose
trust domain names the issuer; ``iss`` and ``jti`` are optional). It authenticates
as the app that lists the token's issuer and subject.

Checks, every failure ``invalid_client`` with no detail (the log says which):
the issuer is registered by an admin; ``alg`` is asymmetric and ``kid`` names one of
the issuer's keys (fetched only from the registered or discovered JWKS URL); the
signature verifies; no ``crit``; ``exp`` present and not past, ``nbf``/``iat`` not in
the future, lifetime ``exp - iat`` (or ``exp - now``) at most the issuer's maximum;
an app lists exactly this issuer and subject (and the ``client_id`` parameter names
it when several do); ``aud`` contains the identity's audience (default: our issuer
identifier); ``jti`` used once per issuer when the issuer's setting says so.
"""

from __future__ import annotations

import logging
from typing import Any, Protocol

import jwt

from ..errors import InvalidClient, TemporarilyUnavailable
from ..federation.issuers import issuer_id_for, spiffe_issuer, trust_domain_of
from ..federation.jwks_fetch import IssuerKeys, KeysUnavailable
from ..store.records import AppCredentials, FederatedIdentity, TrustedIssuer
from ..store.repository import (
    AppRepository,
    AssertionReplayRepository,
    FederatedIdentityRepository,
    IssuerRepository,
)
from .assertion import JWT_BEARER, JWT_SPIFFE, ClientAssertion, issued_by_client
from .json_members import jws_repeats_a_member

log = logging.getLogger(__name__)

METHOD = "urn:m2m-auth:params:oauth:client-auth:federated-jwt"
"""Our name for the method in RFC 8414 metadata and logs: an absolute URI, as RFC 7591 §2
requires of names that are not IANA-registered (it was ``federated_jwt`` until 2026-12)."""
ALGORITHMS = frozenset({
    "RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA",
})
"""Asymmetric only: ``none`` and HMAC (whose key would be the issuer's public key) never."""
LEEWAY = 30
MAX_CLAIM_LENGTH = 1024
MAX_JTI_LENGTH = 256


class FederationStore(
    AppRepository, IssuerRepository, FederatedIdentityRepository, AssertionReplayRepository,
    Protocol,
):
    """What the method reads: issuers, identity lookups, apps, and the single-use store."""


class _Refused(Exception):
    """One failed check; the reason goes to the log only."""


def _int_claim(claims: dict[str, Any], name: str, required: bool = False) -> int | None:
    value = claims.get(name)
    if value is None and not required:
        return None
    if not isinstance(value, int) or isinstance(value, bool):
        raise _Refused(f"{name} missing or not an integer")
    return value


def _string(value: Any, name: str, limit: int = MAX_CLAIM_LENGTH) -> str:
    if not isinstance(value, str) or not 0 < len(value) <= limit:
        raise _Refused(f"{name} missing or malformed")
    return value


class FederatedTokenAuth:
    """``AssertionMethod`` for workload tokens from trusted issuers."""

    method = METHOD

    def __init__(self, store: FederationStore, keys: IssuerKeys) -> None:
        self._store = store
        self._keys = keys

    def handles(self, assertion: ClientAssertion) -> bool:
        if assertion.assertion_type == JWT_SPIFFE:
            return True
        return assertion.assertion_type == JWT_BEARER and not issued_by_client(assertion)

    def authenticate(self, assertion: ClientAssertion, issuer: str, now: int) -> AppCredentials:
        trusted: TrustedIssuer | None = None
        try:
            trusted, claims = self._verified(assertion, now)
            return self._app_for(trusted, claims, assertion, issuer, now)
        except _Refused as refused:
            log.info(
                "client authentication failed method=%s issuer_id=%s reason=%s",
                METHOD, trusted.issuer_id if trusted else "-", refused,
            )
            raise InvalidClient() from None

    def _verified(
        self, assertion: ClientAssertion, now: int
    ) -> tuple[TrustedIssuer, dict[str, Any]]:
        token = assertion.assertion
        if jws_repeats_a_member(token):  # PyJWT would read the last duplicate
            raise _Refused("a member name is given twice")
        try:
            header = jwt.get_unverified_header(token)
            unverified = jwt.decode(token, options={"verify_signature": False})
        except jwt.PyJWTError:
            raise _Refused("not a JWT") from None
        trusted = self._issuer(assertion.assertion_type, unverified)
        alg = header.get("alg")
        if not isinstance(alg, str) or alg not in ALGORITHMS:  # a dict or list: unhashable
            raise _Refused("alg not allowed")
        if "crit" in header:
            raise _Refused("crit not understood")
        kid = _string(header.get("kid"), "kid", 256)
        try:
            jwk = self._keys.key(trusted, kid)
        except KeysUnavailable:
            log.warning("issuer keys unavailable issuer_id=%s", trusted.issuer_id)
            raise TemporarilyUnavailable("The issuer's keys cannot be fetched now.") from None
        if jwk is None:
            raise _Refused("unknown kid")
        if jwk.get("alg") not in (None, alg):
            raise _Refused("alg differs from the key's")
        try:
            key = jwt.PyJWK(jwk, algorithm=alg)
            claims = jwt.decode(token, key, algorithms=[alg], options={
                "verify_exp": False, "verify_nbf": False, "verify_iat": False,
                "verify_aud": False, "verify_iss": False, "verify_sub": False,
                "verify_jti": False,
            })
        except (jwt.PyJWTError, ValueError, TypeError):
            raise _Refused("signature or key invalid") from None
        self._check_times(trusted, claims, now)
        return trusted, claims

    def _issuer(self, assertion_type: str, claims: dict[str, Any]) -> TrustedIssuer:
        spiffe = assertion_type == JWT_SPIFFE
        if spiffe:
            domain = trust_domain_of(_string(claims.get("sub"), "sub", 2048))
            if domain is None:
                raise _Refused("sub is not a SPIFFE ID")
            name = spiffe_issuer(domain)
        else:
            name = _string(claims.get("iss"), "iss", 512)
        trusted = self._store.get_issuer(issuer_id_for(name))
        if trusted is None or trusted.issuer != name or (trusted.kind == "spiffe") != spiffe:
            raise _Refused("issuer not registered")
        return trusted

    def _check_times(self, trusted: TrustedIssuer, claims: dict[str, Any], now: int) -> None:
        exp = _int_claim(claims, "exp", required=True)
        assert exp is not None  # noqa: S101 - required=True
        nbf = _int_claim(claims, "nbf")
        iat = _int_claim(claims, "iat")
        if exp <= now - LEEWAY:
            raise _Refused("expired")
        if (nbf is not None and nbf > now + LEEWAY) or (iat is not None and iat > now + LEEWAY):
            raise _Refused("not yet valid")
        if exp - (iat if iat is not None else now) > trusted.max_token_lifetime:
            raise _Refused("lifetime longer than the issuer's maximum")

    def _app_for(
        self,
        trusted: TrustedIssuer,
        claims: dict[str, Any],
        assertion: ClientAssertion,
        issuer: str,
        now: int,
    ) -> AppCredentials:
        subject = _string(claims.get("sub"), "sub", 2048)
        apps = self._store.apps_for_subject(trusted.issuer, subject)
        if assertion.client_id is not None:
            if assertion.client_id not in apps:
                raise _Refused("no such identity on the named app")
            client_id = assertion.client_id
        elif len(apps) == 1:
            client_id = apps[0]
        else:
            raise _Refused("identity of no app" if not apps else "several apps, no client_id")
        credentials = self._store.get_credentials(client_id)
        identity = self._identity(credentials, trusted.issuer, subject)
        if credentials is None or identity is None:
            raise _Refused("no such identity on the app")
        audience = claims.get("aud")
        audiences = [audience] if isinstance(audience, str) else audience
        if not isinstance(audiences, list) or (identity.audience or issuer) not in audiences:
            raise _Refused("aud does not name us")
        if trusted.single_use_jti:
            jti = _string(claims.get("jti"), "jti", MAX_JTI_LENGTH)
            exp = int(claims["exp"])
            if not self._store.use_once(trusted.issuer_id, jti, max(exp, now) + LEEWAY):
                raise _Refused("jti replayed")
        return credentials

    @staticmethod
    def _identity(
        credentials: AppCredentials | None, issuer: str, subject: str
    ) -> FederatedIdentity | None:
        if credentials is None:
            return None
        for identity in credentials.federated_identities:
            if identity.issuer == issuer and identity.subject == subject:
                return identity
        return None
