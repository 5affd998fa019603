"""JWKs (RFC 7517/7518 §6) and JWK thumbprints (RFC 7638)."""

from __future__ import annotations

import base64
import hashlib

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from chalicelib.tokens.jwk import UnsupportedKey, load_public_key, public_jwk, thumbprint

# RFC 7638 §3.1: the example RSA key and its SHA-256 thumbprint.
RFC7638_N = (
    "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJEC"
    "PebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2Q"
    "vzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQF"
    "h6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw"
)
RFC7638_THUMBPRINT = "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"


def der(public_key: object) -> bytes:
    return public_key.public_bytes(  # type: ignore[attr-defined, no-any-return]
        Encoding.DER, PublicFormat.SubjectPublicKeyInfo
    )


def test_thumbprint_matches_rfc7638_example_and_ignores_optional_members() -> None:
    jwk = {"kty": "RSA", "n": RFC7638_N, "e": "AQAB", "alg": "RS256", "kid": "2011-04-29"}

    assert thumbprint(jwk) == RFC7638_THUMBPRINT


def test_public_jwk_of_rfc7638_key_has_its_thumbprint() -> None:
    n = int.from_bytes(base64.urlsafe_b64decode(RFC7638_N + "=="), "big")
    key = rsa.RSAPublicNumbers(65537, n).public_key()

    jwk = public_jwk(key)

    assert jwk == {"kty": "RSA", "n": RFC7638_N, "e": "AQAB"}
    assert thumbprint(jwk) == RFC7638_THUMBPRINT


def test_ec_thumbprint_hashes_crv_kty_x_y_in_lexicographic_order() -> None:
    jwk = public_jwk(ec.generate_private_key(ec.SECP256R1()).public_key())
    canonical = f'{{"crv":"P-256","kty":"EC","x":"{jwk["x"]}","y":"{jwk["y"]}"}}'
    expected = base64.urlsafe_b64encode(hashlib.sha256(canonical.encode()).digest())

    assert thumbprint({**jwk, "kid": "k", "use": "sig", "alg": "ES256"}) == (
        expected.decode().rstrip("=")
    )


def test_ec_jwk_coordinates_keep_leading_zero_bytes() -> None:
    # GIVEN a key with a coordinate below 2**248 (about 1 key in 128)
    for _ in range(10_000):
        key = ec.generate_private_key(ec.SECP256R1()).public_key()
        point = key.public_numbers()
        if min(point.x, point.y) < 2**248:
            break
    else:
        pytest.fail("no P-256 key with a short coordinate found")

    jwk = public_jwk(key)

    for name, value in (("x", point.x), ("y", point.y)):
        assert base64.urlsafe_b64decode(jwk[name] + "=") == value.to_bytes(32, "big")


@pytest.mark.parametrize(
    "private_key",
    [
        rsa.generate_private_key(public_exponent=65537, key_size=2048),
        ec.generate_private_key(ec.SECP256R1()),
    ],
    ids=["RSA", "EC P-256"],
)
def test_public_jwk_round_trips_through_pyjwt(private_key: object) -> None:
    public_key = private_key.public_key()  # type: ignore[attr-defined]

    loaded = jwt.PyJWK(public_jwk(public_key)).key

    assert loaded.public_numbers() == public_key.public_numbers()


def test_load_public_key_accepts_rsa_and_p256_der() -> None:
    rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048).public_key()
    ec_key = ec.generate_private_key(ec.SECP256R1()).public_key()

    assert load_public_key(der(rsa_key)).public_numbers() == rsa_key.public_numbers()
    assert load_public_key(der(ec_key)).public_numbers() == ec_key.public_numbers()


@pytest.mark.parametrize(
    "private_key",
    [ed25519.Ed25519PrivateKey.generate(), ec.generate_private_key(ec.SECP384R1())],
    ids=["Ed25519", "EC P-384"],
)
def test_load_public_key_rejects_other_key_types(private_key: object) -> None:
    with pytest.raises(UnsupportedKey):
        load_public_key(der(private_key.public_key()))  # type: ignore[attr-defined]


@pytest.mark.parametrize("kty", ["oct", "OKP", None])
def test_thumbprint_of_unsupported_kty_raises_unsupported_key(kty: str | None) -> None:
    with pytest.raises(UnsupportedKey):
        thumbprint({"kty": kty, "k": "c2VjcmV0"})


def test_public_jwk_of_a_non_p256_ec_key_raises_unsupported_key() -> None:
    with pytest.raises(UnsupportedKey):
        public_jwk(ec.generate_private_key(ec.SECP384R1()).public_key())


@pytest.mark.parametrize("value", [0, 1, 255, 256, 65537, 2**2048 - 1, 2**256 + 12345])
def test_base64url_uint_matches_pyjwt(value: int) -> None:
    from jwt.utils import to_base64url_uint as pyjwt_uint

    from chalicelib.tokens.b64 import to_base64url_uint

    assert to_base64url_uint(value) == pyjwt_uint(value)


@pytest.mark.parametrize("data", [b"", b"f", b"fo", b"foo", bytes(range(256))])
def test_base64url_encode_matches_pyjwt_without_padding(data: bytes) -> None:
    from jwt.utils import base64url_encode as pyjwt_encode

    from chalicelib.tokens.b64 import base64url_encode

    assert base64url_encode(data) == pyjwt_encode(data)
