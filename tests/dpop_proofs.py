"""DPoP proofs for tests (RFC 9449 §4.2), valid by default, each part overridable."""

from __future__ import annotations

import base64
import json
import secrets
from typing import Any

import jwt

from tests.assertion_keys import ClientKeyPair, new_key_pair

KEY_MEMBERS = {"kty", "crv", "x", "y", "n", "e"}


def public_members(key: ClientKeyPair) -> dict[str, Any]:
    """The proof's ``jwk`` header: the public key's members only."""
    return {k: v for k, v in key.public_jwk.items() if k in KEY_MEMBERS}


def dpop_proof(
    key: ClientKeyPair,
    htu: str,
    now: int,
    *,
    htm: str = "POST",
    header: dict[str, Any] | None = None,
    drop: tuple[str, ...] = (),
    **claims: Any,
) -> str:
    """A proof signed by ``key``: ``claims``/``header`` override, ``drop`` removes claims."""
    payload: dict[str, Any] = {
        "jti": secrets.token_urlsafe(12), "htm": htm, "htu": htu, "iat": now, **claims,
    }
    for name in drop:
        payload.pop(name, None)
    headers = {"typ": "dpop+jwt", "jwk": public_members(key), **(header or {})}
    return jwt.encode(payload, key.private, algorithm=key.alg, headers=headers)


def unsigned(header: dict[str, Any], payload: dict[str, Any], signature: bytes = b"") -> str:
    """A compact JWS with any header (``alg: none``, HS256 ...) and a raw signature."""
    def segment(value: bytes) -> str:
        return base64.urlsafe_b64encode(value).rstrip(b"=").decode()

    return ".".join((segment(json.dumps(header).encode()), segment(json.dumps(payload).encode()),
                     segment(signature)))


def es256_key() -> ClientKeyPair:
    return new_key_pair("ES256", kid="dpop")
