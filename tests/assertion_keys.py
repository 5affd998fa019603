"""Client key pairs and private_key_jwt assertions for tests (RFC 7523 §2.2)."""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

from chalicelib.oauth.assertion import JWT_BEARER

ALGS = ("RS256", "PS256", "ES256", "EdDSA")
PrivateKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey | ed25519.Ed25519PrivateKey


@dataclass(frozen=True)
class ClientKeyPair:
    kid: str
    alg: str
    private: PrivateKey

    @property
    def public_jwk(self) -> dict[str, Any]:
        """The public JWK to register (with kid and alg)."""
        members: dict[str, Any] = json.loads(
            jwt.algorithms.get_default_algorithms()[self.alg].to_jwk(self.private.public_key())
        )
        return {**members, "kid": self.kid, "alg": self.alg}

    @property
    def private_jwk(self) -> dict[str, Any]:
        members: dict[str, Any] = json.loads(
            jwt.algorithms.get_default_algorithms()[self.alg].to_jwk(self.private)
        )
        return {**members, "kid": self.kid, "alg": self.alg}


def new_key_pair(alg: str = "ES256", kid: str | None = None) -> ClientKeyPair:
    private: PrivateKey
    if alg in ("RS256", "PS256"):
        private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    elif alg == "ES256":
        private = ec.generate_private_key(ec.SECP256R1())
    elif alg == "EdDSA":
        private = ed25519.Ed25519PrivateKey.generate()
    else:
        raise ValueError(alg)
    return ClientKeyPair(kid or f"{alg.lower()}-{secrets.token_hex(4)}", alg, private)


def assertion(
    key: ClientKeyPair,
    client_id: str,
    audience: Any,
    now: int,
    *,
    header: dict[str, Any] | None = None,
    drop: tuple[str, ...] = (),
    **claims: Any,
) -> str:
    """A private_key_jwt assertion: iss = sub = client_id, 60 s lifetime, random jti,
    typ client-authentication+jwt; ``claims``/``header`` override, ``drop`` removes."""
    payload: dict[str, Any] = {
        "iss": client_id, "sub": client_id, "aud": audience,
        "iat": now, "exp": now + 60, "jti": secrets.token_urlsafe(16),
        **claims,
    }
    for name in drop:
        payload.pop(name, None)
    headers = {"kid": key.kid, "typ": "client-authentication+jwt", **(header or {})}
    return jwt.encode(payload, key.private, algorithm=key.alg, headers=headers)


def assertion_params(token: str, client_id: str | None = None) -> dict[str, str]:
    params = {"client_assertion_type": JWT_BEARER, "client_assertion": token}
    if client_id is not None:
        params["client_id"] = client_id
    return params
