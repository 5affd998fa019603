"""Performance contract: a warm fresh token costs one DynamoDB Query, one counter
update (usage and quotas) and one kms:Sign (a reused one: the Query only); KMS
failures become OAuth errors, never tracebacks."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from botocore.stub import Stubber

from chalicelib import runtime
from tests.conftest import AwsBackend, Demo, reuse_off
from tests.functional.conftest import body_json, token_request


def test_warm_fresh_token_request_makes_one_query_one_counter_update_and_one_kms_sign(
    http: Any, demo: Demo, aws: AwsBackend, moto_services: runtime.Services
) -> None:
    reuse_off(moto_services, demo)
    token_request(http, demo)  # warm: key ring loaded, last_used recorded
    aws.counter.reset()

    for _ in range(3):
        assert token_request(http, demo).status_code == 200

    assert aws.counter.calls == {"dynamodb:Query": 3, "dynamodb:UpdateItem": 3, "kms:Sign": 3}


def test_last_used_is_recorded_at_most_once_an_hour(
    http: Any, demo: Demo, aws: AwsBackend, clock: Any, moto_services: runtime.Services
) -> None:
    token_request(http, demo)
    first = _last_used(moto_services, demo)
    clock.advance(1800)
    token_request(http, demo)
    assert _last_used(moto_services, demo) == first
    clock.advance(1801)
    aws.counter.reset()
    token_request(http, demo)
    # the secret's and the app's last_used, and the fresh-token counter every fresh
    # token updates
    assert aws.counter.calls["dynamodb:UpdateItem"] == 3
    assert _last_used(moto_services, demo) == int(clock.now)


def _last_used(services: runtime.Services, demo: Demo) -> int | None:
    credentials = services.store.get_credentials(demo.client_id)
    assert credentials is not None
    [secret] = [s for s in credentials.secrets if s.secret_id == demo.secret_id]
    return secret.last_used


@pytest.mark.parametrize(
    ("code", "status", "error"),
    [
        ("DisabledException", 500, "server_error"),
        ("KMSInvalidStateException", 500, "server_error"),
        ("AccessDeniedException", 500, "server_error"),
        ("KMSInternalException", 500, "server_error"),
        ("ThrottlingException", 503, "temporarily_unavailable"),
    ],
)
def test_kms_failures_give_json_errors_not_tracebacks(
    http: Any, demo: Demo, aws: AwsBackend, code: str, status: int, error: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    # GIVEN KMS refuses to sign (moto cannot disable keys: botocore's Stubber can)
    with Stubber(aws.kms) as stub:
        stub.add_client_error("sign", service_error_code=code, http_status_code=400)
        with caplog.at_level(logging.INFO):
            response = token_request(http, demo)

    assert response.status_code == status
    assert response.headers["Cache-Control"] == "no-store"
    body = body_json(response)
    assert body["error"] == error and set(body) == {"error", "error_description"}
    assert "Traceback" not in response.body.decode()
    if status == 503:
        assert response.headers["Retry-After"] == "1"


def test_dynamodb_failure_gives_server_error(http: Any, demo: Demo, aws: AwsBackend) -> None:
    with Stubber(aws.dynamodb) as stub:
        stub.add_client_error("query", service_error_code="InternalServerError",
                              http_status_code=500)
        response = token_request(http, demo)
    assert response.status_code == 500
    assert body_json(response)["error"] == "server_error"


def test_malformed_client_ids_are_refused_without_a_dynamodb_read(
    http: Any, demo: Demo, aws: AwsBackend
) -> None:
    from tests.functional.conftest import FORM, basic, form

    aws.counter.reset()
    # DynamoDB rejects partition keys over 2,048 bytes (moto does not): never send one
    response = http.post(
        "/oauth/token",
        headers={**FORM, **basic("x" * 3000, demo.client_secret)},
        body=form(grant_type="client_credentials", audience="x"),
    )
    assert response.status_code == 401
    assert aws.counter.count("dynamodb") == 0


def test_token_path_never_calls_get_public_key(
    http: Any, demo: Demo, aws: AwsBackend
) -> None:
    aws.counter.reset()
    token_request(http, demo)
    assert aws.counter.calls["kms:GetPublicKey"] == 0


@pytest.mark.parametrize(("code", "status"), [("ThrottlingException", 503),
                                              ("KMSInternalException", 500)])
def test_jwks_is_an_uncacheable_error_not_an_empty_set_when_kms_fails(
    http: Any, demo: Demo, aws: AwsBackend, moto_services: runtime.Services,
    code: str, status: int,
) -> None:
    # GIVEN a cold container (no public key cached) and KMS failing GetPublicKey
    cold = runtime.build_services(
        moto_services.settings, moto_services.store, moto_services.signer
    )
    runtime.install(cold)
    with Stubber(aws.kms) as stub:
        stub.add_client_error("get_public_key", service_error_code=code, http_status_code=400)
        response = http.get("/.well-known/jwks.json")
    assert response.status_code == status
    assert response.headers["Cache-Control"] == "no-store"
    assert "keys" not in body_json(response)
