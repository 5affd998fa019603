"""JWS Compact Serialization with a detached signer (RFC 7515 §7.1, RFC 7518 §3)."""

from __future__ import annotations

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

from chalicelib.tokens.jws import compact, der_to_raw_ecdsa, signing_input
from tests.fakes import LocalKeySigner

CLAIMS = {"iss": "https://auth.example.test", "sub": "client-a", "name": "Zoë", "n": [1, 2]}


@pytest.mark.parametrize("alg", ["RS256", "ES256"])
def test_compact_token_verifies_with_pyjwt(alg: str) -> None:
    signer = LocalKeySigner()
    key_id = signer.add_rsa("k") if alg == "RS256" else signer.add_ec("k")
    header = {"alg": alg, "typ": "at+jwt", "kid": "kid-1"}
    message = signing_input(header, CLAIMS)

    token = compact(message, signer.sign(key_id, alg, message))

    public_key = signer.keys[key_id].public_key()
    assert jwt.decode(token, public_key, algorithms=[alg]) == CLAIMS
    assert jwt.get_unverified_header(token) == header


def test_signing_input_is_two_base64url_segments_without_padding() -> None:
    message = signing_input({"alg": "RS256"}, {"sub": "ÿÿ?>"})

    header, payload = message.split(b".")
    assert header == b"eyJhbGciOiJSUzI1NiJ9"
    assert b"=" not in payload and b"+" not in payload and b"/" not in payload


def test_compact_appends_base64url_signature() -> None:
    assert compact(b"a.b", b"\xfb\xff") == "a.b.-_8"


@pytest.mark.parametrize(("r", "s"), [(1, 2), (2**200 + 7, 2**255 + 3), (2**256 - 1, 5)])
def test_der_to_raw_ecdsa_pads_r_and_s_to_32_bytes_each(r: int, s: int) -> None:
    raw = der_to_raw_ecdsa(encode_dss_signature(r, s))

    assert len(raw) == 64
    assert int.from_bytes(raw[:32], "big") == r
    assert int.from_bytes(raw[32:], "big") == s
