"""private_key_jwt (RFC 7523 §2.2, §3 as revised by draft-ietf-oauth-rfc7523bis): every
rule, each shown to refuse with the same bare invalid_client."""

from __future__ import annotations

import base64
import json
import logging
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization

from chalicelib.errors import InvalidClient, InvalidRequest, ValidationFailed
from chalicelib.oauth.client_auth import AuthenticatedClient, ClientAuthenticator
from chalicelib.oauth.private_key_jwt import CLOCK_SKEW, MAX_LIFETIME, PrivateKeyJwtMethod
from chalicelib.oauth.request import JSON, IncomingRequest, parse_parameters
from chalicelib.runtime import Services
from tests.assertion_keys import ALGS, ClientKeyPair, assertion, assertion_params, new_key_pair
from tests.conftest import ISSUER, Demo, seed_demo
from tests.fakes import FakeClock
from tests.unit.oauth_client import basic, form_request

TOKEN_ENDPOINT = ISSUER + "/oauth/token"


@pytest.fixture
def demo(memory_services: Services) -> Demo:
    return seed_demo(memory_services)


@pytest.fixture
def key(memory_services: Services, demo: Demo) -> ClientKeyPair:
    pair = new_key_pair("ES256", kid="key-1")
    memory_services.provisioning.add_client_key(demo.client_id, pair.public_jwk)
    return pair


@pytest.fixture
def authenticator(memory_services: Services, clock: FakeClock) -> ClientAuthenticator:
    store = memory_services.store
    return ClientAuthenticator(store, clock, [PrivateKeyJwtMethod(store, store)])


def now(clock: FakeClock) -> int:
    return int(clock())


def present(
    authenticator: ClientAuthenticator,
    token: str,
    client_id: str | None = None,
    authorization: str | None = None,
    **extra: str,
) -> AuthenticatedClient:
    request = form_request({**assertion_params(token, client_id), **extra}, authorization)
    return authenticator.authenticate(request, parse_parameters(request), ISSUER)


def refused(authenticator: ClientAuthenticator, token: str, **kwargs: Any) -> InvalidClient:
    with pytest.raises(InvalidClient) as raised:
        present(authenticator, token, **kwargs)
    # no detail that tells which check failed
    assert raised.value.description == InvalidClient().description
    return raised.value


# -- accepted ------------------------------------------------------------------------------


@pytest.mark.parametrize("alg", ALGS)
def test_accepts_an_assertion_signed_with_a_registered_key_of_each_algorithm(
    authenticator: ClientAuthenticator, memory_services: Services, demo: Demo,
    clock: FakeClock, alg: str,
) -> None:
    pair = new_key_pair(alg)
    memory_services.provisioning.add_client_key(demo.client_id, pair.public_jwk)

    client = present(authenticator, assertion(pair, demo.client_id, ISSUER, now(clock)))

    assert client.client_id == demo.client_id
    assert client.method == "private_key_jwt"
    assert client.secret is None


@pytest.mark.parametrize(
    "typ",
    [None, "JWT", "jwt", "client-authentication+jwt", "application/client-authentication+jwt"],
)
def test_accepts_typ_absent_jwt_or_client_authentication_jwt(
    authenticator: ClientAuthenticator, key: ClientKeyPair, demo: Demo, clock: FakeClock,
    typ: str | None,
) -> None:
    token = assertion(key, demo.client_id, ISSUER, now(clock), header={"typ": typ})
    if typ is None:
        token = _reheader(token, key, drop="typ")

    assert present(authenticator, token).client_id == demo.client_id


def test_accepts_a_one_element_audience_array_holding_only_our_issuer(
    authenticator: ClientAuthenticator, key: ClientKeyPair, demo: Demo, clock: FakeClock
) -> None:
    token = assertion(key, demo.client_id, [ISSUER], now(clock))

    assert present(authenticator, token).client_id == demo.client_id


