"""Verifier: RFC 9068 §4 / RFC 8725 checks, accepted and rejected tokens."""

from __future__ import annotations

import base64
import json
from typing import Any

import jwt
import pytest
from m2m_testkit import (
    AUDIENCE,
    DROP,
    ISSUER,
    JWKS_URL,
    NOW,
    FakeClock,
    FakeFetcher,
    SigningKey,
    b64url,
    claims,
    forge,
    jwks_response,
)

from m2m_client import InsufficientScope, InvalidToken, Verifier

# --- accepted --------------------------------------------------------------------------------


def test_token_encoded_by_pyjwt_verifies(verifier: Verifier, rsa_key: SigningKey) -> None:
    token = jwt.encode(
        claims(),
        rsa_key.private_key,
        algorithm="RS256",
        headers={"typ": "at+jwt", "kid": rsa_key.kid},
    )

    assert verifier.verify(token).client_id == "svc-billing"


def test_rs256_token_verifies_and_returns_its_claims(
    verifier: Verifier, rsa_key: SigningKey
) -> None:
    token = rsa_key.sign(claims(extra="custom"))

    verified = verifier.verify(token)

    assert verified.client_id == "svc-billing"
    assert verified["sub"] == "svc-billing"
    assert verified["extra"] == "custom"
    assert verified.scopes == frozenset({"orders:read", "orders:write"})
    assert verified.scope == "orders:read orders:write"
    assert verified.expires_at == NOW + 300


def test_es256_token_verifies(verifier: Verifier, ec_key: SigningKey) -> None:
    assert verifier.verify(ec_key.sign(claims())).client_id == "svc-billing"


def test_audience_list_containing_ours_verifies(verifier: Verifier, rsa_key: SigningKey) -> None:
    token = rsa_key.sign(claims(aud=["https://other.example.com", AUDIENCE]))

    assert verifier.verify(token).audience == ("https://other.example.com", AUDIENCE)


@pytest.mark.parametrize("typ", ["at+jwt", "AT+JWT", "application/at+jwt", "Application/AT+JWT"])
def test_access_token_media_type_is_matched_case_insensitively(
    verifier: Verifier, rsa_key: SigningKey, typ: str
) -> None:
    verifier.verify(rsa_key.sign(claims(), typ=typ))


def test_expiry_within_leeway_is_tolerated(
    verifier: Verifier, rsa_key: SigningKey, clock: FakeClock
) -> None:
    token = rsa_key.sign(claims(exp=int(NOW) + 10))
    clock.advance(35)  # 25 s past exp, leeway 30 s

    verifier.verify(token)


def test_required_scopes_granted_verify(verifier: Verifier, rsa_key: SigningKey) -> None:
    verifier.verify(rsa_key.sign(claims()), required_scopes=["orders:read"])
    verifier.verify(rsa_key.sign(claims()), required_scopes="orders:read orders:write")


# --- scope -----------------------------------------------------------------------------------


def test_missing_scope_is_insufficient_scope_with_a_403_challenge(
    verifier: Verifier, rsa_key: SigningKey
) -> None:
    token = rsa_key.sign(claims(scope="orders:read"))

    with pytest.raises(InsufficientScope) as raised:
        verifier.verify(token, required_scopes=["orders:write"])

    assert raised.value.status == 403
    assert raised.value.www_authenticate == (
        f'Bearer realm="{AUDIENCE}", error="insufficient_scope", '
        'error_description="the token lacks the scope orders:write", scope="orders:write"'
    )


def test_scope_tokens_are_case_sensitive(verifier: Verifier, rsa_key: SigningKey) -> None:
    with pytest.raises(InsufficientScope):
        verifier.verify(rsa_key.sign(claims(scope="Orders:Read")), ["orders:read"])


def test_scope_is_read_from_the_scope_string_not_scp(
    verifier: Verifier, rsa_key: SigningKey
) -> None:
    token = rsa_key.sign(claims(scope="orders:read", scp=["orders:read", "orders:write"]))

    with pytest.raises(InsufficientScope):
        verifier.verify(token, ["orders:write"])


# --- rejected: algorithms and keys (RFC 8725 §2.1, §3.1) -------------------------------------


def assert_invalid(verifier: Verifier, token: str) -> InvalidToken:
    with pytest.raises(InvalidToken) as raised:
        verifier.verify(token)
    assert raised.value.status == 401
    assert raised.value.www_authenticate.startswith(
        f'Bearer realm="{AUDIENCE}", error="invalid_token", error_description="'
    )
    return raised.value


def test_invalid_token_challenge_is_rfc6750_shaped(verifier: Verifier) -> None:
    error = assert_invalid(verifier, "not-a-jwt")

    assert error.www_authenticate == (
        f'Bearer realm="{AUDIENCE}", error="invalid_token", '
        'error_description="the token is not a signed JWT"'
    )


