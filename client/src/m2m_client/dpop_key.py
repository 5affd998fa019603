"""A client's DPoP key and the proofs it signs (RFC 9449 §4.2): one proof per HTTP
request, for the token endpoint (no ``ath``) or for a resource (``ath`` = the hash of
the access token it is sent with)."""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

from m2m_client.dpop import DPOP_TYPE, KEY_TYPES, access_token_hash, jwk_thumbprint

PrivateKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey | ed25519.Ed25519PrivateKey
_PUBLIC_MEMBERS = ("kty", "crv", "x", "y", "n", "e")
_CURVES = {"P-256": ec.SECP256R1, "P-384": ec.SECP384R1}


def _key_type(key: PrivateKey) -> tuple[str, str | None]:
    """The JWK ``kty`` and ``crv`` of a private key."""
    if isinstance(key, rsa.RSAPrivateKey):
        return "RSA", None
    if isinstance(key, ed25519.Ed25519PrivateKey):
        return "OKP", "Ed25519"
    curves = {"secp256r1": "P-256", "secp384r1": "P-384"}
    if isinstance(key, ec.EllipticCurvePrivateKey) and key.curve.name in curves:
        return "EC", curves[key.curve.name]
    raise ValueError("a DPoP key is RSA, EC P-256/P-384 or Ed25519")


def _default_alg(key: PrivateKey) -> str:
    kty = _key_type(key)
    return "PS256" if kty[0] == "RSA" else next(a for a, t in KEY_TYPES.items() if t == kty)


def htu_of(url: str) -> str:
    """The ``htu`` of a request URL: without query and fragment (RFC 9449 §4.2)."""
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, parts.path, "", ""))


class DpopKey:
    """An asymmetric private key that signs DPoP proofs; it never leaves the process.

    `DpopKey.generate()` makes a new ES256 key (the usual choice: small, fast, what
    every server supports); `DpopKey.from_pem(...)` loads one, e.g. to keep the binding
    across restarts while tokens are still valid."""

    def __init__(
        self,
        private_key: PrivateKey,
        alg: str | None = None,
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        chosen = alg or _default_alg(private_key)
        if KEY_TYPES.get(chosen) != _key_type(private_key):
            raise ValueError(f"alg {chosen!r} does not fit this key")
        if isinstance(private_key, rsa.RSAPrivateKey) and private_key.key_size < 2048:
            raise ValueError("an RSA DPoP key needs at least 2048 bits")
        self._key = private_key
        self.alg = chosen
        self._clock = clock
        members = json.loads(jwt.algorithms.get_default_algorithms()[chosen].to_jwk(
            private_key.public_key()))
        self.public_jwk: dict[str, str] = {
            k: members[k] for k in _PUBLIC_MEMBERS if k in members
        }
        self.jkt = jwk_thumbprint(self.public_jwk)
        """The key's RFC 7638 thumbprint: the ``cnf.jkt`` of the tokens bound to it."""

    def __repr__(self) -> str:
        return f"DpopKey(alg={self.alg!r}, jkt={self.jkt!r})"

    @classmethod
    def generate(cls, alg: str = "ES256", *, clock: Callable[[], float] = time.time) -> DpopKey:
        key: PrivateKey
        if alg in ("ES256", "ES384"):
            key = ec.generate_private_key(_CURVES[KEY_TYPES[alg][1] or ""]())
        elif alg in ("RS256", "PS256"):
            key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        elif alg == "EdDSA":
            key = ed25519.Ed25519PrivateKey.generate()
        else:
            raise ValueError(f"DPoP algorithms are {sorted(KEY_TYPES)}")
        return cls(key, alg, clock=clock)

    @classmethod
    def from_pem(
        cls, pem: bytes, password: bytes | None = None, alg: str | None = None,
        *, clock: Callable[[], float] = time.time,
    ) -> DpopKey:
        """A PKCS#8 or traditional PEM private key."""
        key = serialization.load_pem_private_key(pem, password)
        if not isinstance(key, rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey
                          | ed25519.Ed25519PrivateKey):
            raise ValueError("a DPoP key is RSA, EC P-256/P-384 or Ed25519")
        return cls(key, alg, clock=clock)

    def private_pem(self, password: bytes | None = None) -> bytes:
        """The key as PKCS#8 PEM (encrypted with ``password`` if given), to store it."""
        encryption: serialization.KeySerializationEncryption = (
            serialization.BestAvailableEncryption(password) if password
            else serialization.NoEncryption()
        )
        return self._key.private_bytes(serialization.Encoding.PEM,
                                       serialization.PrivateFormat.PKCS8, encryption)

    def proof(
        self,
        method: str,
        url: str,
        *,
        access_token: str | None = None,
        nonce: str | None = None,
    ) -> str:
        """A fresh proof for one request: ``htm`` ``method``, ``htu`` ``url`` without
        query and fragment, a random ``jti``, ``iat`` now, ``ath`` for an access token
        and the server's ``nonce`` when it asked for one (§8, §9)."""
        claims: dict[str, Any] = {
            "jti": secrets.token_urlsafe(16),
            "htm": method.upper(),
            "htu": htu_of(url),
            "iat": int(self._clock()),
        }
        if access_token is not None:
            claims["ath"] = access_token_hash(access_token)
        if nonce is not None:
            claims["nonce"] = nonce
        return jwt.encode(claims, self._key, algorithm=self.alg,
                          headers={"typ": DPOP_TYPE, "jwk": self.public_jwk})