def test_accepts_an_assertion_without_kid_by_trying_the_apps_keys_of_its_alg(
    authenticator: ClientAuthenticator, memory_services: Services, key: ClientKeyPair,
    demo: Demo, clock: FakeClock,
) -> None:
    second = new_key_pair("ES256", kid="key-2")
    memory_services.provisioning.add_client_key(demo.client_id, second.public_jwk)
    token = _reheader(assertion(second, demo.client_id, ISSUER, now(clock)), second, drop="kid")

    assert present(authenticator, token).client_id == demo.client_id


def test_accepts_a_client_id_parameter_equal_to_sub(
    authenticator: ClientAuthenticator, key: ClientKeyPair, demo: Demo, clock: FakeClock
) -> None:
    token = assertion(key, demo.client_id, ISSUER, now(clock))

    assert present(authenticator, token, client_id=demo.client_id).client_id == demo.client_id


def test_accepts_an_assertion_in_a_json_body(
    authenticator: ClientAuthenticator, key: ClientKeyPair, demo: Demo, clock: FakeClock
) -> None:
    body = assertion_params(assertion(key, demo.client_id, ISSUER, now(clock)))
    request = IncomingRequest(json.dumps(body).encode(), JSON)

    client = authenticator.authenticate(request, parse_parameters(request), ISSUER)

    assert client.client_id == demo.client_id


def test_accepts_the_maximum_lifetime_and_a_client_clock_slightly_ahead(
    authenticator: ClientAuthenticator, key: ClientKeyPair, demo: Demo, clock: FakeClock
) -> None:
    ahead = now(clock) + CLOCK_SKEW
    token = assertion(key, demo.client_id, ISSUER, ahead, exp=ahead + MAX_LIFETIME)

    assert present(authenticator, token).client_id == demo.client_id


# -- the negative suite ---------------------------------------------------------------------


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _reheader(token: str, key: ClientKeyPair, drop: str) -> str:
    """Re-sign ``token`` with one header member removed."""
    header = jwt.get_unverified_header(token)
    header.pop(drop, None)
    payload = jwt.decode(token, options={"verify_signature": False})
    return jwt.encode(payload, key.private, algorithm=key.alg, headers=header)


def _unsigned(claims: dict[str, Any], header: dict[str, Any]) -> str:
    return (f"{_b64(json.dumps(header).encode())}.{_b64(json.dumps(claims).encode())}.")


def _claims(client_id: str, at: int, **overrides: Any) -> dict[str, Any]:
    return {"iss": client_id, "sub": client_id, "aud": ISSUER, "iat": at, "exp": at + 60,
            "jti": "jti-" + str(at), **overrides}


def test_refuses_alg_none(
    authenticator: ClientAuthenticator, key: ClientKeyPair, demo: Demo, clock: FakeClock
) -> None:
    token = _unsigned(_claims(demo.client_id, now(clock)), {"alg": "none", "kid": key.kid})

    refused(authenticator, token)


def test_refuses_hs256_signed_with_the_registered_public_key(
    authenticator: ClientAuthenticator, memory_services: Services, demo: Demo, clock: FakeClock
) -> None:
    # GIVEN an RSA key registered, and an attacker who knows its public half
    pair = new_key_pair("RS256", kid="rsa-1")
    memory_services.provisioning.add_client_key(demo.client_id, pair.public_jwk)
    pem = pair.private.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    # WHEN they sign an HS256 assertion with the public key bytes as the HMAC secret
    import hashlib
    import hmac

    header = {"alg": "HS256", "kid": "rsa-1", "typ": "JWT"}
    signing_input = (f"{_b64(json.dumps(header).encode())}."
                     f"{_b64(json.dumps(_claims(demo.client_id, now(clock))).encode())}")
    signature = hmac.new(pem, signing_input.encode(), hashlib.sha256).digest()

    # THEN it is refused
    refused(authenticator, f"{signing_input}.{_b64(signature)}")


