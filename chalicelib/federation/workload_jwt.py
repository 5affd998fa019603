"""Verification of a workload JWT from a trusted issuer (RFC 7523 §3, RFC 8725), shared by
federated client authentication, the jwt-bearer grant and token exchange of workload
tokens (docs/federation.md).

Checks: the issuer is registered by an admin (by ``iss``, or by the trust domain of a
SPIFFE JWT-SVID's ``sub``) and of the right kind; ``typ``, if present, is a string and
not one of ours (RFC 8725 §3.11 explicit typing: an access token, RFC 9068 §2.1, or a
DPoP proof, RFC 9449 §4.2, is never a workload token); ``alg`` is asymmetric and ``kid``
names one of the issuer's keys (fetched only from the registered or discovered JWKS
URL); the signature verifies; no ``crit``; ``exp`` present and not past, ``nbf``/``iat``
not in the future, lifetime ``exp - iat`` (or ``exp - now``) at most the issuer's
maximum. Which app the token is, its audience and single use are decided by
:mod:`.claim_rules`.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import jwt

from ..errors import TemporarilyUnavailable
from ..oauth.json_members import jws_repeats_a_member
from ..store.records import TrustedIssuer
from ..store.repository import IssuerRepository
from .issuers import issuer_id_for, spiffe_issuer, trust_domain_of
from .jwks_fetch import IssuerKeys, KeysUnavailable

log = logging.getLogger(__name__)

ALGORITHMS = frozenset({
    "RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA",
})
"""Asymmetric only: ``none`` and HMAC (whose key would be the issuer's public key) never."""
REFUSED_TYPES = frozenset({"at+jwt", "application/at+jwt", "dpop+jwt", "application/dpop+jwt"})
"""``typ`` values (compared case-insensitively, RFC 7515 §4.1.9) of JWTs that are never
workload tokens."""
LEEWAY = 30
MAX_CLAIM_LENGTH = 1024
MAX_SUBJECT_LENGTH = 2048
MAX_TOKEN_LENGTH = 8192


class Refused(Exception):
    """One failed check; the reason goes to the log only, never to the client."""


@dataclass(frozen=True)
class WorkloadToken:
    """A workload JWT whose signature, issuer and times were verified."""

    issuer: TrustedIssuer
    claims: dict[str, Any]

    @property
    def subject(self) -> str:
        return string_claim(self.claims.get("sub"), "sub", MAX_SUBJECT_LENGTH)

    @property
    def expires_at(self) -> int:
        return int(self.claims["exp"])


def int_claim(claims: dict[str, Any], name: str, required: bool = False) -> int | None:
    value = claims.get(name)
    if value is None and not required:
        return None
    if not isinstance(value, int) or isinstance(value, bool):
        raise Refused(f"{name} missing or not an integer")
    return value


def string_claim(value: Any, name: str, limit: int = MAX_CLAIM_LENGTH) -> str:
    if not isinstance(value, str) or not 0 < len(value) <= limit:
        raise Refused(f"{name} missing or malformed")
    return value


class WorkloadJwtVerifier:
    def __init__(self, issuers: IssuerRepository, keys: IssuerKeys) -> None:
        self._issuers = issuers
        self._keys = keys

    def verify(self, token: str, now: int, spiffe: bool = False) -> WorkloadToken:
        """The verified token, ``Refused`` with the reason, or ``TemporarilyUnavailable``
        when the issuer's keys were never fetched and cannot be fetched now."""
        if len(token) > MAX_TOKEN_LENGTH:
            raise Refused("token too long")
        if jws_repeats_a_member(token):  # PyJWT would read the last duplicate
            raise Refused("a member name is given twice")
        try:
            header = jwt.get_unverified_header(token)
            unverified = jwt.decode(token, options={"verify_signature": False})
        except jwt.PyJWTError:
            raise Refused("not a JWT") from None
        trusted = self._issuer(spiffe, unverified)
        alg = header.get("alg")
        if not isinstance(alg, str) or alg not in ALGORITHMS:  # a dict or list: unhashable
            raise Refused("alg not allowed")
        if "crit" in header:
            raise Refused("crit not understood")
        typ = header.get("typ")
        if typ is not None and (not isinstance(typ, str) or typ.lower() in REFUSED_TYPES):
            raise Refused("typ is not a workload token's")
        kid = string_claim(header.get("kid"), "kid", 256)
        try:
            jwk = self._keys.key(trusted, kid)
        except KeysUnavailable:
            log.warning("issuer keys unavailable issuer_id=%s", trusted.issuer_id)
            raise TemporarilyUnavailable("The issuer's keys cannot be fetched now.") from None
        if jwk is None:
            raise Refused("unknown kid")
        if jwk.get("alg") not in (None, alg):
            raise Refused("alg differs from the key's")
        try:
            key = jwt.PyJWK(jwk, algorithm=alg)
            claims = jwt.decode(token, key, algorithms=[alg], options={
                "verify_exp": False, "verify_nbf": False, "verify_iat": False,
                "verify_aud": False, "verify_iss": False, "verify_sub": False,
                "verify_jti": False,
            })
        except (jwt.PyJWTError, ValueError, TypeError):
            raise Refused("signature or key invalid") from None
        _check_times(trusted, claims, now)
        return WorkloadToken(trusted, claims)

    def _issuer(self, spiffe: bool, claims: dict[str, Any]) -> TrustedIssuer:
        if spiffe:
            domain = trust_domain_of(string_claim(claims.get("sub"), "sub", MAX_SUBJECT_LENGTH))
            if domain is None:
                raise Refused("sub is not a SPIFFE ID")
            name = spiffe_issuer(domain)
        else:
            name = string_claim(claims.get("iss"), "iss", 512)
        trusted = self._issuers.get_issuer(issuer_id_for(name))
        if trusted is None or trusted.issuer != name or (trusted.kind == "spiffe") != spiffe:
            raise Refused("issuer not registered")
        return trusted


def _check_times(trusted: TrustedIssuer, claims: dict[str, Any], now: int) -> None:
    exp = int_claim(claims, "exp", required=True)
    assert exp is not None  # noqa: S101 - required=True
    nbf = int_claim(claims, "nbf")
    iat = int_claim(claims, "iat")
    if exp <= now - LEEWAY:
        raise Refused("expired")
    if (nbf is not None and nbf > now + LEEWAY) or (iat is not None and iat > now + LEEWAY):
        raise Refused("not yet valid")
    if exp - (iat if iat is not None else now) > trusted.max_token_lifetime:
        raise Refused("lifetime longer than the issuer's maximum")
