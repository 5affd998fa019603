"""private_key_jwt through the Chalice app on moto: the admin key routes
(/admin/apps/{client_id}/keys), secretless apps, and assertions at the token,
introspection and revocation endpoints (RFC 7523 §2.2, §3; RFC 7521 §4.2)."""

from __future__ import annotations

import json
from typing import Any

import jwt
import pytest

from chalicelib import runtime
from tests.assertion_keys import ClientKeyPair, assertion, assertion_params, new_key_pair
from tests.conftest import AUDIENCE, ISSUER, AwsBackend, Demo
from tests.fakes import FakeClock
from tests.functional.admin_helpers import (
    audit_log,
    error_fields,
    expect,
    new_app,
    problem,
    send,
)
from tests.functional.conftest import FORM, JSON, basic, body_json, form

TOKEN_ENDPOINT = ISSUER + "/oauth/token"
PRIVATE_MEMBERS = {"d", "p", "q", "dp", "dq", "qi", "oth", "k"}


def keys_path(client_id: str) -> str:
    return f"/admin/apps/{client_id}/keys"


def add_key(http: Any, client_id: str, pair: ClientKeyPair) -> dict[str, Any]:
    added: dict[str, Any] = expect(
        send(http, "POST", keys_path(client_id), {"jwk": pair.public_jwk}), 201
    )
    return added


def secretless_app(http: Any, moto_services: runtime.Services, demo: Demo) -> dict[str, Any]:
    """An app with no secret and the demo's grant."""
    app = new_app(http, "Keyed service", secret=False)
    moto_services.provisioning.set_grant(app["client_id"], demo.api_id, ["orders:read"])
    return app


def token_with(http: Any, params: dict[str, str], headers: dict[str, str] | None = None) -> Any:
    body = {"grant_type": "client_credentials", "audience": AUDIENCE, **params}
    return http.post("/oauth/token", headers={**FORM, **(headers or {})}, body=form(**body))


def assert_bare_invalid_client(response: Any) -> None:
    assert response.status_code == 401, response.body
    assert body_json(response) == {
        "error": "invalid_client", "error_description": "Client authentication failed.",
    }


@pytest.fixture
def keyed(http: Any, moto_services: runtime.Services, demo: Demo) -> tuple[str, ClientKeyPair]:
    app = secretless_app(http, moto_services, demo)
    pair = new_key_pair("ES256", kid="key-1")
    add_key(http, app["client_id"], pair)
    return app["client_id"], pair


def now(clock: FakeClock) -> int:
    return int(clock())


# ---- admin: keys ----------------------------------------------------------------------


@pytest.mark.parametrize("alg", ["RS256", "PS256", "ES256", "EdDSA"])
def test_registers_a_public_key_of_each_algorithm_with_its_alg(http: Any, alg: str) -> None:
    app = new_app(http)
    pair = new_key_pair(alg)

    response = send(http, "POST", keys_path(app["client_id"]), {"jwk": pair.public_jwk})

    added = expect(response, 201)
    assert response.headers["ETag"] == '"1"'
    assert (added["kid"], added["alg"], added["version"]) == (pair.kid, alg, 1)
    assert added["jwk"]["kid"] == pair.kid and added["jwk"]["alg"] == alg
    listed = expect(http.get(keys_path(app["client_id"])))
    assert listed == {"items": [added], "next": None}


def test_infers_es256_and_eddsa_from_the_curve_when_alg_is_absent(http: Any) -> None:
    app = new_app(http)
    for alg in ("ES256", "EdDSA"):
        jwk = {k: v for k, v in new_key_pair(alg).public_jwk.items() if k != "alg"}

        added = expect(send(http, "POST", keys_path(app["client_id"]), {"jwk": jwk}), 201)

        assert added["alg"] == alg