def test_unsigned_alg_none_token_is_rejected(verifier: Verifier, rsa_key: SigningKey) -> None:
    token = forge({"alg": "none", "typ": "at+jwt", "kid": rsa_key.kid}, claims())

    assert_invalid(verifier, token)


def test_hs256_signed_with_the_rsa_public_key_pem_is_rejected(
    verifier: Verifier, rsa_key: SigningKey
) -> None:
    header = {"alg": "HS256", "typ": "at+jwt", "kid": rsa_key.kid}
    token = forge(header, claims(), hmac_secret=rsa_key.public_pem())

    assert_invalid(verifier, token)


def test_hs256_signed_with_the_rsa_public_jwk_is_rejected(
    verifier: Verifier, rsa_key: SigningKey
) -> None:
    header = {"alg": "HS256", "typ": "at+jwt", "kid": rsa_key.kid}
    secret = json.dumps(rsa_key.public_jwk()).encode()
    token = forge(header, claims(), hmac_secret=secret)

    assert_invalid(verifier, token)


def test_symmetric_and_none_algorithms_cannot_be_allowed() -> None:
    with pytest.raises(ValueError):
        Verifier(ISSUER, AUDIENCE, JWKS_URL, algorithms=("RS256", "HS256"))
    with pytest.raises(ValueError):
        Verifier(ISSUER, AUDIENCE, JWKS_URL, algorithms=("none",))


def test_alg_that_differs_from_the_keys_alg_is_rejected(
    verifier: Verifier, rsa_key: SigningKey, ec_key: SigningKey
) -> None:
    # An ES256 signature that names the RSA key's kid.
    token = forge(
        {"alg": "ES256", "typ": "at+jwt", "kid": rsa_key.kid}, claims(), key=ec_key, alg="ES256"
    )

    assert_invalid(verifier, token)


def test_allowed_alg_that_the_verifier_was_not_configured_for_is_rejected(
    fetcher: FakeFetcher, clock: FakeClock, ec_key: SigningKey
) -> None:
    rs_only = Verifier(ISSUER, AUDIENCE, JWKS_URL, algorithms=["RS256"], fetch=fetcher, clock=clock)

    assert_invalid(rs_only, ec_key.sign(claims()))


def test_missing_kid_is_rejected(verifier: Verifier, rsa_key: SigningKey) -> None:
    assert_invalid(verifier, rsa_key.sign(claims(), kid=DROP))


def test_unknown_kid_is_rejected(verifier: Verifier, attacker_key: SigningKey) -> None:
    assert_invalid(verifier, attacker_key.sign(claims()))


def test_token_signed_by_another_key_under_a_published_kid_is_rejected(
    verifier: Verifier, rsa_key: SigningKey, attacker_key: SigningKey
) -> None:
    assert_invalid(verifier, attacker_key.sign(claims(), kid=rsa_key.kid))


@pytest.mark.parametrize("header", ["jku", "x5u"])
def test_key_url_headers_are_never_fetched(
    verifier: Verifier, fetcher: FakeFetcher, attacker_key: SigningKey, header: str
) -> None:
    evil = "https://evil.example.net/keys.json"
    fetcher.routes[evil] = jwks_response(attacker_key)

    assert_invalid(verifier, attacker_key.sign(claims(), **{header: evil}))

    assert evil not in fetcher.calls
    assert set(fetcher.calls) == {JWKS_URL}


def test_embedded_jwk_header_is_never_used(
    verifier: Verifier, fetcher: FakeFetcher, rsa_key: SigningKey, attacker_key: SigningKey
) -> None:
    token = attacker_key.sign(claims(), kid=rsa_key.kid, jwk=attacker_key.public_jwk())

    assert_invalid(verifier, token)
    assert set(fetcher.calls) == {JWKS_URL}


def test_embedded_certificate_chain_header_is_never_used(
    verifier: Verifier, rsa_key: SigningKey, attacker_key: SigningKey
) -> None:
    token = attacker_key.sign(claims(), kid=rsa_key.kid, x5c=["MIIBIjANBgkqhkiG9w0BAQEFAAOC"])

    assert_invalid(verifier, token)


def test_tampered_payload_is_rejected(verifier: Verifier, rsa_key: SigningKey) -> None:
    header, _, signature = rsa_key.sign(claims(scope="orders:read")).split(".")
    payload = b64url(json.dumps(claims(scope="orders:read orders:admin")).encode())

    assert_invalid(verifier, f"{header}.{payload}.{signature}")


# --- rejected: header (RFC 9068 §4, RFC 7515 §4.1.11) ----------------------------------------


