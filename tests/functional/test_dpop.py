"""DPoP at the token endpoint (RFC 9449 §4.3, §5, §6, §8) through the Chalice app on
moto: every proof rule with its negative, app and API requirements, server nonces,
token reuse per key, introspection and metadata."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import jwt
import pytest
from chalice.test import Client
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from chalicelib import runtime
from chalicelib.aws.kms_signer import KmsSigner
from chalicelib.store.dynamodb import DynamoDBStore
from chalicelib.store.records import KeyState
from chalicelib.tokens.jwk import thumbprint
from tests.assertion_keys import ClientKeyPair, assertion, assertion_params, new_key_pair
from tests.conftest import (
    AUDIENCE,
    ISSUER,
    TABLE,
    AwsBackend,
    Demo,
    make_settings,
    reuse_off,
    seed_demo,
)
from tests.dpop_proofs import dpop_proof, es256_key, public_members, unsigned
from tests.fakes import FakeClock
from tests.functional.conftest import FORM, basic, body_json, form

TOKEN_URL = ISSUER + "/oauth/token"


def now(clock: FakeClock) -> int:
    return int(clock())


def token_request(http: Any, demo: Demo, proof: str | None = None, **extra: str) -> Any:
    headers = {**FORM, **basic(demo.client_id, demo.client_secret)}
    if proof is not None:
        headers["DPoP"] = proof
    params = {"grant_type": "client_credentials", "audience": AUDIENCE, **extra}
    return http.post("/oauth/token", headers=headers, body=form(**params))


def refused(response: Any, error: str = "invalid_dpop_proof") -> str:
    assert response.status_code == 400, response.body
    body = body_json(response)
    assert body["error"] == error
    assert "access_token" not in body
    return str(body["error_description"])


def claims(response: Any) -> dict[str, Any]:
    assert response.status_code == 200, response.body
    token = body_json(response)["access_token"]
    return dict(jwt.decode(token, options={"verify_signature": False}))


@pytest.fixture
def key() -> ClientKeyPair:
    return es256_key()


# ---- a valid proof binds the token -------------------------------------------------------


def test_valid_proof_gets_a_dpop_token_bound_to_the_proof_key(
    http: Any, demo: Demo, key: ClientKeyPair, clock: FakeClock
) -> None:
    response = token_request(http, demo, dpop_proof(key, TOKEN_URL, now(clock)))

    assert body_json(response)["token_type"] == "DPoP"
    assert claims(response)["cnf"] == {"jkt": thumbprint(public_members(key))}


def test_request_without_a_proof_gets_a_bearer_token_without_cnf(
    http: Any, demo: Demo
) -> None:
    response = token_request(http, demo)

    assert body_json(response)["token_type"] == "Bearer"
    assert "cnf" not in claims(response)
    assert "DPoP-Nonce" not in response.headers  # nonces are off by default


@pytest.mark.parametrize("alg", ["ES256", "RS256", "PS256", "EdDSA"])
def test_every_advertised_algorithm_binds_a_token(
    http: Any, demo: Demo, clock: FakeClock, alg: str
) -> None:
    pair = new_key_pair(alg)

    response = token_request(http, demo, dpop_proof(pair, TOKEN_URL, now(clock)))

    assert claims(response)["cnf"]["jkt"] == thumbprint(public_members(pair))


def test_es384_proof_binds_a_token(http: Any, demo: Demo, clock: FakeClock) -> None:
    pair = ClientKeyPair("p384", "ES384", ec.generate_private_key(ec.SECP384R1()))

    response = token_request(http, demo, dpop_proof(pair, TOKEN_URL, now(clock)))

    assert body_json(response)["token_type"] == "DPoP"


def test_htu_is_compared_without_query_and_fragment_and_case_of_scheme_and_host(
    http: Any, demo: Demo, key: ClientKeyPair, clock: FakeClock
) -> None:
    htu = "HTTPS://AUTH.example.test:443/v1/oauth/token?x=1#frag"

    response = token_request(http, demo, dpop_proof(key, htu, now(clock)))

    assert body_json(response)["token_type"] == "DPoP"


def test_proof_spends_one_conditional_write_and_nothing_else(
    http: Any, moto_services: runtime.Services, demo: Demo, key: ClientKeyPair,
    clock: FakeClock, aws: AwsBackend,
) -> None:
    reuse_off(moto_services, demo)
    token_request(http, demo)  # warm: keys loaded
    aws.counter.reset()
    token_request(http, demo, dpop_proof(key, TOKEN_URL, now(clock)))
    bound = dict(aws.counter.calls)
    aws.counter.reset()
    token_request(http, demo)
    bearer = dict(aws.counter.calls)

    assert bound.pop("dynamodb:PutItem") == 1
    assert bound == bearer


# ---- each rule of RFC 9449 §4.3 refuses ------------------------------------------------------


def test_refuses_a_proof_for_another_token_endpoint(
    http: Any, demo: Demo, key: ClientKeyPair, clock: FakeClock
) -> None:
    for htu in ("https://evil.example/v1/oauth/token", ISSUER + "/oauth/introspect",
                "http://auth.example.test/v1/oauth/token", ISSUER + "/oauth/token/",
                "https://auth.example.test:8443/v1/oauth/token", "not a url"):
        description = refused(token_request(http, demo, dpop_proof(key, htu, now(clock))))
        assert "htu" in description


def test_htu_is_never_rebuilt_from_the_host_header(
    http: Any, demo: Demo, key: ClientKeyPair, clock: FakeClock
) -> None:
    proof = dpop_proof(key, "https://attacker.example/oauth/token", now(clock))
    response = http.post(
        "/oauth/token", body=form(grant_type="client_credentials", audience=AUDIENCE),
        headers={**FORM, **basic(demo.client_id, demo.client_secret), "DPoP": proof,
                 "Host": "attacker.example"},
    )

    refused(response)


def test_refuses_a_proof_for_another_method(
    http: Any, demo: Demo, key: ClientKeyPair, clock: FakeClock
) -> None:
    for htm in ("GET", "post", "PUT"):
        proof = dpop_proof(key, TOKEN_URL, now(clock), htm=htm)
        assert "htm" in refused(token_request(http, demo, proof))


def test_refuses_an_ath_at_the_token_endpoint(
    http: Any, demo: Demo, key: ClientKeyPair, clock: FakeClock
) -> None:
    ath = "fUHyO2r2Z3DZ53EsNrWBb0xWXoaNy59IiKCAqksmQEo"
    proof = dpop_proof(key, TOKEN_URL, now(clock), ath=ath)

    assert "ath" in refused(token_request(http, demo, proof))


@pytest.mark.parametrize(
    ("later", "reason"), [(30, "used before"), (61, "too old")],
    ids=["within-the-window-by-its-jti", "after-the-window-by-its-iat"],
)
def test_refuses_a_replayed_proof(
    http: Any, demo: Demo, key: ClientKeyPair, clock: FakeClock, later: int, reason: str
) -> None:
    proof = dpop_proof(key, TOKEN_URL, now(clock))
    assert token_request(http, demo, proof).status_code == 200
    clock.advance(later)

    assert reason in refused(token_request(http, demo, proof))


def test_the_same_jti_from_another_key_is_another_proof(
    http: Any, demo: Demo, key: ClientKeyPair, clock: FakeClock
) -> None:
    first = token_request(http, demo, dpop_proof(key, TOKEN_URL, now(clock), jti="j-2"))
    other = token_request(http, demo, dpop_proof(es256_key(), TOKEN_URL, now(clock), jti="j-2"))

    assert first.status_code == 200
    assert other.status_code == 200


@pytest.mark.parametrize(("offset", "reason"), [(-61, "too old"), (61, "future")])
def test_refuses_a_proof_issued_outside_the_window(
    http: Any, demo: Demo, key: ClientKeyPair, clock: FakeClock, offset: int, reason: str
) -> None:
    proof = dpop_proof(key, TOKEN_URL, now(clock) + offset)

    assert reason in refused(token_request(http, demo, proof))


@pytest.mark.parametrize("offset", [-60, 60])
def test_accepts_a_proof_at_the_edges_of_the_window(
    http: Any, demo: Demo, key: ClientKeyPair, clock: FakeClock, offset: int
) -> None:
    proof = dpop_proof(key, TOKEN_URL, now(clock) + offset)

    assert token_request(http, demo, proof).status_code == 200


def test_refuses_alg_none_and_hmac(
    http: Any, demo: Demo, key: ClientKeyPair, clock: FakeClock
) -> None:
    payload = {"jti": "x1", "htm": "POST", "htu": TOKEN_URL, "iat": now(clock)}
    none = unsigned({"typ": "dpop+jwt", "alg": "none", "jwk": public_members(key)}, payload)
    hs256 = jwt.encode(payload, "a-shared-secret-of-32-bytes-long!!", algorithm="HS256",
                       headers={"typ": "dpop+jwt", "jwk": {"kty": "oct", "k": "c2VjcmV0"}})

    for proof in (none, hs256):
        assert "alg" in refused(token_request(http, demo, proof))


@pytest.mark.parametrize("member", ["d", "p", "q", "dp", "dq", "qi", "k"])
def test_refuses_a_private_key_in_the_jwk_header(
    http: Any, demo: Demo, clock: FakeClock, member: str
) -> None:
    pair = new_key_pair("RS256")
    private = {k: v for k, v in pair.private_jwk.items() if k not in ("kid", "alg")}
    jwk = {**public_members(pair), member: private.get(member, "AQAB")}
    proof = dpop_proof(pair, TOKEN_URL, now(clock), header={"jwk": jwk})

    assert "public key" in refused(token_request(http, demo, proof))


def test_refuses_a_proof_signed_by_another_key_than_its_jwk(
    http: Any, demo: Demo, key: ClientKeyPair, clock: FakeClock
) -> None:
    proof = dpop_proof(key, TOKEN_URL, now(clock), header={"jwk": public_members(es256_key())})

    assert "signature" in refused(token_request(http, demo, proof))


@pytest.mark.parametrize(
    ("header", "reason"),
    [
        ({"typ": "JWT"}, "typ"),
        ({"typ": "at+jwt"}, "typ"),
        ({"jwk": None}, "jwk"),
        ({"jwk": "not-an-object"}, "jwk"),
        ({"jwk": {"kty": "EC", "crv": "P-384", "x": "AA", "y": "AA"}}, "does not fit"),
        ({"jwk": {"kty": "RSA", "n": "AQAB", "e": "AQAB"}}, "does not fit"),
        ({"crit": ["exp"]}, "critical"),
    ],
    ids=["typ-jwt", "typ-at+jwt", "no-jwk", "jwk-string", "wrong-curve", "wrong-kty", "crit"],
)
def test_refuses_a_malformed_proof_header(
    http: Any, demo: Demo, key: ClientKeyPair, clock: FakeClock,
    header: dict[str, Any], reason: str,
) -> None:
    proof = dpop_proof(key, TOKEN_URL, now(clock), header=header)

    assert reason in refused(token_request(http, demo, proof))


def test_refuses_a_proof_without_typ(
    http: Any, demo: Demo, key: ClientKeyPair, clock: FakeClock
) -> None:
    payload = {"jti": "x2", "htm": "POST", "htu": TOKEN_URL, "iat": now(clock)}
    proof = jwt.encode(payload, key.private, algorithm="ES256",
                       headers={"jwk": public_members(key)})
    header = json.loads(jwt.utils.base64url_decode(proof.split(".")[0]))
    assert header["typ"] == "JWT"  # PyJWT's default: not dpop+jwt

    assert "typ" in refused(token_request(http, demo, proof))


def test_refuses_a_short_rsa_key(http: Any, demo: Demo, clock: FakeClock) -> None:
    small = ClientKeyPair("small", "RS256",
                          rsa.generate_private_key(public_exponent=65537, key_size=1024))  # noqa: S505

    assert "2048" in refused(token_request(http, demo, dpop_proof(small, TOKEN_URL, now(clock))))


@pytest.mark.parametrize("claim", ["jti", "htm", "htu", "iat"])
def test_refuses_a_proof_missing_a_required_claim(
    http: Any, demo: Demo, key: ClientKeyPair, clock: FakeClock, claim: str
) -> None:
    proof = dpop_proof(key, TOKEN_URL, now(clock), drop=(claim,))

    assert claim in refused(token_request(http, demo, proof))


@pytest.mark.parametrize(
    ("claim", "value"),
    [("iat", "now"), ("iat", True), ("jti", ""), ("jti", "j" * 257), ("nonce", 7)],
)
def test_refuses_claims_of_the_wrong_type(
    http: Any, demo: Demo, key: ClientKeyPair, clock: FakeClock, claim: str, value: Any
) -> None:
    proof = dpop_proof(key, TOKEN_URL, now(clock), **{claim: value})

    refused(token_request(http, demo, proof))


@pytest.mark.parametrize(
    "value", ["", "not-a-jwt", "a.b.c", "a.b", "é.é.é", "x" * 9000],
    ids=["empty", "one-part", "garbage-segments", "two-parts", "non-ascii", "oversized"],
)
def test_refuses_a_header_that_is_no_proof(http: Any, demo: Demo, value: str) -> None:
    response = token_request(http, demo, value)

    assert response.status_code == 400, response.body
    assert body_json(response)["error"] in ("invalid_dpop_proof", "invalid_request")


def test_refuses_two_proofs_joined_in_one_header_field(
    http: Any, demo: Demo, key: ClientKeyPair, clock: FakeClock
) -> None:
    first = dpop_proof(key, TOKEN_URL, now(clock))
    second = dpop_proof(key, TOKEN_URL, now(clock))

    assert "exactly one" in refused(token_request(http, demo, f"{first}, {second}"))


def test_refuses_two_dpop_header_fields(
    http: Any, demo: Demo, key: ClientKeyPair, clock: FakeClock
) -> None:
    """API Gateway hands repeated fields over in ``multiValueHeaders``."""
    from unittest import mock

    from chalice.local import LambdaEventConverter

    first = dpop_proof(key, TOKEN_URL, now(clock))
    second = dpop_proof(key, TOKEN_URL, now(clock))
    original = LambdaEventConverter.create_lambda_event

    def with_two_fields(self: Any, *args: Any, **kwargs: Any) -> Any:
        event = original(self, *args, **kwargs)
        event["multiValueHeaders"] = {"DPoP": [first, second]}
        return event

    with mock.patch.object(LambdaEventConverter, "create_lambda_event", with_two_fields):
        response = token_request(http, demo, first)

    assert "exactly one" in refused(response)


def test_an_invalid_proof_spends_no_jti(
    http: Any, demo: Demo, key: ClientKeyPair, clock: FakeClock
) -> None:
    wrong = dpop_proof(key, TOKEN_URL, now(clock), jti="same", htm="GET")
    right = dpop_proof(key, TOKEN_URL, now(clock), jti="same")

    refused(token_request(http, demo, wrong))
    assert token_request(http, demo, right).status_code == 200


def test_no_proof_or_token_reaches_the_log(
    http: Any, demo: Demo, key: ClientKeyPair, clock: FakeClock,
    caplog: pytest.LogCaptureFixture,
) -> None:
    proof = dpop_proof(key, TOKEN_URL, now(clock))
    with caplog.at_level("DEBUG"):
        token = body_json(token_request(http, demo, proof))["access_token"]
        token_request(http, demo, proof)  # the replay is refused

    assert proof.split(".")[2] not in caplog.text
    assert token.split(".")[2] not in caplog.text
    assert "token_type=DPoP" in caplog.text


# ---- apps and APIs that require a binding ------------------------------------------------------


def test_app_with_dpop_bound_access_tokens_is_refused_without_a_proof(
    http: Any, moto_services: runtime.Services, demo: Demo, key: ClientKeyPair, clock: FakeClock
) -> None:
    moto_services.provisioning.update_app(demo.client_id, {"dpop_bound_access_tokens": True})

    assert "must send a DPoP proof" in refused(token_request(http, demo))
    bound = token_request(http, demo, dpop_proof(key, TOKEN_URL, now(clock)))
    assert body_json(bound)["token_type"] == "DPoP"


def test_api_requiring_sender_constrained_tokens_refuses_an_unbound_request(
    http: Any, moto_services: runtime.Services, demo: Demo, key: ClientKeyPair, clock: FakeClock
) -> None:
    moto_services.provisioning.update_api(
        demo.api_id, {"sender_constrained_tokens_required": True}
    )

    assert "sender-constrained" in refused(token_request(http, demo), "invalid_request")
    bound = token_request(http, demo, dpop_proof(key, TOKEN_URL, now(clock)))
    assert claims(bound)["cnf"]["jkt"] == thumbprint(public_members(key))


def test_api_requirement_reaches_grants_made_before_and_after_it(
    http: Any, moto_services: runtime.Services, demo: Demo
) -> None:
    p = moto_services.provisioning
    p.update_api(demo.api_id, {"sender_constrained_tokens_required": True})
    later, secret = p.create_app(name="Later")
    p.set_grant(later.client_id, demo.api_id, ["orders:read"])
    p.update_api(demo.api_id, {"sender_constrained_tokens_required": False})
    assert token_request(http, demo).status_code == 200

    p.update_api(demo.api_id, {"sender_constrained_tokens_required": True})
    late = Demo(demo.api_id, later.client_id, secret.client_secret, secret.secret_id)
    refused(token_request(http, late), "invalid_request")
    refused(token_request(http, demo), "invalid_request")


# ---- token reuse never crosses keys ------------------------------------------------------------


def test_reuse_gives_the_same_key_its_token_and_another_key_a_fresh_one(
    http: Any, demo: Demo, key: ClientKeyPair, clock: FakeClock
) -> None:
    first = body_json(token_request(http, demo, dpop_proof(key, TOKEN_URL, now(clock))))
    clock.advance(5)
    again = body_json(token_request(http, demo, dpop_proof(key, TOKEN_URL, now(clock))))
    other_key = es256_key()
    other = token_request(http, demo, dpop_proof(other_key, TOKEN_URL, now(clock)))

    assert again["access_token"] == first["access_token"]
    assert again["token_type"] == "DPoP"
    assert body_json(other)["access_token"] != first["access_token"]
    assert claims(other)["cnf"]["jkt"] == thumbprint(public_members(other_key))


def test_bearer_request_never_gets_a_bound_token_nor_the_reverse(
    http: Any, demo: Demo, key: ClientKeyPair, clock: FakeClock
) -> None:
    bound = body_json(token_request(http, demo, dpop_proof(key, TOKEN_URL, now(clock))))
    bearer = body_json(token_request(http, demo))
    bearer_again = body_json(token_request(http, demo))
    bound_again = body_json(token_request(http, demo, dpop_proof(key, TOKEN_URL, now(clock))))

    assert bearer["token_type"] == "Bearer" and bearer["access_token"] != bound["access_token"]
    assert bearer_again["access_token"] == bearer["access_token"]
    assert bound_again["access_token"] == bound["access_token"]
    assert bound_again["token_type"] == "DPoP"


# ---- introspection and metadata ------------------------------------------------------------


def test_introspection_returns_the_token_type_and_cnf(
    http: Any, demo: Demo, key: ClientKeyPair, clock: FakeClock
) -> None:
    bound = body_json(token_request(http, demo, dpop_proof(key, TOKEN_URL, now(clock))))
    bearer = body_json(token_request(http, demo))

    def introspect(token: str) -> dict[str, Any]:
        response = http.post("/oauth/introspect", body=form(token=token),
                             headers={**FORM, **basic(demo.client_id, demo.client_secret)})
        return dict(body_json(response))

    described = introspect(bound["access_token"])
    assert described["active"] is True
    assert described["token_type"] == "DPoP"
    assert described["cnf"] == {"jkt": thumbprint(public_members(key))}
    plain = introspect(bearer["access_token"])
    assert plain["token_type"] == "Bearer" and "cnf" not in plain


def test_metadata_advertises_the_dpop_algorithms(http: Any) -> None:
    metadata = body_json(http.get("/.well-known/oauth-authorization-server"))

    assert metadata["dpop_signing_alg_values_supported"] == [
        "ES256", "ES384", "RS256", "PS256", "EdDSA"
    ]


# ---- server nonces (RFC 9449 §8) ---------------------------------------------------------------


@pytest.fixture
def nonce_http(aws: AwsBackend, clock: FakeClock) -> Iterator[tuple[Any, runtime.Services]]:
    import app as chalice_app

    services = runtime.build_services(
        make_settings(DPOP_NONCES="true", DPOP_NONCE_STEP="60"),
        DynamoDBStore(aws.dynamodb, TABLE), KmsSigner(aws.kms), clock,
    )
    services.keyring.register(aws.key_arn, "RS256", KeyState.CURRENT)
    runtime.install(services)
    with Client(chalice_app.app) as client:
        yield client.http, services


def test_nonce_flow_asks_for_a_nonce_then_accepts_the_proof_that_carries_it(
    nonce_http: tuple[Any, runtime.Services], key: ClientKeyPair, clock: FakeClock
) -> None:
    http, services = nonce_http
    demo = seed_demo(services)

    challenge = token_request(http, demo, dpop_proof(key, TOKEN_URL, now(clock)))
    refused(challenge, "use_dpop_nonce")
    nonce = challenge.headers["DPoP-Nonce"]
    accepted = token_request(http, demo, dpop_proof(key, TOKEN_URL, now(clock), nonce=nonce))

    assert body_json(accepted)["token_type"] == "DPoP"
    assert accepted.headers["DPoP-Nonce"]


def test_the_nonce_round_trip_leaves_a_single_use_client_assertion_unspent(
    nonce_http: tuple[Any, runtime.Services], key: ClientKeyPair, clock: FakeClock
) -> None:
    # RFC 9449 §8: the client retries with the nonce and the same request; the proof is
    # checked before the client is authenticated, so the assertion is still unused
    http, services = nonce_http
    demo = seed_demo(services)
    app = services.provisioning.create_secretless_app(name="Keyed")
    services.provisioning.set_grant(app.client_id, demo.api_id, ["orders:read"])
    client_key = new_key_pair("ES256", kid="client")
    services.provisioning.add_client_key(app.client_id, client_key.public_jwk)
    signed = assertion(client_key, app.client_id, ISSUER, now(clock))

    def request(proof: str) -> Any:
        return http.post("/oauth/token", headers={**FORM, "DPoP": proof}, body=form(
            grant_type="client_credentials", audience=AUDIENCE,
            **assertion_params(signed)))

    challenge = request(dpop_proof(key, TOKEN_URL, now(clock)))
    refused(challenge, "use_dpop_nonce")
    wrong_htu = request(dpop_proof(key, ISSUER + "/oauth/other", now(clock),
                                   nonce=challenge.headers["DPoP-Nonce"]))
    refused(wrong_htu)
    accepted = request(dpop_proof(key, TOKEN_URL, now(clock),
                                  nonce=challenge.headers["DPoP-Nonce"]))

    assert body_json(accepted)["token_type"] == "DPoP", accepted.body
    replayed = request(dpop_proof(key, TOKEN_URL, now(clock),
                                  nonce=challenge.headers["DPoP-Nonce"]))
    assert replayed.status_code == 401  # now it is spent: invalid_client


def test_every_token_endpoint_response_carries_a_nonce_when_nonces_are_on(
    nonce_http: tuple[Any, runtime.Services],
) -> None:
    http, services = nonce_http
    demo = seed_demo(services)
    wrong = Demo(demo.api_id, demo.client_id, "wrong-secret", demo.secret_id)

    for response in (token_request(http, demo), token_request(http, wrong),
                     http.post("/oauth/token", headers=FORM, body="")):
        assert response.headers["DPoP-Nonce"], response.body


def test_a_stale_or_forged_nonce_is_asked_again(
    nonce_http: tuple[Any, runtime.Services], key: ClientKeyPair, clock: FakeClock
) -> None:
    http, services = nonce_http
    demo = seed_demo(services)
    nonce = token_request(http, demo).headers["DPoP-Nonce"]
    clock.advance(60)  # the next step: still good
    good = token_request(http, demo, dpop_proof(key, TOKEN_URL, now(clock), nonce=nonce))
    assert good.status_code == 200
    clock.advance(60)  # two steps on: stale

    stale = token_request(http, demo, dpop_proof(key, TOKEN_URL, now(clock), nonce=nonce))
    refused(stale, "use_dpop_nonce")
    assert stale.headers["DPoP-Nonce"] != nonce
    fresh = stale.headers["DPoP-Nonce"]
    forged = fresh[:-2] + ("AA" if not fresh.endswith("AA") else "BB")
    refused(token_request(http, demo, dpop_proof(key, TOKEN_URL, now(clock), nonce=forged)),
            "use_dpop_nonce")


def test_nonce_keys_are_shared_by_containers_through_the_table(
    nonce_http: tuple[Any, runtime.Services], aws: AwsBackend, key: ClientKeyPair,
    clock: FakeClock,
) -> None:
    http, services = nonce_http
    demo = seed_demo(services)
    nonce = token_request(http, demo).headers["DPoP-Nonce"]
    # another container: its own services over the same table
    other = runtime.build_services(
        make_settings(DPOP_NONCES="true", DPOP_NONCE_STEP="60"),
        DynamoDBStore(aws.dynamodb, TABLE), KmsSigner(aws.kms), clock,
    )  # the signing key is in the table already
    runtime.install(other)

    accepted = token_request(http, demo, dpop_proof(key, TOKEN_URL, now(clock), nonce=nonce))

    assert body_json(accepted)["token_type"] == "DPoP"


# ---- every client authentication method combines with DPoP ------------------------------------
# (private_key_jwt, federated and AWS IAM: in their own modules, with their fixtures)


def test_client_secret_post_combines_with_dpop(
    http: Any, demo: Demo, key: ClientKeyPair, clock: FakeClock
) -> None:
    response = http.post("/oauth/token", headers={
        **FORM, "DPoP": dpop_proof(key, TOKEN_URL, now(clock))}, body=form(
        grant_type="client_credentials", audience=AUDIENCE, client_id=demo.client_id,
        client_secret=demo.client_secret))

    assert claims(response)["cnf"] == {"jkt": thumbprint(public_members(key))}
    assert claims(response)["client_id"] == demo.client_id


def test_client_secret_basic_combines_with_dpop_in_a_json_body(
    http: Any, demo: Demo, key: ClientKeyPair, clock: FakeClock
) -> None:
    response = http.post("/oauth/token", headers={
        "Content-Type": "application/json", **basic(demo.client_id, demo.client_secret),
        "DPoP": dpop_proof(key, TOKEN_URL, now(clock))},
        body=json.dumps({"grant_type": "client_credentials", "audience": AUDIENCE}))

    assert claims(response)["cnf"] == {"jkt": thumbprint(public_members(key))}
