"""`private_key_jwt` client authentication (RFC 7523 §2.2, §3): `TokenClient(credentials=...)`.

Every token request carries a fresh JWT signed with the client's private key:
`iss` = `sub` = the client_id, `aud` = the authorization server's issuer identifier (never
the token endpoint URL: draft-ietf-oauth-rfc7523bis, after CVE-2025-27370/27371), header
`typ` `client-authentication+jwt`, a random `jti`, and a short `exp`. The private key never
leaves the process; the server holds only the public JWK (`m2m apps keys add`).
"""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import Callable, Mapping
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

JWT_BEARER = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
ASSERTION_TYP = "client-authentication+jwt"
MAX_LIFETIME = 300
"""The m2m-auth server refuses assertions valid for longer than five minutes."""

PrivateKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey | ed25519.Ed25519PrivateKey


KeySource = PrivateKey | bytes | str | Mapping[str, Any]


def _load(private_key: KeySource) -> tuple[PrivateKey, str | None]:
    """The key object and the kid a private JWK names (PEM and key objects name none)."""
    if isinstance(private_key, Mapping):
        jwk = dict(private_key)
        loaded = jwt.PyJWK(jwk).key
        if not isinstance(loaded, PrivateKey):
            raise ValueError("the JWK is not a private key")
        kid = jwk.get("kid")
        return loaded, kid if isinstance(kid, str) else None
    if isinstance(private_key, str | bytes):
        data = private_key.encode() if isinstance(private_key, str) else private_key
        pem = serialization.load_pem_private_key(data, password=None)
        if not isinstance(pem, PrivateKey):
            raise ValueError("only RSA, EC P-256 and Ed25519 private keys are supported")
        return pem, None
    if isinstance(private_key, PrivateKey):
        return private_key, None
    raise TypeError("private_key must be a key object, PEM text or a private JWK")


def _default_alg(key: PrivateKey) -> str:
    if isinstance(key, rsa.RSAPrivateKey):
        return "RS256"
    if isinstance(key, ec.EllipticCurvePrivateKey):
        if not isinstance(key.curve, ec.SECP256R1):
            raise ValueError("only the P-256 curve (ES256) is supported for EC keys")
        return "ES256"
    return "EdDSA"


class PrivateKeyJwt:
    """Client credentials without a secret: a private key signs each assertion.

    `private_key` is a cryptography key object, PEM text, or a private JWK (whose `kid`
    is used unless `kid=` is given). `alg` defaults to RS256 for RSA (PS256 also
    accepted), ES256 for EC P-256, EdDSA for Ed25519: it must be the `alg` registered
    with the public key. `public_jwk()` is what to register with `m2m apps keys add`.
    """

    assertion_type = JWT_BEARER

    def __init__(
        self,
        client_id: str,
        private_key: KeySource,
        *,
        kid: str | None = None,
        alg: str | None = None,
        lifetime: int = 60,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if not client_id:
            raise ValueError("client_id must not be empty")
        if not 0 < lifetime <= MAX_LIFETIME:
            raise ValueError(f"lifetime must be 1 to {MAX_LIFETIME} seconds")
        key, jwk_kid = _load(private_key)
        self.client_id = client_id
        self.kid = kid or jwk_kid
        self.alg = alg or _default_alg(key)
        rsa_key = isinstance(key, rsa.RSAPrivateKey)
        allowed = {"RS256", "PS256"} if rsa_key else {_default_alg(key)}
        if self.alg not in allowed:
            raise ValueError(f"alg {self.alg} does not fit this key: {sorted(allowed)}")
        self._key = key
        self._lifetime = lifetime
        self._clock = clock

    def assertion(self, issuer: str) -> str:
        """A fresh assertion for the server whose issuer identifier is `issuer`."""
        now = int(self._clock())
        claims = {
            "iss": self.client_id,
            "sub": self.client_id,
            "aud": issuer,
            "iat": now,
            "exp": now + self._lifetime,
            "jti": secrets.token_urlsafe(24),
        }
        headers: dict[str, Any] = {"typ": ASSERTION_TYP}
        if self.kid:
            headers["kid"] = self.kid
        return jwt.encode(claims, self._key, algorithm=self.alg, headers=headers)

    def public_jwk(self) -> dict[str, Any]:
        """The public half as a JWK with `kid` and `alg`, to register for the app."""
        algorithm = jwt.algorithms.get_default_algorithms()[self.alg]
        members: dict[str, Any] = json.loads(algorithm.to_jwk(self._key.public_key()))
        members.pop("key_ops", None)
        jwk = {**members, "alg": self.alg, "use": "sig"}
        if self.kid:
            jwk["kid"] = self.kid
        return jwk

    def __repr__(self) -> str:  # never the key
        return (
            f"PrivateKeyJwt(client_id={self.client_id!r}, kid={self.kid!r}, alg={self.alg!r})"
        )