@pytest.mark.parametrize(
    "audience",
    [
        "https://other.example",
        TOKEN_ENDPOINT,
        [ISSUER, "https://other.example"],
        [ISSUER, TOKEN_ENDPOINT],
        [TOKEN_ENDPOINT],
        [],
        ISSUER + "/",
    ],
    ids=["wrong", "token-endpoint", "array-with-extra", "array-with-token-endpoint",
         "token-endpoint-array", "empty-array", "trailing-slash"],
)
def test_refuses_any_audience_but_our_issuer_alone(
    authenticator: ClientAuthenticator, key: ClientKeyPair, demo: Demo, clock: FakeClock,
    audience: Any,
) -> None:
    refused(authenticator, assertion(key, demo.client_id, audience, now(clock)))


def test_refuses_an_assertion_without_aud(
    authenticator: ClientAuthenticator, key: ClientKeyPair, demo: Demo, clock: FakeClock
) -> None:
    refused(authenticator, assertion(key, demo.client_id, ISSUER, now(clock), drop=("aud",)))


def test_refuses_an_expired_assertion(
    authenticator: ClientAuthenticator, key: ClientKeyPair, demo: Demo, clock: FakeClock
) -> None:
    token = assertion(key, demo.client_id, ISSUER, now(clock))
    clock.advance(60 + CLOCK_SKEW)

    refused(authenticator, token)


@pytest.mark.parametrize(
    ("iat_offset", "exp_offset"),
    [(0, MAX_LIFETIME + 1), (None, MAX_LIFETIME + CLOCK_SKEW + 1), (-200, 200)],
    ids=["exp-minus-iat", "exp-minus-now-without-iat", "exp-minus-now-within-iat"],
)
def test_refuses_a_lifetime_over_five_minutes(
    authenticator: ClientAuthenticator, key: ClientKeyPair, demo: Demo, clock: FakeClock,
    iat_offset: int | None, exp_offset: int,
) -> None:
    at = now(clock)
    drop = ("iat",) if iat_offset is None else ()
    token = assertion(key, demo.client_id, ISSUER, at, exp=at + exp_offset,
                      iat=at + (iat_offset or 0), drop=drop)

    refused(authenticator, token)


@pytest.mark.parametrize("claim", ["exp", "jti", "iss", "sub"])
def test_refuses_an_assertion_missing_a_required_claim(
    authenticator: ClientAuthenticator, key: ClientKeyPair, demo: Demo, clock: FakeClock,
    claim: str,
) -> None:
    refused(authenticator, assertion(key, demo.client_id, ISSUER, now(clock), drop=(claim,)))


@pytest.mark.parametrize(
    "claims",
    [{"exp": "soon"}, {"exp": True}, {"iat": "now"}, {"jti": 7}, {"jti": "j" * 257},
     {"nbf": 10**10}],
    ids=["exp-string", "exp-bool", "iat-string", "jti-number", "jti-too-long", "nbf-future"],
)
def test_refuses_malformed_or_future_claims(
    authenticator: ClientAuthenticator, key: ClientKeyPair, demo: Demo, clock: FakeClock,
    claims: dict[str, Any],
) -> None:
    refused(authenticator, assertion(key, demo.client_id, ISSUER, now(clock), **claims))


@pytest.mark.parametrize("claim", ["exp", "iat", "nbf"])
@pytest.mark.parametrize("value", [float("inf"), float("-inf"), float("nan")],
                         ids=["Infinity", "-Infinity", "NaN"])
def test_refuses_non_finite_time_claims_with_invalid_client_not_a_crash(
    authenticator: ClientAuthenticator, key: ClientKeyPair, demo: Demo, clock: FakeClock,
    claim: str, value: float,
) -> None:
    # Python's JSON reads Infinity, NaN and 1e400 as floats that int() cannot convert:
    # a key holder's assertion must not turn into a 500
    claims: dict[str, Any] = {claim: value}
    refused(authenticator, assertion(key, demo.client_id, ISSUER, now(clock), **claims))