def test_refuses_a_private_jwk_with_400_and_never_echoes_or_stores_it(http: Any) -> None:
    app = new_app(http)
    private_values = []
    for alg in ("RS256", "ES256", "EdDSA"):
        private = new_key_pair(alg).private_jwk
        private_values.append(private["d"])

        response = send(http, "POST", keys_path(app["client_id"]), {"jwk": private})

        body = problem(response, 400, "validation")
        assert error_fields(body) == ["jwk"]
        assert private["d"] not in response.body.decode()
    assert expect(http.get(keys_path(app["client_id"])))["items"] == []
    audit = json.dumps(audit_log(http))
    assert not any(value in audit for value in private_values)


@pytest.mark.parametrize(
    ("jwk", "field"),
    [
        ({"kty": "oct", "k": "c2VjcmV0", "kid": "h"}, "jwk"),
        ({**{k: v for k, v in new_key_pair("RS256").public_jwk.items() if k != "alg"}}, "jwk.alg"),
        ({**new_key_pair("ES256").public_jwk, "alg": "HS256"}, "jwk.alg"),
        ({**new_key_pair("ES256").public_jwk, "alg": "none"}, "jwk.alg"),
        ({**new_key_pair("ES256").public_jwk, "alg": "EdDSA"}, "jwk.alg"),
        ({**new_key_pair("ES256").public_jwk, "crv": "P-384"}, "jwk.alg"),
        ({k: v for k, v in new_key_pair("ES256").public_jwk.items() if k != "kid"}, "jwk.kid"),
        ({**new_key_pair("ES256").public_jwk, "kid": "a/b"}, "jwk.kid"),
        ({**new_key_pair("ES256").public_jwk, "use": "enc"}, "jwk.use"),
        ({**new_key_pair("ES256").public_jwk, "x": "AAAA"}, "jwk"),
        ("not an object", "jwk"),
        # found by Schemathesis: non-string members were a 500 (unhashable in a set test)
        ({**new_key_pair("ES256").public_jwk, "kty": {"EC": 1}}, "jwk.kty"),
        ({**new_key_pair("ES256").public_jwk, "kty": []}, "jwk.kty"),
        ({**new_key_pair("ES256").public_jwk, "alg": ["ES256"]}, "jwk.alg"),
        ({**new_key_pair("ES256").public_jwk, "alg": {}}, "jwk.alg"),
        ({**new_key_pair("ES256").public_jwk, "crv": []}, "jwk.alg"),
        ({**new_key_pair("RS256").public_jwk, "crv": None}, "jwk.alg"),
        ({**new_key_pair("ES256").public_jwk, "key_ops": None}, "jwk.key_ops"),
    ],
    ids=["oct", "rsa-without-alg", "hmac-alg", "none-alg", "alg-kty-mismatch", "p384",
         "no-kid", "kid-with-slash", "use-enc", "bad-point", "not-object", "kty-object",
         "kty-array", "alg-array", "alg-object", "crv-array", "rsa-with-null-crv",
         "null-key-ops"],
)
def test_refuses_keys_that_cannot_verify_our_assertions(http: Any, jwk: Any, field: str) -> None:
    app = new_app(http)

    body = problem(send(http, "POST", keys_path(app["client_id"]), {"jwk": jwk}), 400,
                   "validation")

    assert field in error_fields(body)


def test_refuses_rsa_keys_under_2048_bits(http: Any) -> None:
    from cryptography.hazmat.primitives.asymmetric import rsa

    small = ClientKeyPair("small", "RS256",
                          rsa.generate_private_key(public_exponent=65537, key_size=1024))  # noqa: S505
    app = new_app(http)

    problem(send(http, "POST", keys_path(app["client_id"]), {"jwk": small.public_jwk}), 400,
            "validation")


def test_refuses_unknown_fields_and_a_missing_jwk(http: Any) -> None:
    app = new_app(http)

    assert error_fields(problem(send(http, "POST", keys_path(app["client_id"]), {}), 400,
                                "validation")) == ["jwk"]
    body = problem(send(http, "POST", keys_path(app["client_id"]),
                        {"jwk": new_key_pair().public_jwk, "pem": "x"}), 400, "validation")
    assert error_fields(body) == ["pem"]