@pytest.mark.parametrize("typ", ["JWT", "jwt", "at+JWT+x", "application/jwt", DROP])
def test_token_that_is_not_typed_as_an_access_token_is_rejected(
    verifier: Verifier, rsa_key: SigningKey, typ: Any
) -> None:
    assert_invalid(verifier, rsa_key.sign(claims(), typ=typ))


@pytest.mark.parametrize(
    "extra", [{"crit": ["exp"]}, {"crit": ["foo"], "foo": 1}, {"crit": ["b64"], "b64": True}]
)
def test_critical_header_extensions_are_rejected(
    verifier: Verifier, rsa_key: SigningKey, extra: dict[str, Any]
) -> None:
    assert_invalid(verifier, rsa_key.sign(claims(), **extra))


@pytest.mark.parametrize(
    "token",
    [
        "",
        "a.b",
        "a.b.c",
        "a.b.c.d.e",
        "eyJhbGciOiJSUzI1NiJ9.%%%.sig",
        "%%%.a.b",
        "WyJhdCtqd3QiXQ.a.b",  # a header that is a JSON array
        "bm90IGpzb24.a.b",  # a header that is not JSON
        "x" * 9000,
    ],
)
def test_malformed_tokens_are_rejected(verifier: Verifier, token: str) -> None:
    assert_invalid(verifier, token)


def _signed(key: SigningKey, header_segment: str, payload_segment: str) -> str:
    """A compact JWS whose signature is valid over the segments exactly as given."""
    signing_input = f"{header_segment}.{payload_segment}".encode("ascii")
    signature = jwt.get_algorithm_by_name(key.alg).sign(signing_input, key.private_key)
    return f"{header_segment}.{payload_segment}.{b64url(signature)}"


def _segment(value: Any) -> str:
    return b64url(json.dumps(value, separators=(",", ":")).encode())


def _header(key: SigningKey, **extra: Any) -> dict[str, Any]:
    return {"alg": key.alg, "typ": "at+jwt", "kid": key.kid, **extra}


def test_segments_in_base64url_verify(verifier: Verifier, rsa_key: SigningKey) -> None:
    # the control for the encoding tests below: the same claims, canonically encoded
    token = _signed(rsa_key, _segment(_header(rsa_key)), _segment(claims(note="???")))

    assert verifier.verify(token)["note"] == "???"


def test_segments_in_the_standard_base64_alphabet_are_rejected(
    verifier: Verifier, rsa_key: SigningKey
) -> None:
    payload = base64.b64encode(json.dumps(claims(note="???")).encode()).decode().rstrip("=")
    assert "/" in payload  # "???" encodes to "Pz8/" (base64url: "Pz8_")

    assert_invalid(verifier, _signed(rsa_key, _segment(_header(rsa_key)), payload))


def test_padded_segments_are_rejected(verifier: Verifier, rsa_key: SigningKey) -> None:
    payload = base64.urlsafe_b64encode(json.dumps(claims(pad="x")).encode()).decode()
    assert payload.endswith("=")
    token = _signed(rsa_key, _segment(_header(rsa_key)), payload)
    signature_padded = rsa_key.sign(claims()) + "=="  # 256 bytes: 342 characters + "=="

    assert_invalid(verifier, token)
    assert_invalid(verifier, signature_padded)


def test_non_canonical_signature_spelling_is_rejected(
    verifier: Verifier, rsa_key: SigningKey
) -> None:
    token = rsa_key.sign(claims())
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    last = alphabet.index(token[-1])  # 256 bytes: the last character holds 2 bits, 4 unused
    respelled = token[:-1] + alphabet[last | 0b0001]
    assert respelled != token and base64.urlsafe_b64decode(
        respelled.split(".")[2] + "=="
    ) == base64.urlsafe_b64decode(token.split(".")[2] + "==")

    assert verifier.verify(token)
    assert_invalid(verifier, respelled)


@pytest.mark.parametrize("payload", [["not", "an", "object"], "a string", 1])
def test_signed_claims_that_are_not_a_json_object_are_rejected(
    verifier: Verifier, rsa_key: SigningKey, payload: Any
) -> None:
    assert_invalid(verifier, _signed(rsa_key, _segment(_header(rsa_key)), _segment(payload)))


@pytest.mark.parametrize("b64", [True, False])
def test_unencoded_payload_header_is_rejected(
    verifier: Verifier, rsa_key: SigningKey, b64: bool
) -> None:
    header = _segment(_header(rsa_key, b64=b64))

    assert_invalid(verifier, _signed(rsa_key, header, _segment(claims())))


# --- rejected: claims (RFC 9068 §4, RFC 7519 §4.1) -------------------------------------------


