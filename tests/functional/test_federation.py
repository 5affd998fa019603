"""Federated workload identity through the Chalice app on moto: the trusted-issuer and
federated-identity admin routes (problem+json, If-Match, audit) and the token endpoint
accepting a workload token from a test OpenID provider on loopback (local mode)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from chalicelib import runtime
from chalicelib.oauth.assertion import JWT_BEARER
from tests.conftest import AUDIENCE, ISSUER, AwsBackend, Demo, seed_demo
from tests.fakes import FakeClock
from tests.functional.admin_helpers import audit_log, error_fields, expect, problem, send
from tests.functional.conftest import FORM, JSON, basic, body_json, form
from tests.functional.local_mode import NoDns, chalice_http, local_services
from tests.functional.test_openapi import DOCUMENT, assert_conforms
from tests.oidc_issuer import TestIssuer, serve_issuer

OPENAPI = json.loads(DOCUMENT.read_text(encoding="utf-8"))

SUBJECT = "system:serviceaccount:billing:invoicer"


@pytest.fixture
def issuer() -> Iterator[TestIssuer]:
    with serve_issuer() as served:
        yield served


@pytest.fixture
def dns() -> NoDns:
    return NoDns()


@pytest.fixture
def services(aws: AwsBackend, clock: FakeClock, dns: NoDns) -> runtime.Services:
    return local_services(aws, clock, dns)


@pytest.fixture
def http(services: runtime.Services) -> Iterator[Any]:
    yield from chalice_http(services)


@pytest.fixture
def demo(services: runtime.Services) -> Demo:
    return seed_demo(services)


def register(http: Any, issuer: TestIssuer, **fields: Any) -> dict[str, Any]:
    body = {"preset": "kubernetes", "issuer": issuer.issuer, "name": "Test cluster", **fields}
    created: dict[str, Any] = expect(send(http, "POST", "/admin/issuers", body), 201)
    return created


def federate(http: Any, client_id: str, issuer: str, subject: str = SUBJECT,
             **fields: Any) -> Any:
    return send(http, "POST", f"/admin/apps/{client_id}/federated-identities",
                {"issuer": issuer, "subject": subject, **fields})


def token_with(http: Any, assertion: str, as_json: bool = False, **extra: str) -> Any:
    params = {"grant_type": "client_credentials", "audience": AUDIENCE,
              "client_assertion_type": JWT_BEARER, "client_assertion": assertion, **extra}
    if as_json:
        return http.post("/oauth/token", headers=JSON, body=json.dumps(params))
    return http.post("/oauth/token", headers=FORM, body=form(**params))


# -- trusted issuers ----------------------------------------------------------------------


def test_register_issuer_discovers_its_jwks_uri(http: Any, issuer: TestIssuer) -> None:
    created = register(http, issuer)

    assert created["issuer"] == issuer.issuer
    assert created["jwks_uri"] == issuer.jwks_uri
    assert created["kind"] == "kubernetes"
    assert created["single_use_jti"] is False
    assert created["max_token_lifetime"] == 3600
    assert created["id"].startswith("iss_")
    fetched = http.get(f"/admin/issuers/{created['id']}")
    assert body_json(fetched) == created
    assert fetched.headers["ETag"] == '"1"'
    assert expect(http.get("/admin/issuers"))["items"] == [created]


def test_the_key_set_status_lists_the_issuers_public_key_ids(
    http: Any, issuer: TestIssuer, clock: FakeClock
) -> None:
    created = register(http, issuer)

    response = http.get(f"/admin/issuers/{created['id']}/keys")
    status = expect(response)

    assert_conforms(OPENAPI, "/admin/issuers/{issuer_id}/keys", "get", response)
    assert status["state"] == "ok" and status["issuer_id"] == created["id"]
    assert status["jwks_uri"] == issuer.jwks_uri
    assert sorted(k["kid"] for k in status["keys"]) == ["ec-1", "rsa-1"]
    assert all(set(k) <= {"kid", "kty", "alg", "use", "crv"} for k in status["keys"])
    assert status["fetched_at"] == status["checked_at"] and status["fetched_at"].endswith("Z")
    # WHEN the issuer goes down and the set is past its max-age, THEN the last good set
    # is still used and the status says so
    issuer.behaviour.status = 503
    clock.advance(601)
    stale = expect(http.get(f"/admin/issuers/{created['id']}/keys"))
    assert stale["state"] == "stale" and len(stale["keys"]) == 2
    assert stale["checked_at"] != stale["fetched_at"]


def test_the_key_set_of_an_unreachable_issuer_is_unavailable(
    http: Any, issuer: TestIssuer
) -> None:
    issuer.behaviour.status = 503
    created = register(http, issuer, jwks_uri=issuer.jwks_uri)

    status = expect(http.get(f"/admin/issuers/{created['id']}/keys"))

    assert (status["state"], status["keys"], status["fetched_at"]) == ("unavailable", [], None)
    problem(http.get("/admin/issuers/iss_0123456789abcdef0123456789abcdef/keys"), 404,
            "not-found")


def test_presets_fill_issuer_and_single_use(http: Any, dns: NoDns) -> None:
    github = expect(send(http, "POST", "/admin/issuers", {"preset": "github-actions"}), 201)
    aws = expect(send(http, "POST", "/admin/issuers", {
        "preset": "aws-outbound",
        "issuer": "https://abc123-def4-5678.tokens.sts.global.api.aws",
    }), 201)
    spiffe = expect(send(http, "POST", "/admin/issuers", {
        "preset": "spiffe", "trust_domain": "prod.acme.example",
        "bundle_endpoint": "https://spire.acme.example/bundle",
    }), 201)

    assert (github["issuer"], github["single_use_jti"]) == (
        "https://token.actions.githubusercontent.com", True)
    assert github["jwks_uri"] is None  # unreachable now: discovered at first use
    assert aws["single_use_jti"] is True and aws["kind"] == "aws-outbound"
    assert (spiffe["issuer"], spiffe["jwks_uri"], spiffe["single_use_jti"]) == (
        "spiffe://prod.acme.example", "https://spire.acme.example/bundle", False)
    assert "spire.acme.example" not in dns.asked  # a bundle endpoint is not fetched now


@pytest.mark.parametrize(("body", "field"), [
    ({"issuer": "http://issuer.example"}, "issuer"),
    ({"issuer": "https://169.254.169.254"}, "issuer"),
    ({"issuer": "https://issuer.example", "jwks_uri": "https://10.0.0.1/jwks"}, "jwks_uri"),
    ({"issuer": "https://issuer.example/"}, "issuer"),
    ({"preset": "nope", "issuer": "https://issuer.example"}, "preset"),
    ({"preset": "github-actions", "issuer": "https://evil.example"}, "issuer"),
    ({"preset": "aws-outbound", "issuer": "https://sts.amazonaws.com"}, "issuer"),
    ({"preset": "spiffe", "trust_domain": "Prod Domain"}, "trust_domain"),
    ({"preset": "spiffe", "trust_domain": "td.example"}, "bundle_endpoint"),
    ({"issuer": "https://issuer.example", "max_token_lifetime": 10}, "max_token_lifetime"),
    ({"issuer": "https://issuer.example", "single_use_jti": "yes"}, "single_use_jti"),
    # the shapes openapi.json states (found by Schemathesis): urlsplit raised on these
    ({"issuer": "https://[issuer.example"}, "issuer"),
    ({"issuer": "https://issuer.example", "jwks_uri": "https://[jwks]/keys"}, "jwks_uri"),
    ({"issuer": "HTTPS://issuer.example"}, "issuer"),
    ({"issuer": "https://[2001:db8::1]"}, "issuer"),
    ({"issuer": "https://issuer!.example"}, "issuer"),
    ({"issuer": "https://issuer.example:"}, "issuer"),
    ({"issuer": "https://issuer.example/\x7f"}, "issuer"),
    ({"issuer": "https://issuer.example", "jwks_uri": ""}, "jwks_uri"),
    ({"issuer": "https://issuer.example", "name": ""}, "name"),
    ({"issuer": "https://issuer.example", "trust_domain": "td.example"}, "trust_domain"),
    ({"preset": "aws-outbound", "issuer": "https://abc.tokens.sts.global.api.aws:8443"},
     "issuer"),
    ({"preset": "aws-outbound", "issuer": "https://ABC.tokens.sts.global.api.aws"}, "issuer"),
    ({"preset": "spiffe", "trust_domain": "td.example", "issuer": "spiffe://td.example",
      "bundle_endpoint": "https://spire.example/bundle"}, "issuer"),
    ({"preset": "spiffe", "trust_domain": "td.example", "jwks_uri": "https://a.example/b",
      "bundle_endpoint": "https://spire.example/bundle"}, "jwks_uri"),
])
def test_rejects_invalid_issuer_registration(
    http: Any, dns: NoDns, body: dict[str, Any], field: str,
) -> None:
    refused = problem(send(http, "POST", "/admin/issuers", body), 400, "validation")

    assert field in error_fields(refused)
    assert "169.254.169.254" not in dns.asked and "10.0.0.1" not in dns.asked


@pytest.mark.parametrize("own", [ISSUER, "https://AUTH.Example.Test/v1"])
def test_refuses_our_own_issuer_identifier_as_a_trusted_issuer(
    http: Any, dns: NoDns, own: str
) -> None:
    # our access tokens carry iss = our issuer: trusting it would make them workload tokens
    refused = problem(send(http, "POST", "/admin/issuers", {"issuer": own}), 400, "validation")

    assert error_fields(refused) == ["issuer"]
    assert expect(http.get("/admin/issuers"))["items"] == []


def test_accepts_an_integral_number_as_max_token_lifetime(http: Any, dns: NoDns) -> None:
    # JSON Schema's integer (openapi.json) includes 600.0
    created = expect(send(http, "POST", "/admin/issuers", {
        "issuer": "https://issuer.example", "max_token_lifetime": 600.0,
    }), 201)

    assert created["max_token_lifetime"] == 600


def test_spiffe_takes_jwks_uri_as_the_bundle_endpoint(http: Any, dns: NoDns) -> None:
    created = expect(send(http, "POST", "/admin/issuers", {
        "preset": "spiffe", "trust_domain": "td.example", "jwks_uri": "https://spire.example/b",
    }), 201)

    assert created["jwks_uri"] == "https://spire.example/b"


def test_register_same_issuer_twice_is_conflict(http: Any, issuer: TestIssuer) -> None:
    register(http, issuer)

    problem(send(http, "POST", "/admin/issuers",
                 {"preset": "kubernetes", "issuer": issuer.issuer}), 409, "conflict")


def test_delete_issuer_honours_if_match_and_is_audited(http: Any, issuer: TestIssuer) -> None:
    created = register(http, issuer)
    path = f"/admin/issuers/{created['id']}"

    problem(http.request("DELETE", path, headers={"If-Match": '"9"'}), 412,
            "precondition-failed")
    assert http.request("DELETE", path, headers={"If-Match": '"1"'}).status_code == 204
    problem(http.get(path), 404, "not-found")
    problem(http.get("/admin/issuers/not-an-id"), 404, "not-found")
    actions = [r["action"] for r in audit_log(http)]
    assert actions[:2] == ["issuer.delete", "issuer.add"]


# -- federated identities -----------------------------------------------------------------


def test_add_list_and_remove_federated_identities(
    http: Any, issuer: TestIssuer, demo: Demo,
) -> None:
    register(http, issuer)
    base = f"/admin/apps/{demo.client_id}/federated-identities"

    added = expect(federate(http, demo.client_id, issuer.issuer, audience="urn:billing"), 201)
    assert (added["issuer"], added["subject"], added["audience"]) == (
        issuer.issuer, SUBJECT, "urn:billing")
    assert expect(http.get(base))["items"] == [added]
    problem(federate(http, demo.client_id, issuer.issuer), 409, "conflict")

    version = http.get(f"/admin/apps/{demo.client_id}").headers["ETag"]
    problem(http.request("DELETE", f"{base}/{added['id']}", headers={"If-Match": '"1"'}),
            412, "precondition-failed")
    assert http.request("DELETE", f"{base}/{added['id']}",
                        headers={"If-Match": version}).status_code == 204
    assert expect(http.get(base))["items"] == []
    problem(http.request("DELETE", f"{base}/{added['id']}"), 404, "not-found")
    actions = [r["action"] for r in audit_log(http)]
    assert actions[:2] == ["app.unfederate", "app.federate"]


def test_rejects_identity_of_unregistered_issuer_or_wrong_subject_shape(
    http: Any, issuer: TestIssuer, demo: Demo,
) -> None:
    register(http, issuer)

    unknown = problem(federate(http, demo.client_id, "https://other.example"), 400,
                      "validation")
    shape = problem(federate(http, demo.client_id, issuer.issuer, "repo:acme/x"), 400,
                    "validation")
    assert error_fields(unknown) == ["issuer"]
    assert error_fields(shape) == ["subject"]
    problem(federate(http, "a" * 26, issuer.issuer), 404, "not-found")


def test_an_app_lists_at_most_20_identities(http: Any, issuer: TestIssuer, demo: Demo) -> None:
    register(http, issuer)
    for n in range(20):
        expect(federate(http, demo.client_id, issuer.issuer, f"{SUBJECT}{n}"), 201)

    problem(federate(http, demo.client_id, issuer.issuer, f"{SUBJECT}x"), 409, "conflict")


# -- the token endpoint -------------------------------------------------------------------


def test_workload_token_gets_an_access_token(
    http: Any, issuer: TestIssuer, demo: Demo, clock: FakeClock,
) -> None:
    register(http, issuer, single_use_jti=True)
    expect(federate(http, demo.client_id, issuer.issuer), 201)
    workload = issuer.token(SUBJECT, ISSUER, now=clock.now)

    issued = token_with(http, workload)

    assert issued.status_code == 200, issued.body
    claims = json.loads(issued.body)
    assert claims["token_type"] == "Bearer"
    replayed = token_with(http, workload, as_json=True)
    assert replayed.status_code == 401
    assert body_json(replayed) == {"error": "invalid_client",
                                   "error_description": "Client authentication failed."}
    assert replayed.headers["WWW-Authenticate"].startswith("Basic")


def test_json_body_and_client_id_naming_the_app_are_accepted(
    http: Any, issuer: TestIssuer, demo: Demo, clock: FakeClock,
) -> None:
    register(http, issuer)
    expect(federate(http, demo.client_id, issuer.issuer), 201)

    issued = token_with(http, issuer.token(SUBJECT, ISSUER, now=clock.now), as_json=True,
                        client_id=demo.client_id)
    other = token_with(http, issuer.token(SUBJECT, ISSUER, now=clock.now),
                       client_id="b" * 26)

    assert issued.status_code == 200, issued.body
    assert other.status_code == 401


def test_assertion_with_a_secret_as_well_is_invalid_request(
    http: Any, issuer: TestIssuer, demo: Demo, clock: FakeClock,
) -> None:
    register(http, issuer)
    expect(federate(http, demo.client_id, issuer.issuer), 201)
    params = {"grant_type": "client_credentials", "audience": AUDIENCE,
              "client_assertion_type": JWT_BEARER,
              "client_assertion": issuer.token(SUBJECT, ISSUER, now=clock.now)}

    mixed = http.post("/oauth/token",
                      headers={**FORM, **basic(demo.client_id, demo.client_secret)},
                      body=form(**params))

    assert mixed.status_code == 400
    assert body_json(mixed)["error"] == "invalid_request"


def test_token_of_a_deleted_issuer_is_refused(
    http: Any, issuer: TestIssuer, demo: Demo, clock: FakeClock,
) -> None:
    created = register(http, issuer)
    expect(federate(http, demo.client_id, issuer.issuer), 201)
    http.request("DELETE", f"/admin/issuers/{created['id']}")

    refused = token_with(http, issuer.token(SUBJECT, ISSUER, now=clock.now))

    assert refused.status_code == 401


def test_workload_token_authenticates_introspection_too(
    http: Any, services: runtime.Services, issuer: TestIssuer, demo: Demo, clock: FakeClock,
) -> None:
    # GIVEN an app allowed to introspect, with a federated identity and no secret in use
    services.provisioning.update_app(demo.client_id, {"permissions": ["introspect"]})
    register(http, issuer)
    expect(federate(http, demo.client_id, issuer.issuer), 201)
    access = json.loads(token_with(http, issuer.token(SUBJECT, ISSUER, now=clock.now)).body)

    # WHEN it introspects its token authenticating with a workload token
    answer = http.post("/oauth/introspect", headers=FORM, body=form(
        token=access["access_token"], client_assertion_type=JWT_BEARER,
        client_assertion=issuer.token(SUBJECT, ISSUER, now=clock.now),
    ))

    # THEN the token is reported active
    assert answer.status_code == 200, answer.body
    assert body_json(answer)["active"] is True


def test_federated_workload_token_combines_with_dpop(
    http: Any, issuer: TestIssuer, demo: Demo, clock: FakeClock,
) -> None:
    import jwt

    from chalicelib.tokens.jwk import thumbprint
    from tests.dpop_proofs import dpop_proof, es256_key, public_members

    register(http, issuer)
    expect(federate(http, demo.client_id, issuer.issuer), 201)
    dpop_key = es256_key()
    params = {"grant_type": "client_credentials", "audience": AUDIENCE,
              "client_assertion_type": JWT_BEARER,
              "client_assertion": issuer.token(SUBJECT, ISSUER, now=clock.now)}

    issued = http.post("/oauth/token", body=form(**params), headers={
        **FORM, "DPoP": dpop_proof(dpop_key, ISSUER + "/oauth/token", int(clock.now))})

    assert body_json(issued)["token_type"] == "DPoP", issued.body
    claims = jwt.decode(body_json(issued)["access_token"], options={"verify_signature": False})
    assert claims["client_id"] == demo.client_id
    assert claims["cnf"] == {"jkt": thumbprint(public_members(dpop_key))}