def test_allows_at_most_five_keys_and_a_kid_once(http: Any) -> None:
    app = new_app(http)
    pairs = [new_key_pair("ES256", kid=f"k{n}") for n in range(5)]
    for pair in pairs:
        add_key(http, app["client_id"], pair)

    problem(send(http, "POST", keys_path(app["client_id"]),
                 {"jwk": new_key_pair(kid="k9").public_jwk}), 409, "conflict")
    assert http.delete(f"{keys_path(app['client_id'])}/k0").status_code == 204
    problem(send(http, "POST", keys_path(app["client_id"]),
                 {"jwk": new_key_pair(kid="k1").public_jwk}), 409, "conflict")
    add_key(http, app["client_id"], new_key_pair(kid="k9"))

    kids = [k["kid"] for k in expect(http.get(keys_path(app["client_id"])))["items"]]
    assert sorted(kids) == ["k1", "k2", "k3", "k4", "k9"]


def test_key_routes_of_an_unknown_app_are_404(http: Any) -> None:
    unknown = "a" * 26
    problem(send(http, "POST", keys_path(unknown), {"jwk": new_key_pair().public_jwk}), 404,
            "not-found")
    problem(http.get(keys_path(unknown)), 404, "not-found")
    problem(http.delete(f"{keys_path(unknown)}/k1"), 404, "not-found")
    problem(http.delete(f"{keys_path('x' * 3000)}/k1"), 404, "not-found")


def test_removing_a_key_honours_if_match_and_is_404_once_gone(http: Any) -> None:
    app = new_app(http)
    add_key(http, app["client_id"], new_key_pair(kid="k1"))
    path = f"{keys_path(app['client_id'])}/k1"

    problem(http.delete(path, headers={"If-Match": '"2"'}), 412, "precondition-failed")
    assert http.delete(path, headers={"If-Match": '"1"'}).status_code == 204
    problem(http.delete(path), 404, "not-found")
    problem(http.delete(path, headers={"If-Match": '"1"'}), 404, "not-found")


def test_adding_and_removing_keys_is_audited_in_the_same_transaction(
    http: Any, aws: AwsBackend
) -> None:
    app = new_app(http)
    pair = new_key_pair("EdDSA", kid="k1")
    aws.counter.reset()

    add_key(http, app["client_id"], pair)
    assert http.delete(f"{keys_path(app['client_id'])}/k1").status_code == 204

    # one transaction per change, each carrying its audit record; no separate write
    assert aws.counter.calls["dynamodb:TransactWriteItems"] == 2
    assert aws.counter.calls["dynamodb:PutItem"] == 0
    records = audit_log(http)[:2]
    assert [(r["action"], r["target"]) for r in records] == [
        ("client_key.remove", f"app/{app['client_id']}/keys/k1"),
        ("client_key.add", f"app/{app['client_id']}/keys/k1"),
    ]
    assert records[1]["changes"] == {"kid": "k1", "alg": "EdDSA", "kty": "OKP"}


# ---- secretless apps ------------------------------------------------------------------


def test_creates_an_app_without_a_secret(http: Any) -> None:
    response = send(http, "POST", "/admin/apps", {"name": "Keyed", "secret": False})

    app = expect(response, 201)
    assert "client_secret" not in app and "secret_id" not in app
    assert app["secrets"] == []
    assert expect(http.get(f"/admin/apps/{app['client_id']}"))["secrets"] == []
    assert audit_log(http)[0]["changes"]["secret_id"] is None


def test_refuses_a_non_boolean_secret_option(http: Any) -> None:
    body = problem(send(http, "POST", "/admin/apps", {"name": "Keyed", "secret": "no"}), 400,
                   "validation")
    assert error_fields(body) == ["secret"]


