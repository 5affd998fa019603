"""JWKS (RFC 7517) and authorization server metadata (RFC 8414)."""

from __future__ import annotations

from typing import Any

import pytest

from chalicelib import runtime
from chalicelib.routes.http import issuer_for
from chalicelib.tokens.jwk import thumbprint
from tests.conftest import AwsBackend, Demo
from tests.functional.conftest import body_json


def test_jwks_publishes_the_signing_key_with_kid_use_and_alg(
    http: Any, moto_services: runtime.Services
) -> None:
    response = http.get("/.well-known/jwks.json")

    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "public, max-age=600"
    [key] = body_json(response)["keys"]
    assert key["kty"] == "RSA" and key["use"] == "sig" and key["alg"] == "RS256"
    assert key["kid"] == thumbprint(key) == moto_services.keyring.current().kid
    assert {"n", "e"} <= set(key)
    assert not {"d", "p", "q", "dp", "dq", "qi"} & set(key), "private members must never appear"


def test_public_keys_come_from_kms_once_per_container(
    http: Any, demo: Demo, aws: AwsBackend
) -> None:
    http.get("/.well-known/jwks.json")
    aws.counter.reset()
    for _ in range(5):
        http.get("/.well-known/jwks.json")
    assert aws.counter.calls["kms:GetPublicKey"] == 0


def test_metadata_advertises_endpoints_under_the_issuer(http: Any, demo: Demo) -> None:
    response = http.get("/.well-known/oauth-authorization-server")

    assert response.status_code == 200
    doc = body_json(response)
    issuer = doc["issuer"]
    assert issuer == "https://auth.example.test/v1"
    assert doc["token_endpoint"] == issuer + "/oauth/token"
    assert doc["jwks_uri"] == issuer + "/.well-known/jwks.json"
    assert doc["introspection_endpoint"] == issuer + "/oauth/introspect"
    assert doc["revocation_endpoint"] == issuer + "/oauth/revoke"
    assert doc["grant_types_supported"] == [
        "client_credentials", "urn:ietf:params:oauth:grant-type:token-exchange",
        "urn:ietf:params:oauth:grant-type:jwt-bearer",
    ]
    assert doc["response_types_supported"] == []
    methods = [
        "client_secret_basic", "client_secret_post", "private_key_jwt",
        "urn:m2m-auth:params:oauth:client-auth:federated-jwt",
        "urn:m2m-auth:params:oauth:client-auth:aws-sigv4",
    ]
    assert doc["token_endpoint_auth_methods_supported"] == methods
    assert doc["introspection_endpoint_auth_methods_supported"] == methods
    assert doc["revocation_endpoint_auth_methods_supported"] == methods
    algs = ["RS256", "PS256", "ES256", "EdDSA"]  # RFC 8414 §2: required with private_key_jwt
    assert doc["token_endpoint_auth_signing_alg_values_supported"] == algs
    assert doc["introspection_endpoint_auth_signing_alg_values_supported"] == algs
    assert doc["revocation_endpoint_auth_signing_alg_values_supported"] == algs
    assert doc["scopes_supported"] == ["orders:read", "orders:write"]


class _Request:
    def __init__(self, context: dict[str, Any], headers: dict[str, str]) -> None:
        self.context = context
        self.headers = headers


def test_issuer_is_derived_from_the_api_gateway_request_when_not_configured() -> None:
    request = _Request({"domainName": "abc.execute-api.eu-west-1.amazonaws.com",
                        "stage": "prod"}, {"host": "evil.example"})
    assert issuer_for(request, None) == (  # type: ignore[arg-type]
        "https://abc.execute-api.eu-west-1.amazonaws.com/prod"
    )
    assert issuer_for(request, "https://auth.example.com") == (  # type: ignore[arg-type]
        "https://auth.example.com"
    )


def test_host_header_names_the_issuer_only_in_local_mode() -> None:
    from chalicelib.errors import IssuerUnknown, ServerError

    request = _Request({}, {"host": "evil.example"})
    with pytest.raises(IssuerUnknown):  # never from Host outside local mode
        issuer_for(request, None)  # type: ignore[arg-type]
    assert issuer_for(request, None, allow_host=True) == "http://evil.example"  # type: ignore[arg-type]
    long_host = _Request({}, {"host": "h" * 300})
    with pytest.raises(ServerError):
        issuer_for(long_host, None, allow_host=True)  # type: ignore[arg-type]


# RFC 7591 §2 and the IANA "OAuth Token Endpoint Authentication Methods" registry.
IANA_AUTH_METHODS = frozenset({
    "none", "client_secret_post", "client_secret_basic", "client_secret_jwt",
    "private_key_jwt", "tls_client_auth", "self_signed_tls_client_auth",
})


def test_every_advertised_method_is_registered_or_an_absolute_uri(http: Any, demo: Demo) -> None:
    from urllib.parse import urlsplit

    doc = body_json(http.get("/.well-known/oauth-authorization-server"))
    lists = {k: v for k, v in doc.items() if k.endswith("_methods_supported")}
    assert len(lists) >= 3  # token, introspection, revocation
    for name, methods in lists.items():
        for method in methods:
            parts = urlsplit(method)
            is_absolute_uri = bool(parts.scheme) and bool(parts.netloc or parts.path)
            assert method in IANA_AUTH_METHODS or (is_absolute_uri and ":" in method), (
                name, method)
            assert method not in {"aws_sigv4", "federated_jwt"}, (name, method)
