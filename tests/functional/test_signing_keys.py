"""Signing keys: ES256 as a per-key option, and the first key bootstrapped from settings."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import jwt
import pytest
from chalice.test import Client

from chalicelib import runtime
from chalicelib.aws.kms_signer import KmsSigner
from chalicelib.store.dynamodb import DynamoDBStore
from chalicelib.store.records import KeyState
from tests.conftest import AUDIENCE, ISSUER, TABLE, AwsBackend, make_settings, seed_demo
from tests.functional.conftest import body_json, token_request


def _client(services: runtime.Services) -> Iterator[Any]:
    import app as chalice_app

    runtime.install(services)
    with Client(chalice_app.app) as client:
        yield client.http


@pytest.fixture
def es256_http(aws: AwsBackend, clock: Any) -> Iterator[Any]:
    key = aws.kms.create_key(KeySpec="ECC_NIST_P256", KeyUsage="SIGN_VERIFY")["KeyMetadata"]
    services = runtime.build_services(
        make_settings(), DynamoDBStore(aws.dynamodb, TABLE), KmsSigner(aws.kms), clock
    )
    services.keyring.register(key["Arn"], "ES256", KeyState.CURRENT)
    seed = seed_demo(services)
    for http in _client(services):
        yield http, seed


def test_es256_tokens_verify_against_the_published_ec_key(es256_http: Any) -> None:
    http, demo = es256_http
    token = body_json(token_request(http, demo))["access_token"]
    [jwk] = body_json(http.get("/.well-known/jwks.json"))["keys"]

    assert jwk["kty"] == "EC" and jwk["crv"] == "P-256" and jwk["alg"] == "ES256"
    assert jwt.get_unverified_header(token)["alg"] == "ES256"
    claims = jwt.decode(token, jwt.PyJWK(jwk).key, algorithms=["ES256"], audience=AUDIENCE,
                        issuer=ISSUER)
    assert claims["client_id"] == demo.client_id


def test_first_request_bootstraps_the_configured_key_once(aws: AwsBackend, clock: Any) -> None:
    # GIVEN a fresh deployment: an empty table and SIGNING_KEY_ID naming the stack's key
    settings = make_settings(SIGNING_KEY_ID=aws.key_arn)
    store = DynamoDBStore(aws.dynamodb, TABLE)
    services = runtime.build_services(settings, store, KmsSigner(aws.kms), clock)
    demo = seed_demo(services)

    for http in _client(services):
        response = token_request(http, demo)
        assert response.status_code == 200, response.body
        # a second container starting concurrently finds the key and adds nothing
        other = runtime.build_services(settings, store, KmsSigner(aws.kms), clock)
        assert other.keyring.current().kid == services.keyring.current().kid
        [record] = store.list_keys()
        assert record.state is KeyState.CURRENT and record.kms_key_id == aws.key_arn
        assert body_json(http.get("/.well-known/jwks.json"))["keys"][0]["kid"] == record.kid


def test_no_current_key_is_a_server_error_not_a_traceback(aws: AwsBackend, clock: Any) -> None:
    services = runtime.build_services(
        make_settings(), DynamoDBStore(aws.dynamodb, TABLE), KmsSigner(aws.kms), clock
    )
    demo = seed_demo(services)
    for http in _client(services):
        response = token_request(http, demo)
        assert response.status_code == 500
        assert body_json(response)["error"] == "server_error"