def test_a_secretless_app_gets_a_token_with_its_key_and_never_with_a_guessed_secret(
    http: Any, keyed: tuple[str, ClientKeyPair], clock: FakeClock
) -> None:
    client_id, pair = keyed

    assert_bare_invalid_client(token_with(http, {}, basic(client_id, "m2msec_guess")))
    response = token_with(http, assertion_params(assertion(pair, client_id, ISSUER, now(clock))))

    assert response.status_code == 200, response.body
    token = body_json(response)["access_token"]
    jwks = body_json(http.get("/.well-known/jwks.json"))
    [jwk] = [k for k in jwks["keys"] if k["kid"] == jwt.get_unverified_header(token)["kid"]]
    claims = jwt.decode(token, jwt.PyJWK(jwk).key, algorithms=["RS256"], audience=AUDIENCE,
                        issuer=ISSUER)
    assert claims["client_id"] == claims["sub"] == client_id


def test_a_key_authentication_is_the_apps_last_use(
    http: Any, keyed: tuple[str, ClientKeyPair], clock: FakeClock
) -> None:
    client_id, pair = keyed
    assert expect(http.get(f"/admin/apps/{client_id}"))["last_used"] is None

    response = token_with(http, assertion_params(assertion(pair, client_id, ISSUER, now(clock))))

    assert response.status_code == 200, response.body
    listed = {a["client_id"]: a for a in expect(http.get("/admin/apps"))["items"]}
    assert listed[client_id]["last_used"] is not None


# ---- the token endpoint ---------------------------------------------------------------


def test_a_private_key_jwt_token_request_makes_one_query_one_put_and_one_sign(
    http: Any, keyed: tuple[str, ClientKeyPair], clock: FakeClock, aws: AwsBackend
) -> None:
    client_id, pair = keyed
    first = token_with(http, assertion_params(assertion(pair, client_id, ISSUER, now(clock))))
    aws.counter.reset()  # warm: signing keys cached

    # a repeated request: the assertion's jti is spent (PutItem), the token reused
    reused = token_with(http, assertion_params(assertion(pair, client_id, ISSUER, now(clock))))

    assert reused.status_code == 200, reused.body
    assert json.loads(reused.body)["access_token"] == json.loads(first.body)["access_token"]
    assert dict(aws.counter.calls) == {"dynamodb:Query": 1, "dynamodb:PutItem": 1}

    # a fresh token: also the usage counter (UpdateItem) and one signature
    send(http, "POST", f"/admin/apps/{client_id}/revoke-tokens", {})
    aws.counter.reset()
    fresh = token_with(http, assertion_params(assertion(pair, client_id, ISSUER, now(clock))))

    assert fresh.status_code == 200, fresh.body
    assert dict(aws.counter.calls) == {
        "dynamodb:Query": 1, "dynamodb:PutItem": 1, "dynamodb:UpdateItem": 1, "kms:Sign": 1,
    }


def test_an_app_with_a_secret_and_a_key_may_use_either(
    http: Any, demo: Demo, clock: FakeClock
) -> None:
    pair = new_key_pair("RS256")
    add_key(http, demo.client_id, pair)

    assert token_with(http, {}, basic(demo.client_id, demo.client_secret)).status_code == 200
    token = assertion(pair, demo.client_id, ISSUER, now(clock))
    assert token_with(http, assertion_params(token, demo.client_id)).status_code == 200


def test_accepts_an_assertion_in_a_json_body(
    http: Any, keyed: tuple[str, ClientKeyPair], clock: FakeClock
) -> None:
    client_id, pair = keyed
    body = {"grant_type": "client_credentials", "audience": AUDIENCE,
            **assertion_params(assertion(pair, client_id, ISSUER, now(clock)))}

    response = http.post("/oauth/token", headers=JSON, body=json.dumps(body))

    assert response.status_code == 200, response.body


