"""JWS Compact Serialization (RFC 7515 §7.1) with a detached signing step.

PyJWT signs only with private keys it holds; our private key never leaves KMS,
so we build the signing input here, have KMS sign it, and append the signature.
Verification uses PyJWT.
"""

from __future__ import annotations

import json
from typing import Any

from .b64 import base64url_encode

ES256_COMPONENT_BYTES = 32


_COMPACT = json.JSONEncoder(separators=(",", ":"))
"""One encoder for every segment: ``json.dumps`` with options builds one per call."""


def segment(value: dict[str, Any]) -> bytes:
    """BASE64URL(UTF8(JSON)) of a JOSE header or claims set (RFC 7515 §7.1)."""
    return base64url_encode(_COMPACT.encode(value).encode("utf-8"))


def signing_input(header: dict[str, Any], claims: dict[str, Any]) -> bytes:
    """ASCII(BASE64URL(header) || '.' || BASE64URL(payload)) (RFC 7515 §5.1)."""
    return segment(header) + b"." + segment(claims)


def compact(signing_input_bytes: bytes, signature: bytes) -> str:
    return (signing_input_bytes + b"." + base64url_encode(signature)).decode("ascii")


def der_to_raw_ecdsa(der: bytes, component_bytes: int = ES256_COMPONENT_BYTES) -> bytes:
    """ES256 signatures are R || S, each 32 bytes big-endian (RFC 7518 §3.4);
    KMS returns the ASN.1 DER ``ECDSA-Sig-Value`` instead."""
    # Imported here: only ES256 keys need it, and not at cold start.
    from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

    r, s = decode_dss_signature(der)
    return r.to_bytes(component_bytes, "big") + s.to_bytes(component_bytes, "big")
