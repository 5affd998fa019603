"""Checking one DPoP proof JWT (RFC 9449 §4.2, §4.3) at the token endpoint.

Imported only when a request carries a ``DPoP`` header: it loads PyJWT and
cryptography, which a token request without a proof never pays for.

Every rule of §4.3, each refused with ``invalid_dpop_proof`` and a description that
names it (a proof holds nothing secret, and the client needs to know what to fix):

- exactly one ``DPoP`` header field, holding one compact JWS (a second field, or two
  values joined by a comma, is refused);
- header: ``typ`` ``dpop+jwt``; ``alg`` one of :data:`KEY_TYPES` (asymmetric only:
  never ``none`` or an HMAC); no ``crit``; ``jwk`` a public key of a type that fits
  ``alg`` (RSA of at least 2048 bits, EC P-256/P-384, Ed25519) with no private member;
- the signature verifies with that ``jwk``;
- claims: ``jti`` (1 to 256 characters), ``htm`` equal to the request method, ``htu``
  equal to our token endpoint URL as the issuer defines it (compared without query and
  fragment, scheme and host case-insensitive, default port elided), ``iat`` within
  the window around now, no ``ath`` (it hashes an access token, §4.2, which a token
  request does not carry);
- the caller then checks the server nonce (§8) and spends the ``jti`` (§11.1).
"""

from __future__ import annotations

import base64
import binascii
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa

from ..errors import InvalidDpopProof
from ..tokens.jwk import UnsupportedKey, thumbprint
from .json_members import DuplicateMember, loads_unique

DPOP_TYPE = "dpop+jwt"
KEY_TYPES: Mapping[str, tuple[str, str | None]] = {
    "ES256": ("EC", "P-256"),
    "ES384": ("EC", "P-384"),
    "RS256": ("RSA", None),
    "PS256": ("RSA", None),
    "EdDSA": ("OKP", "Ed25519"),
}
"""The accepted algorithms (``SIGNING_ALGS`` of :mod:`.dpop`) and the key each needs."""
PRIVATE_MEMBERS = frozenset({"d", "p", "q", "dp", "dq", "qi", "oth", "k"})
MIN_RSA_BITS = 2048
MAX_PROOF_LENGTH = 8192
MAX_JTI_LENGTH = 256
DEFAULT_PORTS = {"https": 443, "http": 80}


@dataclass(frozen=True)
class VerifiedProof:
    """What a valid proof tells the token endpoint."""

    jkt: str
    """RFC 7638 thumbprint of the proof key: the token's ``cnf.jkt`` (§6.1)."""
    jti: str
    iat: int
    nonce: str | None


def normalized_uri(uri: str) -> str | None:
    """``uri`` without query and fragment, scheme and host lower-cased, the default
    port dropped and an empty path as ``/`` (RFC 9449 §4.3 item 9, RFC 3986 §6.2.2-3);
    ``None`` if it is not an absolute http(s) URI with a host and no user info."""
    try:
        parts = urlsplit(uri)
        port = parts.port
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    host = parts.hostname
    if scheme not in DEFAULT_PORTS or not host or parts.username is not None:
        return None
    host = f"[{host}]" if ":" in host else host
    netloc = host if port in (None, DEFAULT_PORTS[scheme]) else f"{host}:{port}"
    return f"{scheme}://{netloc}{parts.path or '/'}"


def _segment(segment: str) -> dict[str, Any]:
    try:
        raw = base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))
        value = loads_unique(raw)
    except DuplicateMember:
        raise InvalidDpopProof("The DPoP proof names a member twice.") from None
    except (binascii.Error, ValueError, RecursionError):
        raise InvalidDpopProof("The DPoP proof is not a JWT.") from None
    if not isinstance(value, dict):
        raise InvalidDpopProof("The DPoP proof is not a JWT.")
    return value


def _single_proof(values: tuple[str, ...]) -> str:
    if len(values) != 1:
        raise InvalidDpopProof("Send exactly one DPoP header field.")
    proof = values[0].strip()
    if "," in proof:
        raise InvalidDpopProof("Send exactly one DPoP proof.")
    if not proof or len(proof) > MAX_PROOF_LENGTH or proof.count(".") != 2 or not proof.isascii():
        raise InvalidDpopProof("The DPoP proof is not a compact JWS.")
    return proof