def _signed_text(key: ClientKeyPair, header: str, payload: str) -> str:
    """A JWS over exactly these JSON texts (which may repeat a member name)."""
    signing_input = f"{_b64(header.encode())}.{_b64(payload.encode())}"
    signature = jwt.get_algorithm_by_name(key.alg).sign(signing_input.encode(), key.private)
    return f"{signing_input}.{_b64(signature)}"


@pytest.mark.parametrize("where", ["payload-sub", "payload-aud", "nested-claim", "header-kid"])
def test_refuses_an_assertion_repeating_a_member_name(
    authenticator: ClientAuthenticator, key: ClientKeyPair, demo: Demo, clock: FakeClock,
    where: str,
) -> None:
    # GIVEN a signed assertion that is valid if the last duplicate wins (as PyJWT reads it)
    header = json.dumps({"alg": key.alg, "kid": key.kid, "typ": "client-authentication+jwt"})
    payload = json.dumps(_claims(demo.client_id, now(clock), cnf={"jkt": "a"}))
    if where == "payload-sub":
        payload = '{"sub": "someone-else", ' + payload[1:]
    elif where == "payload-aud":
        payload = '{"aud": "https://other.example", ' + payload[1:]
    elif where == "nested-claim":
        payload = payload.replace('{"jkt": "a"}', '{"jkt": "b", "jkt": "a"}')
    else:
        header = '{"kid": "other-key", ' + header[1:]
    token = _signed_text(key, header, payload)
    assert jwt.decode(token, options={"verify_signature": False})["sub"] == demo.client_id

    # THEN it is refused with invalid_client, and its jti is not spent
    refused(authenticator, token)


def test_refuses_an_assertion_issued_in_the_future(
    authenticator: ClientAuthenticator, key: ClientKeyPair, demo: Demo, clock: FakeClock
) -> None:
    # iat beyond the allowed skew, though exp - iat and exp - now are within limits
    later = now(clock) + CLOCK_SKEW + 30
    token = assertion(key, demo.client_id, ISSUER, later, exp=later + 60)

    refused(authenticator, token)


def test_refuses_a_replayed_jti_until_it_expires(
    authenticator: ClientAuthenticator, key: ClientKeyPair, demo: Demo, clock: FakeClock
) -> None:
    token = assertion(key, demo.client_id, ISSUER, now(clock))
    assert present(authenticator, token).client_id == demo.client_id

    refused(authenticator, token)
    again = assertion(key, demo.client_id, ISSUER, now(clock),
                      jti=jwt.decode(token, options={"verify_signature": False})["jti"])
    refused(authenticator, again)


def test_a_forged_assertion_does_not_spend_the_jti(
    authenticator: ClientAuthenticator, key: ClientKeyPair, demo: Demo, clock: FakeClock
) -> None:
    # GIVEN an attacker's assertion with a guessed jti, signed by a key not registered
    intruder = new_key_pair("ES256", kid=key.kid)
    refused(authenticator, assertion(intruder, demo.client_id, ISSUER, now(clock), jti="j-1"))

    # THEN the client's own assertion with that jti still works
    token = assertion(key, demo.client_id, ISSUER, now(clock), jti="j-1")
    assert present(authenticator, token).client_id == demo.client_id


def test_refuses_an_unknown_kid(
    authenticator: ClientAuthenticator, key: ClientKeyPair, demo: Demo, clock: FakeClock
) -> None:
    token = assertion(key, demo.client_id, ISSUER, now(clock), header={"kid": "other"})

    refused(authenticator, token)


def test_refuses_a_key_that_is_not_registered(
    authenticator: ClientAuthenticator, key: ClientKeyPair, demo: Demo, clock: FakeClock
) -> None:
    refused(authenticator, assertion(new_key_pair("ES256", kid=key.kid), demo.client_id,
                                     ISSUER, now(clock)))


