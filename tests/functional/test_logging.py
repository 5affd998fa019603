"""No secret, secret hash, access token, client assertion, workload token or private key
is ever logged, at any level (our own loggers included: build_services sets them to INFO)."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from chalicelib import runtime
from chalicelib.oauth.assertion import JWT_BEARER
from tests.conftest import AwsBackend, seed_demo
from tests.fakes import FakeClock
from tests.functional.conftest import FORM, basic, body_json, form, token_request

JSON_HEADERS = {"Content-Type": "application/json"}


def _logged(caplog: pytest.LogCaptureFixture) -> str:
    return caplog.text + " ".join(repr(r.args) for r in caplog.records)


@contextmanager
def _everything_at_debug(caplog: pytest.LogCaptureFixture) -> Iterator[None]:
    """DEBUG for the root logger and for ``chalicelib``, whose level build_services sets
    to INFO (caplog.at_level alone would leave our own debug lines unseen)."""
    with caplog.at_level(logging.DEBUG), caplog.at_level(logging.DEBUG, logger="chalicelib"):
        yield


def test_no_secret_hash_or_token_reaches_any_log(
    http: Any, moto_services: runtime.Services, caplog: pytest.LogCaptureFixture
) -> None:
    with _everything_at_debug(caplog):
        demo = seed_demo(moto_services)
        token = body_json(token_request(http, demo))["access_token"]
        auth = {**FORM, **basic(demo.client_id, demo.client_secret)}
        http.post("/oauth/introspect", headers=auth, body=form(token=token))
        http.post("/oauth/revoke", headers=auth, body=form(token=token))
        token_request(http, demo, scope="orders:write")  # an error path
        http.post("/oauth/token", headers={**FORM, **basic(demo.client_id, "m2msec_wrong")},
                  body=form(grant_type="client_credentials", audience="x"))
        stored = moto_services.store.get_credentials(demo.client_id)

    assert stored is not None
    logged = caplog.text + " ".join(repr(r.args) for r in caplog.records)
    assert "token issued" in logged, "the test must see the service's own log lines"
    forbidden = {
        "secret": demo.client_secret,
        "hash": stored.secrets[0].secret_hash.split("$")[2],
        "token": token,
        "token signature": token.rsplit(".", 1)[1],
        "token payload": token.split(".")[1],
    }
    for what, value in forbidden.items():
        assert value not in logged, f"{what} was logged"


def test_swapped_id_and_secret_never_put_the_secret_in_the_log(
    http: Any, moto_services: runtime.Services, caplog: pytest.LogCaptureFixture
) -> None:
    demo = seed_demo(moto_services)
    with _everything_at_debug(caplog):
        response = http.post(
            "/oauth/token",
            headers={**FORM, **basic(demo.client_secret, demo.client_id)},  # swapped
            body=form(grant_type="client_credentials", audience="x"),
        )
    assert response.status_code == 401
    assert "client authentication failed client_id=<malformed>" in caplog.text
    assert demo.client_secret not in caplog.text


def test_no_client_assertion_or_private_key_reaches_any_log(
    http: Any, moto_services: runtime.Services, clock: FakeClock,
    caplog: pytest.LogCaptureFixture,
) -> None:
    from tests.assertion_keys import assertion, assertion_params, new_key_pair
    from tests.conftest import AUDIENCE, ISSUER

    demo = seed_demo(moto_services)
    pair = new_key_pair("ES256", kid="log-key")
    now = int(clock())
    keys = f"/admin/apps/{demo.client_id}/keys"
    with _everything_at_debug(caplog):
        # an admin pastes the private JWK by mistake, then the public one
        http.post(keys, headers=JSON_HEADERS, body=json.dumps({"jwk": pair.private_jwk}))
        http.post(keys, headers=JSON_HEADERS, body=json.dumps({"jwk": pair.public_jwk}))
        accepted = assertion(pair, demo.client_id, ISSUER, now)
        wrong_aud = assertion(pair, demo.client_id, ISSUER + "/oauth/token", now)
        issued = [
            http.post("/oauth/token", headers=FORM, body=form(
                grant_type="client_credentials", audience=AUDIENCE, **assertion_params(a)))
            for a in (accepted, accepted, wrong_aud)  # issued, replayed, refused
        ]
        token = body_json(issued[0])["access_token"]
        for path in ("/oauth/introspect", "/oauth/revoke"):
            http.post(path, headers=FORM, body=form(
                token=token, **assertion_params(assertion(pair, demo.client_id, ISSUER, now))))

    assert [r.status_code for r in issued] == [200, 401, 401]
    logged = _logged(caplog)
    assert "auth=private_key_jwt" in logged and "reason=jti replayed" in logged
    forbidden = {
        "private key": pair.private_jwk["d"],
        "assertion": accepted,
        "assertion payload": accepted.split(".")[1],
        "assertion signature": accepted.split(".")[2],
        "refused assertion signature": wrong_aud.split(".")[2],
        "access token": token.split(".")[1],
    }
    for what, value in forbidden.items():
        assert value not in logged, f"{what} was logged"


def test_no_workload_token_reaches_any_log(
    aws: AwsBackend, clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    from chalice.test import Client

    import app as chalice_app
    from chalicelib.aws.kms_signer import KmsSigner
    from chalicelib.store.dynamodb import DynamoDBStore
    from chalicelib.store.records import KeyState
    from tests.conftest import AUDIENCE, ISSUER, TABLE, make_settings
    from tests.oidc_issuer import serve_issuer

    subject = "system:serviceaccount:billing:invoicer"
    services = runtime.build_services(
        make_settings(M2M_LOCAL_MODE="1"), DynamoDBStore(aws.dynamodb, TABLE),
        KmsSigner(aws.kms), clock,
    )
    services.keyring.register(aws.key_arn, "RS256", KeyState.CURRENT)
    demo = seed_demo(services)
    runtime.install(services)
    with serve_issuer() as issuer, Client(chalice_app.app) as client, \
            _everything_at_debug(caplog):
        http = client.http
        http.post("/admin/issuers", headers=JSON_HEADERS, body=json.dumps(
            {"preset": "oidc", "issuer": issuer.issuer, "name": "Test"}))
        http.post(f"/admin/apps/{demo.client_id}/federated-identities", headers=JSON_HEADERS,
                  body=json.dumps({"issuer": issuer.issuer, "subject": subject}))
        workload = issuer.token(subject, ISSUER, now=clock.now)
        other_aud = issuer.token(subject, "https://elsewhere.example", now=clock.now)
        params = {"grant_type": "client_credentials", "audience": AUDIENCE,
                  "client_assertion_type": JWT_BEARER}
        issued = [
            http.post("/oauth/token", headers=FORM,
                      body=form(**params, client_assertion=t))
            for t in (workload, workload, other_aud)  # issued, replayed, refused
        ]

    assert [r.status_code for r in issued] == [200, 401, 401]
    logged = _logged(caplog)
    assert "auth=urn:m2m-auth:params:oauth:client-auth:federated-jwt" in logged
    assert "reason=jti replayed" in logged
    for what, value in {
        "workload token": workload,
        "workload token payload": workload.split(".")[1],
        "workload token signature": workload.split(".")[2],
        "refused token signature": other_aud.split(".")[2],
    }.items():
        assert value not in logged, f"{what} was logged"