def _public_key(header: Mapping[str, Any]) -> tuple[str, Any, dict[str, Any]]:
    """The proof's ``alg``, its ``jwk`` as a key object, and the ``jwk``."""
    typ = header.get("typ")
    if not isinstance(typ, str) or typ.lower() != DPOP_TYPE:
        raise InvalidDpopProof("The DPoP proof's typ must be dpop+jwt.")
    alg = header.get("alg")
    if not isinstance(alg, str) or alg not in KEY_TYPES:
        raise InvalidDpopProof(
            f"The DPoP proof's alg must be one of {', '.join(KEY_TYPES)}."
        )
    if "crit" in header:
        raise InvalidDpopProof("The DPoP proof uses critical header extensions.")
    jwk = header.get("jwk")
    if not isinstance(jwk, dict):
        raise InvalidDpopProof("The DPoP proof has no jwk header.")
    if PRIVATE_MEMBERS & set(jwk):
        raise InvalidDpopProof("The DPoP proof's jwk must be a public key.")
    kty, crv = KEY_TYPES[alg]
    if jwk.get("kty") != kty or (crv is not None and jwk.get("crv") != crv):
        raise InvalidDpopProof(f"The DPoP proof's jwk does not fit alg {alg}.")
    if jwk.get("alg", alg) != alg:
        raise InvalidDpopProof("The DPoP proof's jwk names another alg.")
    try:
        key = jwt.PyJWK(jwk, algorithm=alg).key
    except (jwt.PyJWTError, ValueError, TypeError, KeyError):
        raise InvalidDpopProof("The DPoP proof's jwk is not a valid key.") from None
    if isinstance(key, rsa.RSAPublicKey) and key.key_size < MIN_RSA_BITS:
        raise InvalidDpopProof(f"The DPoP proof's RSA key must have {MIN_RSA_BITS} bits.")
    return alg, key, jwk


def _signed_claims(proof: str, alg: str, key: Any) -> dict[str, Any]:
    options: Any = {
        "verify_signature": True, "verify_exp": False, "verify_nbf": False,
        "verify_iat": False, "verify_aud": False, "verify_iss": False,
    }
    try:
        claims = jwt.decode(proof, key, algorithms=[alg], options=options)
    except jwt.InvalidSignatureError:
        raise InvalidDpopProof("The DPoP proof's signature is invalid.") from None
    except (jwt.PyJWTError, ValueError, TypeError):
        raise InvalidDpopProof("The DPoP proof is not a valid JWS.") from None
    if not isinstance(claims, dict):
        raise InvalidDpopProof("The DPoP proof is not a JWT.")
    return claims


def _issued_at(claims: Mapping[str, Any], now: int, window: int) -> int:
    iat = claims.get("iat")
    if isinstance(iat, bool) or not isinstance(iat, int | float) or not math.isfinite(iat):
        raise InvalidDpopProof("The DPoP proof needs a numeric iat.")
    if iat < now - window:
        raise InvalidDpopProof("The DPoP proof is too old (iat).")
    if iat > now + window:
        raise InvalidDpopProof("The DPoP proof is issued in the future (iat).")
    return int(iat)


def verify_proof(
    values: tuple[str, ...], *, method: str, url: str, now: int, window: int
) -> VerifiedProof:
    """Check the ``DPoP`` header field values of a token request for ``url``."""
    proof = _single_proof(values)
    header, payload = proof.split(".")[:2]
    alg, key, jwk = _public_key(_segment(header))
    _segment(payload)  # PyJWT keeps the last of a repeated claim: refuse it first
    claims = _signed_claims(proof, alg, key)
    jti = claims.get("jti")
    if not isinstance(jti, str) or not 0 < len(jti) <= MAX_JTI_LENGTH:
        raise InvalidDpopProof("The DPoP proof needs a jti of 1 to 256 characters.")
    if claims.get("htm") != method:
        raise InvalidDpopProof("The DPoP proof's htm does not match the request method.")
    htu = claims.get("htu")
    expected = normalized_uri(url)
    if not isinstance(htu, str) or expected is None or normalized_uri(htu) != expected:
        raise InvalidDpopProof("The DPoP proof's htu does not match the token endpoint.")
    iat = _issued_at(claims, now, window)
    if "ath" in claims:
        raise InvalidDpopProof("A DPoP proof for the token endpoint has no ath.")
    nonce = claims.get("nonce")
    if nonce is not None and not isinstance(nonce, str):
        raise InvalidDpopProof("The DPoP proof's nonce must be a string.")
    try:
        jkt = thumbprint(jwk)
    except UnsupportedKey:
        raise InvalidDpopProof("The DPoP proof's jwk is not a valid key.") from None
    return VerifiedProof(jkt=jkt, jti=jti, iat=iat, nonce=nonce)