def test_refuses_an_alg_other_than_the_registered_keys(
    authenticator: ClientAuthenticator, memory_services: Services, demo: Demo, clock: FakeClock
) -> None:
    # GIVEN an RSA key registered for RS256, used to sign PS256
    pair = new_key_pair("RS256", kid="rsa-1")
    memory_services.provisioning.add_client_key(demo.client_id, pair.public_jwk)
    as_pss = ClientKeyPair(pair.kid, "PS256", pair.private)

    refused(authenticator, assertion(as_pss, demo.client_id, ISSUER, now(clock)))


def test_refuses_iss_different_from_sub(
    authenticator: ClientAuthenticator, memory_services: Services, key: ClientKeyPair,
    demo: Demo, clock: FakeClock,
) -> None:
    other, _ = memory_services.provisioning.create_app(name="Other")

    refused(authenticator, assertion(key, demo.client_id, ISSUER, now(clock),
                                     sub=other.client_id))


def test_refuses_an_assertion_naming_another_app_signed_with_this_apps_key(
    authenticator: ClientAuthenticator, memory_services: Services, key: ClientKeyPair,
    clock: FakeClock,
) -> None:
    # GIVEN another app, with a key of its own
    other, _ = memory_services.provisioning.create_app(name="Other")
    memory_services.provisioning.add_client_key(
        other.client_id, new_key_pair("ES256", kid=key.kid).public_jwk
    )

    # WHEN this app's key signs an assertion whose iss and sub name the other app
    refused(authenticator, assertion(key, other.client_id, ISSUER, now(clock)))


def test_refuses_a_client_id_parameter_different_from_sub(
    authenticator: ClientAuthenticator, memory_services: Services, key: ClientKeyPair,
    demo: Demo, clock: FakeClock,
) -> None:
    other, _ = memory_services.provisioning.create_app(name="Other")

    refused(authenticator, assertion(key, demo.client_id, ISSUER, now(clock)),
            client_id=other.client_id)


def test_refuses_an_unknown_client(
    authenticator: ClientAuthenticator, key: ClientKeyPair, clock: FakeClock
) -> None:
    refused(authenticator, assertion(key, "a" * 26, ISSUER, now(clock)))


def test_refuses_an_assertion_of_a_disabled_app(
    authenticator: ClientAuthenticator, memory_services: Services, key: ClientKeyPair,
    demo: Demo, clock: FakeClock,
) -> None:
    memory_services.provisioning.set_enabled(demo.client_id, False)

    refused(authenticator, assertion(key, demo.client_id, ISSUER, now(clock)))


def test_refuses_an_assertion_after_its_key_is_removed(
    authenticator: ClientAuthenticator, memory_services: Services, key: ClientKeyPair,
    demo: Demo, clock: FakeClock,
) -> None:
    memory_services.provisioning.remove_client_key(demo.client_id, key.kid)

    refused(authenticator, assertion(key, demo.client_id, ISSUER, now(clock)))


@pytest.mark.parametrize(
    "header",
    [{"crit": ["exp"]}, {"crit": ["b64"], "b64": True}, {"typ": "at+jwt"}, {"typ": 5},
     {"kid": 5}],
    ids=["crit", "crit-b64", "typ-access-token", "typ-number", "kid-number"],
)
def test_refuses_crit_and_other_typ_or_kid_headers(
    authenticator: ClientAuthenticator, key: ClientKeyPair, demo: Demo, clock: FakeClock,
    header: dict[str, Any],
) -> None:
    token = _forge_header(key, _claims(demo.client_id, now(clock)),
                          {"alg": key.alg, "kid": key.kid, **header})

    refused(authenticator, token)


def _forge_header(key: ClientKeyPair, claims: dict[str, Any], header: dict[str, Any]) -> str:
    """Sign with an arbitrary header (PyJWT would refuse some members itself)."""
    signing_input = f"{_b64(json.dumps(header).encode())}.{_b64(json.dumps(claims).encode())}"
    algorithm = jwt.algorithms.get_default_algorithms()[key.alg]
    signature = algorithm.sign(signing_input.encode(), key.private)  # type: ignore[arg-type]
    return f"{signing_input}.{_b64(signature)}"