def _hs256_with_public_key(pair: ClientKeyPair, claims: dict[str, Any]) -> str:
    import base64
    import hashlib
    import hmac

    from cryptography.hazmat.primitives import serialization

    def b64(data: bytes) -> str:
        return base64.urlsafe_b64encode(data).decode().rstrip("=")

    pem = pair.private.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    header = {"alg": "HS256", "kid": pair.kid, "typ": "JWT"}
    signing_input = f"{b64(json.dumps(header).encode())}.{b64(json.dumps(claims).encode())}"
    signature = hmac.new(pem, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{b64(signature)}"


def test_the_negative_suite_gets_one_bare_invalid_client(
    http: Any, moto_services: runtime.Services, demo: Demo,
    keyed: tuple[str, ClientKeyPair], clock: FakeClock,
) -> None:
    client_id, pair = keyed
    at = now(clock)
    other = secretless_app(http, moto_services, demo)["client_id"]
    add_key(http, other, new_key_pair("ES256", kid="other-key"))
    rsa_pair = new_key_pair("RS256", kid="rsa-1")
    add_key(http, client_id, rsa_pair)
    claims = {"iss": client_id, "sub": client_id, "aud": ISSUER, "iat": at, "exp": at + 60,
              "jti": "hs-1"}
    unsigned_header = json.dumps({"alg": "none", "kid": pair.kid}).encode()
    import base64

    def b64(data: bytes) -> str:
        return base64.urlsafe_b64encode(data).decode().rstrip("=")

    replayed = assertion(pair, client_id, ISSUER, at)
    assert token_with(http, assertion_params(replayed)).status_code == 200
    cases: dict[str, dict[str, str]] = {
        "alg none": assertion_params(f"{b64(unsigned_header)}.{b64(json.dumps(claims).encode())}."),
        "HS256 with the public key": assertion_params(_hs256_with_public_key(rsa_pair, claims)),
        "wrong aud": assertion_params(assertion(pair, client_id, "https://other.example", at)),
        "aud array with extra": assertion_params(
            assertion(pair, client_id, [ISSUER, "https://other.example"], at)),
        "token endpoint aud": assertion_params(assertion(pair, client_id, TOKEN_ENDPOINT, at)),
        "expired": assertion_params(assertion(pair, client_id, ISSUER, at - 200, exp=at - 100)),
        "lifetime too long": assertion_params(
            assertion(pair, client_id, ISSUER, at, exp=at + 3600)),
        "replayed jti": assertion_params(replayed),
        "unknown kid": assertion_params(
            assertion(pair, client_id, ISSUER, at, header={"kid": "nope"})),
        "iss != sub": assertion_params(assertion(pair, client_id, ISSUER, at, sub=other)),
        "subject of another app": assertion_params(assertion(pair, other, ISSUER, at)),
        "client_id param != sub": assertion_params(
            assertion(pair, client_id, ISSUER, at), other),
        "unknown assertion type": {
            **assertion_params(assertion(pair, client_id, ISSUER, at)),
            "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:saml2-bearer",
        },
    }

    bodies = {}
    for name, params in cases.items():
        response = token_with(http, params)
        assert response.status_code == 401, (name, response.body)
        bodies[name] = response.body
    assert len(set(bodies.values())) == 1, bodies


def test_an_assertion_mixed_with_a_secret_or_basic_is_invalid_request(
    http: Any, demo: Demo, clock: FakeClock
) -> None:
    pair = new_key_pair()
    add_key(http, demo.client_id, pair)
    params = assertion_params(assertion(pair, demo.client_id, ISSUER, now(clock)))

    with_basic = token_with(http, params, basic(demo.client_id, demo.client_secret))
    with_secret = token_with(http, {**params, "client_id": demo.client_id,
                                    "client_secret": demo.client_secret})

    for response in (with_basic, with_secret):
        assert response.status_code == 400, response.body
        assert body_json(response)["error"] == "invalid_request"


def test_a_removed_key_no_longer_authenticates(
    http: Any, keyed: tuple[str, ClientKeyPair], clock: FakeClock
) -> None:
    client_id, pair = keyed
    assert http.delete(f"{keys_path(client_id)}/{pair.kid}").status_code == 204

    assert_bare_invalid_client(
        token_with(http, assertion_params(assertion(pair, client_id, ISSUER, now(clock))))
    )


def test_rotation_with_overlap_accepts_old_and_new_key_until_the_old_is_removed(
    http: Any, keyed: tuple[str, ClientKeyPair], clock: FakeClock
) -> None:
    client_id, old = keyed
    new = new_key_pair("EdDSA", kid="key-2")
    add_key(http, client_id, new)

    for pair in (old, new):
        token = assertion(pair, client_id, ISSUER, now(clock))
        assert token_with(http, assertion_params(token)).status_code == 200
    assert http.delete(f"{keys_path(client_id)}/{old.kid}").status_code == 204
    assert_bare_invalid_client(
        token_with(http, assertion_params(assertion(old, client_id, ISSUER, now(clock)))))
    assert token_with(http, assertion_params(
        assertion(new, client_id, ISSUER, now(clock)))).status_code == 200


# ---- introspection and revocation -----------------------------------------------------


def test_introspection_and_revocation_accept_an_assertion(
    http: Any, keyed: tuple[str, ClientKeyPair], clock: FakeClock
) -> None:
    client_id, pair = keyed
    token = body_json(token_with(http, assertion_params(
        assertion(pair, client_id, ISSUER, now(clock)))))["access_token"]

    def call(path: str) -> Any:
        params = {"token": token, **assertion_params(assertion(pair, client_id, ISSUER,
                                                               now(clock)))}
        return http.post(path, headers=FORM, body=form(**params))

    assert body_json(call("/oauth/introspect"))["active"] is True
    assert call("/oauth/revoke").status_code == 200
    assert body_json(call("/oauth/introspect")) == {"active": False}


def test_an_assertion_spent_at_one_endpoint_is_refused_at_the_others(
    http: Any, keyed: tuple[str, ClientKeyPair], clock: FakeClock
) -> None:
    # aud is our issuer at all three endpoints, so one jti store must cover them all
    client_id, pair = keyed
    token = body_json(token_with(http, assertion_params(
        assertion(pair, client_id, ISSUER, now(clock)))))["access_token"]
    spent = assertion_params(assertion(pair, client_id, ISSUER, now(clock)))
    introspected = http.post("/oauth/introspect", headers=FORM,
                             body=form(token=token, **spent))
    assert body_json(introspected)["active"] is True

    assert_bare_invalid_client(token_with(http, spent))
    assert_bare_invalid_client(
        http.post("/oauth/revoke", headers=FORM, body=form(token=token, **spent)))
    assert_bare_invalid_client(
        http.post("/oauth/introspect", headers=FORM, body=form(token=token, **spent)))


def test_introspection_refuses_a_bad_assertion_with_invalid_client(
    http: Any, keyed: tuple[str, ClientKeyPair], clock: FakeClock
) -> None:
    client_id, pair = keyed
    params = {"token": "x", **assertion_params(
        assertion(pair, client_id, TOKEN_ENDPOINT, now(clock)))}

    assert_bare_invalid_client(http.post("/oauth/introspect", headers=FORM, body=form(**params)))


def test_private_key_jwt_combines_with_dpop(
    http: Any, keyed: tuple[str, ClientKeyPair], clock: FakeClock
) -> None:
    from chalicelib.tokens.jwk import thumbprint
    from tests.dpop_proofs import dpop_proof, es256_key, public_members

    client_id, pair = keyed
    dpop_key = es256_key()

    response = token_with(
        http, assertion_params(assertion(pair, client_id, ISSUER, now(clock))),
        {"DPoP": dpop_proof(dpop_key, TOKEN_ENDPOINT, now(clock))},
    )

    assert body_json(response)["token_type"] == "DPoP", response.body
    claims = jwt.decode(body_json(response)["access_token"], options={"verify_signature": False})
    assert claims["client_id"] == client_id
    assert claims["cnf"] == {"jkt": thumbprint(public_members(dpop_key))}
