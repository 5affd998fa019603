"""The jwt-bearer grant (RFC 7523 §2.1) in MCP SEP-1933's wire format, through the Chalice
app on moto in local mode with a test OpenID provider on loopback: claim rules (exact and
pattern subjects, required claim values), the audience rule, single use, lifetime, and
the answers: invalid_grant for the assertion, invalid_target for the resource."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

import pytest

from chalicelib import runtime
from chalicelib.oauth.grant_types import JWT_BEARER
from chalicelib.tokens.jwk import thumbprint
from tests.conftest import AUDIENCE, ISSUER, AwsBackend, Demo, seed_demo
from tests.dpop_proofs import dpop_proof, es256_key, public_members
from tests.fakes import FakeClock
from tests.functional.admin_helpers import error_fields, expect, problem, send
from tests.functional.conftest import FORM, basic, body_json, form
from tests.functional.exchange_world import claims_of, oauth_error
from tests.functional.local_mode import NoDns, chalice_http, local_services
from tests.oidc_issuer import TestIssuer, serve_issuer

TOKEN_ENDPOINT = f"{ISSUER}/oauth/token"
SUBJECT = "system:serviceaccount:billing:invoicer"


@pytest.fixture
def issuer() -> Iterator[TestIssuer]:
    with serve_issuer() as served:
        yield served


@pytest.fixture
def services(aws: AwsBackend, clock: FakeClock) -> runtime.Services:
    return local_services(aws, clock, NoDns())


@pytest.fixture
def http(services: runtime.Services) -> Iterator[Any]:
    yield from chalice_http(services)


@pytest.fixture
def demo(services: runtime.Services) -> Demo:
    return seed_demo(services)


@pytest.fixture
def trusted(http: Any, issuer: TestIssuer) -> str:
    created = expect(send(http, "POST", "/admin/issuers", {
        "preset": "oidc", "issuer": issuer.issuer, "jwks_uri": issuer.jwks_uri}), 201)
    issuer_url: str = created["issuer"]
    return issuer_url


def rule(http: Any, client_id: str, issuer: str, **fields: Any) -> Any:
    return send(http, "POST", f"/admin/apps/{client_id}/federated-identities",
                {"issuer": issuer, **fields})


def grant(http: Any, assertion: str, **extra: str) -> Any:
    params = {"grant_type": JWT_BEARER, "assertion": assertion, "resource": AUDIENCE, **extra}
    return http.post("/oauth/token", headers=FORM,
                     body=form(**{k: v for k, v in params.items() if v}))


def test_workload_jwt_for_our_token_endpoint_gets_a_token_without_client_authentication(
    http: Any, issuer: TestIssuer, trusted: str, demo: Demo, clock: FakeClock,
) -> None:
    expect(rule(http, demo.client_id, trusted, subject=SUBJECT), 201)

    response = grant(http, issuer.token(SUBJECT, TOKEN_ENDPOINT, now=clock.now))

    assert response.status_code == 200, response.body
    body = body_json(response)
    assert body["scope"] == "orders:read" and body["token_type"] == "Bearer"
    claims = claims_of(body["access_token"])
    assert (claims["sub"], claims["client_id"], claims["aud"]) == (
        demo.client_id, demo.client_id, AUDIENCE)
    assert claims["gty"] == JWT_BEARER


def test_our_issuer_identifier_is_accepted_as_aud_too(
    http: Any, issuer: TestIssuer, trusted: str, demo: Demo, clock: FakeClock,
) -> None:
    expect(rule(http, demo.client_id, trusted, subject=SUBJECT), 201)

    assert grant(http, issuer.token(SUBJECT, [ISSUER], now=clock.now)).status_code == 200


@pytest.mark.parametrize("audience", [
    "https://other-as.example/oauth/token", f"{ISSUER}/oauth/introspect", AUDIENCE,
])
def test_wrong_aud_is_invalid_grant(
    http: Any, issuer: TestIssuer, trusted: str, demo: Demo, clock: FakeClock, audience: str,
) -> None:
    expect(rule(http, demo.client_id, trusted, subject=SUBJECT), 201)

    assert oauth_error(grant(http, issuer.token(SUBJECT, audience, now=clock.now))) == (
        "invalid_grant")


def test_a_replayed_assertion_is_invalid_grant(
    http: Any, issuer: TestIssuer, trusted: str, demo: Demo, clock: FakeClock,
) -> None:
    expect(rule(http, demo.client_id, trusted, subject=SUBJECT), 201)
    assertion = issuer.token(SUBJECT, TOKEN_ENDPOINT, now=clock.now)

    assert grant(http, assertion).status_code == 200
    assert oauth_error(grant(http, assertion)) == "invalid_grant"


@pytest.mark.parametrize(("lifetime", "age"), [(300, 400), (7200, 0)])
def test_expired_or_too_long_lived_assertions_are_invalid_grant(
    http: Any, issuer: TestIssuer, trusted: str, demo: Demo, clock: FakeClock,
    lifetime: int, age: int,
) -> None:
    expect(rule(http, demo.client_id, trusted, subject=SUBJECT), 201)
    assertion = issuer.token(SUBJECT, TOKEN_ENDPOINT, now=clock.now - age, lifetime=lifetime)

    assert oauth_error(grant(http, assertion)) == "invalid_grant"


def test_an_untrusted_issuers_jwt_is_invalid_grant(
    http: Any, issuer: TestIssuer, demo: Demo, clock: FakeClock,
) -> None:
    assert oauth_error(grant(http, issuer.token(SUBJECT, TOKEN_ENDPOINT, now=clock.now))) == (
        "invalid_grant")


def test_a_resource_the_app_has_no_grant_for_is_invalid_target(
    http: Any, issuer: TestIssuer, trusted: str, demo: Demo, clock: FakeClock,
) -> None:
    expect(rule(http, demo.client_id, trusted, subject=SUBJECT), 201)

    response = grant(http, issuer.token(SUBJECT, TOKEN_ENDPOINT, now=clock.now),
                     resource="https://api.example.com/unknown")

    assert oauth_error(response) == "invalid_target"


@pytest.mark.parametrize("missing", ["assertion", "resource"])
def test_assertion_and_resource_are_required(
    http: Any, issuer: TestIssuer, trusted: str, demo: Demo, clock: FakeClock, missing: str,
) -> None:
    assertion = issuer.token(SUBJECT, TOKEN_ENDPOINT, now=clock.now)
    response = grant(http, "" if missing == "assertion" else assertion,
                     **({"resource": ""} if missing == "resource" else {}))

    assert oauth_error(response) == "invalid_request"


def test_client_authentication_is_refused_with_this_grant(
    http: Any, issuer: TestIssuer, trusted: str, demo: Demo, clock: FakeClock,
) -> None:
    expect(rule(http, demo.client_id, trusted, subject=SUBJECT), 201)
    params = {"grant_type": JWT_BEARER, "resource": AUDIENCE,
              "assertion": issuer.token(SUBJECT, TOKEN_ENDPOINT, now=clock.now)}

    with_basic = http.post("/oauth/token", headers={**FORM, **basic(demo.client_id,
                                                                       demo.client_secret)},
                           body=form(**params))
    with_post = http.post("/oauth/token", headers=FORM, body=form(
        **params, client_id=demo.client_id, client_secret=demo.client_secret))

    assert oauth_error(with_basic) == "invalid_request"
    assert oauth_error(with_post) == "invalid_request"


# -- claim rules --------------------------------------------------------------------


def test_required_claims_must_all_hold(
    http: Any, issuer: TestIssuer, trusted: str, demo: Demo, clock: FakeClock,
) -> None:
    expect(rule(http, demo.client_id, trusted, subject=SUBJECT, required_claims={
        "/kubernetes.io/namespace": "billing", "cluster": "prod"}), 201)

    def token(**claims: Any) -> str:
        return issuer.token(SUBJECT, TOKEN_ENDPOINT, now=clock.now, **claims)

    matching = token(**{"kubernetes.io": {"namespace": "billing"}, "cluster": "prod"})
    wrong_namespace = token(**{"kubernetes.io": {"namespace": "dev"}, "cluster": "prod"})
    missing_claim = token(**{"kubernetes.io": {"namespace": "billing"}})
    not_a_string = token(**{"kubernetes.io": {"namespace": ["billing"]}, "cluster": "prod"})

    assert grant(http, matching).status_code == 200
    for refused in (wrong_namespace, missing_claim, not_a_string):
        assert oauth_error(grant(http, refused)) == "invalid_grant"


def test_subject_pattern_matches_one_segment_per_star(
    http: Any, issuer: TestIssuer, trusted: str, demo: Demo, clock: FakeClock,
) -> None:
    expect(rule(http, demo.client_id, trusted,
                subject_pattern="system:serviceaccount:billing:*"), 201)

    def token(subject: str) -> str:
        return issuer.token(subject, TOKEN_ENDPOINT, now=clock.now)

    assert grant(http, token("system:serviceaccount:billing:invoicer")).status_code == 200
    assert grant(http, token("system:serviceaccount:billing:reports")).status_code == 200
    for outside in ("system:serviceaccount:payroll:invoicer",
                    "system:serviceaccount:billing:a:b", "system:serviceaccount:billing:"):
        assert oauth_error(grant(http, token(outside))) == "invalid_grant"


def test_exact_rules_win_over_patterns(
    http: Any, issuer: TestIssuer, trusted: str, demo: Demo, services: runtime.Services,
    clock: FakeClock,
) -> None:
    other, _ = services.provisioning.create_app(name="Catch-all")
    services.provisioning.set_grant(other.client_id, demo.api_id, ["orders:read"])
    expect(rule(http, other.client_id, trusted,
                subject_pattern="system:serviceaccount:billing:*"), 201)
    expect(rule(http, demo.client_id, trusted, subject=SUBJECT), 201)

    exact = grant(http, issuer.token(SUBJECT, TOKEN_ENDPOINT, now=clock.now))
    pattern = grant(http, issuer.token("system:serviceaccount:billing:x", TOKEN_ENDPOINT,
                                       now=clock.now))

    assert claims_of(body_json(exact)["access_token"])["sub"] == demo.client_id
    assert claims_of(body_json(pattern)["access_token"])["sub"] == other.client_id


def test_a_token_two_apps_claim_needs_client_id_to_choose(
    http: Any, issuer: TestIssuer, trusted: str, demo: Demo, services: runtime.Services,
    clock: FakeClock,
) -> None:
    other, _ = services.provisioning.create_app(name="Twin")
    for client_id in (demo.client_id, other.client_id):
        expect(rule(http, client_id, trusted, subject=SUBJECT), 201)

    ambiguous = grant(http, issuer.token(SUBJECT, TOKEN_ENDPOINT, now=clock.now))
    chosen = grant(http, issuer.token(SUBJECT, TOKEN_ENDPOINT, now=clock.now),
                   client_id=demo.client_id)

    assert oauth_error(ambiguous) == "invalid_grant"
    assert chosen.status_code == 200, chosen.body


def test_a_blocked_app_gets_no_token(
    http: Any, issuer: TestIssuer, trusted: str, demo: Demo, services: runtime.Services,
    clock: FakeClock,
) -> None:
    expect(rule(http, demo.client_id, trusted, subject=SUBJECT), 201)
    services.provisioning.update_app(demo.client_id, {"enabled": False})

    assert oauth_error(grant(http, issuer.token(SUBJECT, TOKEN_ENDPOINT, now=clock.now))) == (
        "invalid_grant")


def test_refusals_log_the_reason_never_the_assertion(
    http: Any, issuer: TestIssuer, trusted: str, demo: Demo, clock: FakeClock,
    caplog: pytest.LogCaptureFixture,
) -> None:
    assertion = issuer.token(SUBJECT, "https://elsewhere.example", now=clock.now)
    expect(rule(http, demo.client_id, trusted, subject=SUBJECT), 201)

    with caplog.at_level(logging.INFO, logger="chalicelib"):
        grant(http, assertion)

    text = "\n".join(r.getMessage() for r in caplog.records)
    assert "jwt-bearer grant refused" in text and "aud does not name us" in text
    assert assertion.split(".")[1] not in text


# -- admin: claim rules are federated identities -----------------------------------------


@pytest.mark.parametrize(("fields", "field"), [
    ({"subject": SUBJECT, "subject_pattern": "system:serviceaccount:*:x"}, "subject"),
    ({}, "subject"),
    ({"subject_pattern": "*:anything"}, "subject_pattern"),
    ({"subject_pattern": "system:serviceaccount:billing:**"}, "subject_pattern"),
    ({"subject_pattern": "system:serviceaccount:billing"}, "subject_pattern"),
    ({"subject_pattern": "a:*:*:*:*:*"}, "subject_pattern"),
    ({"subject": SUBJECT, "required_claims": {"sub": "x"}}, "required_claims.sub"),
    ({"subject": SUBJECT, "required_claims": {"/aud/0": "x"}}, "required_claims./aud/0"),
    ({"subject": SUBJECT, "required_claims": {"ref": 7}}, "required_claims.ref"),
    ({"subject": SUBJECT, "required_claims": ["ref"]}, "required_claims"),
])
def test_invalid_claim_rules_are_400_naming_the_field(
    http: Any, trusted: str, demo: Demo, fields: dict[str, Any], field: str,
) -> None:
    body = problem(rule(http, demo.client_id, trusted, **fields), 400, "validation")

    assert field in error_fields(body)


def test_github_patterns_must_pin_the_owner(http: Any, demo: Demo) -> None:
    github = expect(send(http, "POST", "/admin/issuers", {"preset": "github-actions"}), 201)

    unpinned = rule(http, demo.client_id, github["issuer"],
                    subject_pattern="repo:acme/*:ref:refs/heads/main")
    pinned = rule(http, demo.client_id, github["issuer"],
                  subject_pattern="repo:acme/*:ref:refs/heads/main",
                  required_claims={"repository_owner_id": "1234"})

    assert "required_claims" in error_fields(problem(unpinned, 400, "validation"))
    created = expect(pinned, 201)
    assert (created["subject"], created["subject_pattern"]) == (
        None, "repo:acme/*:ref:refs/heads/main")
    assert created["required_claims"] == {"repository_owner_id": "1234"}
    audit = expect(http.get("/admin/audit?limit=1"))["items"][0]
    assert audit["action"] == "app.federate"
    assert audit["changes"]["subject_pattern"] == "repo:acme/*:ref:refs/heads/main"
    assert audit["changes"]["required_claims"] == {"repository_owner_id": "1234"}


def test_metadata_lists_both_new_grants_and_the_assertion_signing_algorithms(
    http: Any,
) -> None:
    metadata = body_json(http.get("/.well-known/oauth-authorization-server"))

    assert set(metadata["grant_types_supported"]) == {
        "client_credentials", JWT_BEARER, "urn:ietf:params:oauth:grant-type:token-exchange"}
    # MCP SEP-1046 requires it of an authorization server offering private_key_jwt
    assert "private_key_jwt" in metadata["token_endpoint_auth_methods_supported"]
    assert "RS256" in metadata["token_endpoint_auth_signing_alg_values_supported"]


# -- DPoP (RFC 9449) on the jwt-bearer grant ------------------------------------------------


def test_a_proof_binds_the_jwt_bearer_token_to_the_workloads_key(
    http: Any, issuer: TestIssuer, trusted: str, demo: Demo, clock: FakeClock,
) -> None:
    expect(rule(http, demo.client_id, trusted, subject=SUBJECT), 201)
    key = es256_key()
    headers = {**FORM, "DPoP": dpop_proof(key, TOKEN_ENDPOINT, int(clock.now))}

    response = http.post("/oauth/token", headers=headers, body=form(
        grant_type=JWT_BEARER, resource=AUDIENCE,
        assertion=issuer.token(SUBJECT, TOKEN_ENDPOINT, now=clock.now)))

    assert response.status_code == 200, response.body
    body = body_json(response)
    assert body["token_type"] == "DPoP"
    assert claims_of(body["access_token"])["cnf"] == {"jkt": thumbprint(public_members(key))}


def test_an_app_that_must_use_dpop_gets_no_jwt_bearer_token_without_a_proof(
    http: Any, services: runtime.Services, issuer: TestIssuer, trusted: str, demo: Demo,
    clock: FakeClock,
) -> None:
    expect(rule(http, demo.client_id, trusted, subject=SUBJECT), 201)
    services.provisioning.update_app(demo.client_id, {"dpop_bound_access_tokens": True})

    response = grant(http, issuer.token(SUBJECT, TOKEN_ENDPOINT, now=clock.now))

    assert oauth_error(response) == "invalid_dpop_proof"


def test_a_request_refused_for_its_target_or_scope_leaves_the_assertion_unspent(
    http: Any, issuer: TestIssuer, trusted: str, demo: Demo, clock: FakeClock,
) -> None:
    # single use is the last check: a mistyped resource or scope does not burn a
    # one-time platform token, the corrected request can still send it
    expect(rule(http, demo.client_id, trusted, subject=SUBJECT), 201)
    workload = issuer.token(SUBJECT, TOKEN_ENDPOINT, now=clock.now)

    assert oauth_error(grant(http, workload, scope="orders:write")) == "invalid_scope"
    assert oauth_error(grant(http, workload, resource="https://nowhere.example")) == (
        "invalid_target")
    assert grant(http, workload).status_code == 200
    assert oauth_error(grant(http, workload)) == "invalid_grant"  # now spent