@pytest.mark.parametrize(
    "iss",
    [
        "https://evil.example.com",
        "https://auth.example.com.evil.com",  # our issuer as a prefix
        "https://auth.example.co",  # a prefix of our issuer
        "https://auth.example.com/",  # trailing slash: not the same string
        "HTTPS://AUTH.EXAMPLE.COM",
        "auth.example.com",
        ["https://auth.example.com"],
    ],
)
def test_issuer_must_match_exactly(verifier: Verifier, rsa_key: SigningKey, iss: Any) -> None:
    assert_invalid(verifier, rsa_key.sign(claims(iss=iss)))


@pytest.mark.parametrize(
    "aud",
    [
        "https://api.example.com/payments",
        "https://api.example.com/orders/extra",  # ours as a prefix
        "https://api.example.com/order",  # a prefix of ours
        "https://api.example.com",
        ["https://api.example.com/orders/extra", "https://api.example.com"],
        [],
        [AUDIENCE, 7],
        {"aud": AUDIENCE},
    ],
)
def test_audience_must_contain_ours_exactly(
    verifier: Verifier, rsa_key: SigningKey, aud: Any
) -> None:
    assert_invalid(verifier, rsa_key.sign(claims(aud=aud)))


@pytest.mark.parametrize("claim", ["iss", "sub", "aud", "exp", "iat", "jti", "client_id"])
def test_each_required_claim_must_be_present(
    verifier: Verifier, rsa_key: SigningKey, claim: str
) -> None:
    error = assert_invalid(verifier, rsa_key.sign(claims(**{claim: DROP})))

    assert error.description == f"the token lacks the claim {claim}"


def test_expired_token_is_rejected(
    verifier: Verifier, rsa_key: SigningKey, clock: FakeClock
) -> None:
    token = rsa_key.sign(claims())
    clock.advance(300 + 31)

    error = assert_invalid(verifier, token)
    assert error.description == "the token has expired"


def test_not_yet_valid_token_is_rejected(verifier: Verifier, rsa_key: SigningKey) -> None:
    error = assert_invalid(verifier, rsa_key.sign(claims(nbf=int(NOW) + 60)))

    assert error.description == "the token is not valid yet"


def test_token_issued_in_the_future_is_rejected(verifier: Verifier, rsa_key: SigningKey) -> None:
    error = assert_invalid(verifier, rsa_key.sign(claims(iat=int(NOW) + 60, exp=int(NOW) + 600)))

    assert error.description == "the token was issued in the future"


@pytest.mark.parametrize(
    "overrides",
    [
        {"exp": "tomorrow"},
        {"exp": True},
        {"iat": [1]},
        {"nbf": "now"},
        {"sub": 42},
        {"client_id": ""},
        {"jti": {"id": 1}},
        {"scope": ["orders:read"]},
    ],
)
def test_mistyped_claims_are_rejected(
    verifier: Verifier, rsa_key: SigningKey, overrides: dict[str, Any]
) -> None:
    assert_invalid(verifier, rsa_key.sign(claims(**overrides)))


def test_non_finite_expiry_is_rejected(verifier: Verifier, rsa_key: SigningKey) -> None:
    # json.loads accepts Infinity; a token that never expires must not pass.
    header = {"alg": "RS256", "typ": "at+jwt", "kid": rsa_key.kid}
    body = json.dumps(claims()).replace(str(int(NOW) + 300), "Infinity")
    signing_input = b64url(json.dumps(header).encode()) + "." + b64url(body.encode())
    signature = jwt.get_algorithm_by_name("RS256").sign(signing_input.encode(), rsa_key.private_key)

    assert_invalid(verifier, signing_input + "." + b64url(signature))


@pytest.mark.parametrize("overrides", [
    {"exp": 10**400},
    {"iat": -(10**309)},
    {"nbf": -(10**400)},
])
def test_time_claims_too_large_for_a_float_are_rejected(
    verifier: Verifier, rsa_key: SigningKey, overrides: dict[str, Any]
) -> None:
    error = assert_invalid(verifier, rsa_key.sign(claims(**overrides)))

    assert error.description == f"the token's {next(iter(overrides))} claim is not a NumericDate"


def test_realm_can_be_configured(fetcher: FakeFetcher, clock: FakeClock) -> None:
    verifier = Verifier(ISSUER, AUDIENCE, JWKS_URL, realm="orders", fetch=fetcher, clock=clock)

    with pytest.raises(InvalidToken) as raised:
        verifier.verify("garbage")

    assert raised.value.www_authenticate.startswith('Bearer realm="orders", ')


def test_plain_http_jwks_url_is_refused_unless_loopback() -> None:
    with pytest.raises(ValueError):
        Verifier(ISSUER, AUDIENCE, "http://auth.example.com/jwks.json")
    Verifier(ISSUER, AUDIENCE, "http://127.0.0.1:8000/.well-known/jwks.json")
