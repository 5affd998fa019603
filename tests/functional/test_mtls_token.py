"""Mutual TLS at the token endpoint, through the Chalice app with the certificate in
``requestContext.identity.clientCert`` as API Gateway forwards it (RFC 8705): client
authentication (§2), certificate-bound tokens for every client that presents a
certificate (§3.1), the app's ``tls_client_certificate_bound_access_tokens`` (§3.4),
reuse, introspection, metadata (§3.3, §5) and the cost of a request."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from unittest import mock

import jwt
import pytest
from chalice.test import Client

from chalicelib import runtime
from chalicelib.aws.kms_signer import KmsSigner
from chalicelib.oauth import mtls_binding, tls_client_auth
from chalicelib.oauth.client_certificate import pem_thumbprint
from chalicelib.store.dynamodb import DynamoDBStore
from chalicelib.store.records import KeyState
from tests.certificates import (
    DAY,
    SUBJECT,
    email,
    issued,
    now,
    presenting,
    self_signed,
    uri,
    x5c_jwk,
)
from tests.conftest import AUDIENCE, TABLE, AwsBackend, Demo, make_settings, seed_demo
from tests.fakes import FakeClock
from tests.functional.conftest import FORM, basic, body_json, form

MTLS = "https://mtls.auth.example.test"


@pytest.fixture
def services(aws: AwsBackend, clock: FakeClock) -> runtime.Services:
    """The moto-backed services of a stage with a mutual-TLS endpoint."""
    built = runtime.build_services(
        make_settings(MTLS_ENDPOINT=MTLS), DynamoDBStore(aws.dynamodb, TABLE),
        KmsSigner(aws.kms), clock,
    )
    built.keyring.register(aws.key_arn, "RS256", KeyState.CURRENT)
    return built


@pytest.fixture
def http(services: runtime.Services) -> Iterator[Any]:
    import app as chalice_app

    runtime.install(services)
    with Client(chalice_app.app) as client:
        yield client.http


@pytest.fixture
def demo(services: runtime.Services) -> Demo:
    return seed_demo(services)


def register(services: runtime.Services, client_id: str, **rule: Any) -> None:
    body = {k.replace("x5t_S256", "x5t#S256"): v for k, v in rule.items()}
    services.provisioning.add_tls_client(client_id, body)


def token(http: Any, pem: str | None, headers: dict[str, str] | None = None,
          **params: str) -> Any:
    body = form(grant_type="client_credentials", audience=AUDIENCE, **params)
    with presenting(pem):
        return http.post("/oauth/token", headers={**FORM, **(headers or {})}, body=body)


def claims(response: Any) -> dict[str, Any]:
    assert response.status_code == 200, response.body
    decoded: dict[str, Any] = jwt.decode(body_json(response)["access_token"],
                                         options={"verify_signature": False})
    return decoded


def refused(response: Any, status: int, error: str) -> None:
    assert response.status_code == status, response.body
    assert body_json(response)["error"] == error
    assert "Traceback" not in response.body.decode()


# -- client authentication (§2) -----------------------------------------------------------


def test_tls_client_auth_gets_a_certificate_bound_bearer_token(
    http: Any, demo: Demo, services: runtime.Services
) -> None:
    register(services, demo.client_id, tls_client_auth_subject_dn=SUBJECT)
    pem = issued()

    response = token(http, pem, client_id=demo.client_id)

    assert body_json(response)["token_type"] == "Bearer"  # RFC 8705 §3
    assert claims(response)["cnf"] == {"x5t#S256": pem_thumbprint(pem)}
    assert claims(response)["client_id"] == demo.client_id


def test_self_signed_tls_client_auth_gets_a_bound_token(
    http: Any, demo: Demo, services: runtime.Services
) -> None:
    pem, _ = self_signed()
    register(services, demo.client_id, certificate=pem)

    assert claims(token(http, pem, client_id=demo.client_id))["cnf"] == {
        "x5t#S256": pem_thumbprint(pem)}


@pytest.mark.parametrize("case", ["wrong_dn", "other_san_type", "no_client_id", "other_app",
                                  "expired_self_signed", "not_yet_valid", "thumbprint_mismatch",
                                  "jwks_other_certificate", "self_signed_with_the_dn",
                                  "no_rule"])
def test_certificates_that_do_not_authenticate_the_app_are_invalid_client(
    http: Any, demo: Demo, services: runtime.Services, case: str
) -> None:
    pem = issued()
    params: dict[str, str] = {"client_id": demo.client_id}
    if case == "wrong_dn":
        register(services, demo.client_id, tls_client_auth_subject_dn="CN=someone-else")
    elif case == "other_san_type":
        register(services, demo.client_id, tls_client_auth_san_dns="worker.example.com")
        pem = issued(names=[uri("worker.example.com"), email("worker@worker.example.com")])
    elif case == "no_client_id":
        register(services, demo.client_id, tls_client_auth_subject_dn=SUBJECT)
        params = {}
    elif case == "other_app":
        register(services, demo.client_id, tls_client_auth_subject_dn=SUBJECT)
        other = services.provisioning.create_secretless_app(name="Other")
        register(services, other.client_id, tls_client_auth_subject_dn="CN=other")
        params = {"client_id": other.client_id}
    elif case == "expired_self_signed":
        pem, _ = self_signed(not_before=now() - 30 * DAY, not_after=now() - DAY)
        register(services, demo.client_id, x5t_S256=pem_thumbprint(pem))
    elif case == "not_yet_valid":
        register(services, demo.client_id, tls_client_auth_subject_dn=SUBJECT)
        pem = issued(not_before=now() + DAY, not_after=now() + 30 * DAY)
    elif case == "thumbprint_mismatch":
        register(services, demo.client_id, certificate=self_signed()[0])
        pem = self_signed()[0]
    elif case == "jwks_other_certificate":  # the JWKS's x5c names another certificate
        _, registered = self_signed()
        register(services, demo.client_id, jwks={"keys": [x5c_jwk(registered)]})
        pem = self_signed()[0]
    elif case == "self_signed_with_the_dn":  # no CA vouches for the name
        register(services, demo.client_id, tls_client_auth_subject_dn=SUBJECT)
        pem = self_signed()[0]

    refused(token(http, pem, **params), 401, "invalid_client")


def test_a_certificate_with_a_secret_in_both_places_is_two_methods_at_once(
    http: Any, demo: Demo, services: runtime.Services
) -> None:
    register(services, demo.client_id, tls_client_auth_subject_dn=SUBJECT)

    response = token(http, issued(), basic(demo.client_id, demo.client_secret),
                     client_id=demo.client_id, client_secret=demo.client_secret)

    refused(response, 400, "invalid_request")


def test_a_certificate_with_a_client_assertion_authenticates_by_the_assertion_only(
    http: Any, demo: Demo, services: runtime.Services
) -> None:
    # the assertion is the one method; a matching certificate does not rescue a bad one
    register(services, demo.client_id, tls_client_auth_subject_dn=SUBJECT)

    response = token(http, issued(), client_id=demo.client_id, client_assertion="e30.e30.x",
                     client_assertion_type="urn:ietf:params:oauth:client-assertion-type:"
                                           "jwt-bearer")

    refused(response, 401, "invalid_client")


def test_a_client_id_without_a_certificate_is_not_authenticated(
    http: Any, demo: Demo, services: runtime.Services
) -> None:
    register(services, demo.client_id, tls_client_auth_subject_dn=SUBJECT)

    refused(token(http, None, client_id=demo.client_id), 401, "invalid_client")


def test_a_disabled_app_is_refused_over_mutual_tls(
    http: Any, demo: Demo, services: runtime.Services
) -> None:
    register(services, demo.client_id, tls_client_auth_subject_dn=SUBJECT)
    services.provisioning.set_enabled(demo.client_id, False)

    refused(token(http, issued(), client_id=demo.client_id), 401, "invalid_client")


# -- certificate-bound tokens for every client (§3) ---------------------------------------


@pytest.mark.parametrize("method", ["basic", "post"])
def test_a_secret_client_presenting_a_certificate_gets_a_bound_token(
    http: Any, demo: Demo, method: str
) -> None:
    pem = issued("CN=anything")  # no registration needed: the secret authenticates
    if method == "basic":
        response = token(http, pem, basic(demo.client_id, demo.client_secret))
    else:
        response = token(http, pem, client_id=demo.client_id, client_secret=demo.client_secret)

    assert claims(response)["cnf"] == {"x5t#S256": pem_thumbprint(pem)}
    assert body_json(response)["token_type"] == "Bearer"


def test_a_secret_client_without_a_certificate_gets_an_unbound_token(
    http: Any, demo: Demo
) -> None:
    assert "cnf" not in claims(token(http, None, basic(demo.client_id, demo.client_secret)))


def test_an_app_requiring_bound_tokens_is_refused_without_a_certificate(
    http: Any, demo: Demo, services: runtime.Services
) -> None:
    services.provisioning.update_app(
        demo.client_id, {"tls_client_certificate_bound_access_tokens": True})
    auth = basic(demo.client_id, demo.client_secret)

    refused(token(http, None, auth), 400, "invalid_request")
    pem = issued()
    assert claims(token(http, pem, auth))["cnf"] == {"x5t#S256": pem_thumbprint(pem)}


def test_reuse_never_hands_a_bound_token_to_another_certificate_or_a_bearer_request(
    http: Any, demo: Demo
) -> None:
    auth = basic(demo.client_id, demo.client_secret)
    first, second = issued(), issued()

    a1 = body_json(token(http, first, auth))["access_token"]
    a2 = body_json(token(http, first, auth))["access_token"]
    b = body_json(token(http, second, auth))["access_token"]
    bearer = body_json(token(http, None, auth))["access_token"]

    assert a1 == a2  # the same certificate: reused
    assert len({a1, b, bearer}) == 3
    assert "cnf" not in jwt.decode(bearer, options={"verify_signature": False})


def test_introspection_returns_the_confirmation_claim(
    http: Any, demo: Demo
) -> None:
    auth = basic(demo.client_id, demo.client_secret)
    pem = issued()
    access_token = body_json(token(http, pem, auth))["access_token"]

    with presenting(None):
        response = http.post("/oauth/introspect", headers={**FORM, **auth},
                             body=form(token=access_token))

    found = body_json(response)
    assert found["active"] is True and found["token_type"] == "Bearer"
    assert found["cnf"] == {"x5t#S256": pem_thumbprint(pem)}


def test_introspection_and_revocation_accept_tls_client_auth(
    http: Any, demo: Demo, services: runtime.Services
) -> None:
    register(services, demo.client_id, tls_client_auth_subject_dn=SUBJECT)
    pem = issued()
    access_token = body_json(token(http, pem, client_id=demo.client_id))["access_token"]

    with presenting(pem):
        introspected = http.post("/oauth/introspect", headers=FORM,
                                 body=form(token=access_token, client_id=demo.client_id))
        revoked = http.post("/oauth/revoke", headers=FORM,
                            body=form(token=access_token, client_id=demo.client_id))

    assert body_json(introspected)["active"] is True
    assert revoked.status_code == 200


# -- metadata (§3.3, §5) ------------------------------------------------------------------


def test_metadata_advertises_mtls_methods_bound_tokens_and_endpoint_aliases(http: Any) -> None:
    metadata = body_json(http.get("/.well-known/oauth-authorization-server"))

    for endpoint in ("token", "introspection", "revocation"):
        methods = metadata[f"{endpoint}_endpoint_auth_methods_supported"]
        assert {"tls_client_auth", "self_signed_tls_client_auth"} <= set(methods)
    assert metadata["tls_client_certificate_bound_access_tokens"] is True
    assert metadata["mtls_endpoint_aliases"] == {
        "token_endpoint": MTLS + "/oauth/token",
        "introspection_endpoint": MTLS + "/oauth/introspect",
        "revocation_endpoint": MTLS + "/oauth/revoke",
    }


def test_without_a_mutual_tls_endpoint_nothing_of_it_is_advertised(
    moto_services: runtime.Services,
) -> None:
    metadata = moto_services.discovery.metadata("https://auth.example.test/v1")

    assert "tls_client_auth" not in metadata["token_endpoint_auth_methods_supported"]
    assert "tls_client_certificate_bound_access_tokens" not in metadata
    assert "mtls_endpoint_aliases" not in metadata


def test_no_aliases_when_the_mutual_tls_host_is_the_issuer(aws: AwsBackend, clock: Any) -> None:
    from tests.conftest import ISSUER

    built = runtime.build_services(
        make_settings(MTLS_ENDPOINT=ISSUER), DynamoDBStore(aws.dynamodb, TABLE),
        KmsSigner(aws.kms), clock,
    )
    metadata = built.discovery.metadata(ISSUER)

    assert metadata["tls_client_certificate_bound_access_tokens"] is True
    assert "mtls_endpoint_aliases" not in metadata


# -- cost -------------------------------------------------------------------------------


def test_tls_client_auth_costs_the_one_query_of_a_token_request(
    http: Any, demo: Demo, services: runtime.Services, aws: AwsBackend
) -> None:
    services.provisioning.update_api(demo.api_id, {"token_reuse": None})
    register(services, demo.client_id, tls_client_auth_subject_dn=SUBJECT)
    pem = issued()
    token(http, pem, client_id=demo.client_id)  # warm
    aws.counter.reset()

    assert token(http, pem, client_id=demo.client_id).status_code == 200

    assert aws.counter.calls == {"dynamodb:Query": 1, "dynamodb:UpdateItem": 1, "kms:Sign": 1}


def test_a_bearer_request_parses_and_hashes_no_certificate(
    http: Any, demo: Demo, services: runtime.Services
) -> None:
    register(services, demo.client_id, tls_client_auth_subject_dn=SUBJECT)
    with mock.patch.object(tls_client_auth, "parse_certificate",
                           wraps=tls_client_auth.parse_certificate) as parse, \
         mock.patch.object(mtls_binding, "pem_thumbprint",
                           wraps=mtls_binding.pem_thumbprint) as hashed:
        bearer = token(http, None, basic(demo.client_id, demo.client_secret))
        assert bearer.status_code == 200
        assert not parse.called and not hashed.called
        # the same patches see a certificate request (so the test can fail)
        assert token(http, issued(), client_id=demo.client_id).status_code == 200
        assert parse.called and hashed.called