@pytest.mark.parametrize(
    "token",
    ["a.b.c", "not-a-jwt", "eyJhbGciOiJFUzI1NiJ9.e30.", "x" * 50],
    ids=["garbage", "no-dots", "empty-claims", "no-structure"],
)
def test_refuses_garbage_with_invalid_client(
    authenticator: ClientAuthenticator, token: str
) -> None:
    refused(authenticator, token)


def test_refuses_an_assertion_mixed_with_basic_or_a_secret_with_invalid_request(
    authenticator: ClientAuthenticator, key: ClientKeyPair, demo: Demo, clock: FakeClock
) -> None:
    token = assertion(key, demo.client_id, ISSUER, now(clock))

    with pytest.raises(InvalidRequest):
        present(authenticator, token, authorization=basic(demo.client_id, demo.client_secret))
    with pytest.raises(InvalidRequest):
        present(authenticator, token, client_id=demo.client_id,
                client_secret=demo.client_secret)


def test_never_logs_the_assertion_and_logs_why_it_failed(
    authenticator: ClientAuthenticator, key: ClientKeyPair, demo: Demo, clock: FakeClock,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO)
    token = assertion(key, demo.client_id, ISSUER + "/x", now(clock))

    refused(authenticator, token)

    assert token not in caplog.text
    assert token.split(".")[2] not in caplog.text
    assert "reason=aud" in caplog.text


# -- registered keys that anyone could sign for -------------------------------------------

# The Ed25519 points of small order (libsodium's blocklist), with the sign bit clear and set.
_SMALL_ORDER = [bytes.fromhex(h) for h in (
    "0000000000000000000000000000000000000000000000000000000000000000",
    "0100000000000000000000000000000000000000000000000000000000000000",
    "26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05",
    "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a",
    "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
    "edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
    "eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
)]
SMALL_ORDER_POINTS = _SMALL_ORDER + [p[:31] + bytes([p[31] | 0x80]) for p in _SMALL_ORDER]


@pytest.mark.parametrize("point", SMALL_ORDER_POINTS, ids=lambda p: p.hex()[:8] + p.hex()[-2:])
def test_refuses_to_register_an_ed25519_key_of_small_order(
    memory_services: Services, demo: Demo, point: bytes
) -> None:
    # With such a public key the cofactorless check OpenSSL does accepts R = the point,
    # s = 0 as a signature of every message: anyone could sign the app's assertions.
    jwk = {"kty": "OKP", "crv": "Ed25519", "x": _b64(point), "kid": "weak", "alg": "EdDSA"}

    with pytest.raises(ValidationFailed):
        memory_services.provisioning.add_client_key(demo.client_id, jwk)

    assert memory_services.store.get_credentials(demo.client_id).keys == ()  # type: ignore[union-attr]



def _rsa_jwk(n: int) -> dict[str, Any]:
    return {"kty": "RSA", "alg": "RS256", "kid": "weak-rsa", "e": "AQAB",
            "n": _b64(n.to_bytes((n.bit_length() + 7) // 8, "big"))}


M2203 = 2**2203 - 1  # Mersenne primes: large primes that need no generator
M2281 = 2**2281 - 1


@pytest.mark.parametrize("modulus", [M2203, 2 * M2203, 3 * M2281],
                         ids=["prime", "two-times-a-prime", "three-times-a-prime"])
def test_refuses_to_register_an_rsa_modulus_anyone_can_factor(
    memory_services: Services, demo: Demo, modulus: int
) -> None:
    # With n prime, or a small factor times a prime, phi(n) and so the private exponent
    # follow from n alone: anyone could sign the app's assertions.
    with pytest.raises(ValidationFailed):
        memory_services.provisioning.add_client_key(demo.client_id, _rsa_jwk(modulus))

    assert memory_services.store.get_credentials(demo.client_id).keys == ()  # type: ignore[union-attr]
