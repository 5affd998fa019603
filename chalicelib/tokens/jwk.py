"""Public keys as JWKs (RFC 7517/7518 §6) and their thumbprints (RFC 7638)."""

from __future__ import annotations

import hashlib
import json
from typing import TYPE_CHECKING, Any, TypeAlias

from .b64 import base64url_encode, to_base64url_uint

# cryptography is imported where keys are loaded (the first request), not at cold start.
if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric import ec, rsa

    PublicKey: TypeAlias = rsa.RSAPublicKey | ec.EllipticCurvePublicKey
else:
    PublicKey = Any

# RFC 7638 §3.2: the required members of each key type, in lexicographic order.
# OKP (RFC 8037 §2): crv, kty, x.
_THUMBPRINT_MEMBERS = {
    "RSA": ("e", "kty", "n"), "EC": ("crv", "kty", "x", "y"), "OKP": ("crv", "kty", "x"),
}


class UnsupportedKey(ValueError):
    """The key is not an RSA key or a P-256 EC key."""


def load_public_key(der: bytes) -> PublicKey:
    """Load a SubjectPublicKeyInfo DER, as KMS ``GetPublicKey`` returns it."""
    from cryptography.hazmat.primitives.asymmetric import ec, rsa
    from cryptography.hazmat.primitives.serialization import load_der_public_key

    key = load_der_public_key(der)
    if isinstance(key, rsa.RSAPublicKey):
        return key
    if isinstance(key, ec.EllipticCurvePublicKey) and isinstance(key.curve, ec.SECP256R1):
        return key
    raise UnsupportedKey(f"unsupported public key type {type(key).__name__}")


def public_jwk(key: PublicKey) -> dict[str, str]:
    """The key's required JWK members (RFC 7518 §6.2.1, §6.3.1)."""
    from cryptography.hazmat.primitives.asymmetric import ec, rsa

    if isinstance(key, rsa.RSAPublicKey):
        numbers = key.public_numbers()
        return {
            "kty": "RSA",
            "n": to_base64url_uint(numbers.n).decode("ascii"),
            "e": to_base64url_uint(numbers.e).decode("ascii"),
        }
    if not isinstance(key.curve, ec.SECP256R1):
        raise UnsupportedKey(f"unsupported curve {key.curve.name}")
    point = key.public_numbers()
    size = (key.curve.key_size + 7) // 8
    return {
        "kty": "EC",
        "crv": "P-256",
        "x": base64url_encode(point.x.to_bytes(size, "big")).decode("ascii"),
        "y": base64url_encode(point.y.to_bytes(size, "big")).decode("ascii"),
    }


def thumbprint(jwk: dict[str, Any]) -> str:
    """RFC 7638 §3: SHA-256 over the required members, no whitespace, sorted keys."""
    members = _THUMBPRINT_MEMBERS.get(str(jwk.get("kty")))
    if members is None:
        raise UnsupportedKey(f"no thumbprint members for kty {jwk.get('kty')!r}")
    if not all(isinstance(jwk.get(m), str) for m in members):
        raise UnsupportedKey("a thumbprint member is missing or not a string")
    canonical = json.dumps({m: jwk[m] for m in members}, separators=(",", ":"), sort_keys=True)
    digest = hashlib.sha256(canonical.encode("utf-8")).digest()
    return base64url_encode(digest).decode("ascii")
