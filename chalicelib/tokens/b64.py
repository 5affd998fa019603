"""base64url without padding (RFC 7515 §2, RFC 7518 §2 Base64urlUInt), from the
standard library: borrowing PyJWT's helpers would load PyJWT and
``cryptography.x509`` at cold start for three lines of code."""

from __future__ import annotations

import base64


def base64url_encode(data: bytes) -> bytes:
    """BASE64URL(data) without ``=`` padding (RFC 7515 §2)."""
    return base64.urlsafe_b64encode(data).rstrip(b"=")


def to_base64url_uint(value: int) -> bytes:
    """A non-negative integer as Base64urlUInt: big-endian, minimal octets (RFC 7518 §2)."""
    if value < 0:
        raise ValueError("Base64urlUInt encodes non-negative integers only")
    length = max(1, (value.bit_length() + 7) // 8)
    return base64url_encode(value.to_bytes(length, "big"))
