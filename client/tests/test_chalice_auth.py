"""The Chalice authorizer helper, called directly."""

from __future__ import annotations

import pytest
from chalice.app import AuthRequest
from m2m_testkit import SigningKey, claims

from m2m_client import Verifier
from m2m_client.chalice_auth import authorize

METHOD_ARN = "arn:aws:execute-api:eu-west-1:123456789012:abc123/api/GET/orders"


def request(token: str) -> AuthRequest:
    return AuthRequest("TOKEN", f"Bearer {token}", METHOD_ARN)


def test_valid_token_is_allowed_every_route_as_its_client(
    verifier: Verifier, rsa_key: SigningKey
) -> None:
    response = authorize(request(rsa_key.sign(claims(scope="orders:read"))), verifier)

    assert response.routes == ["*"]
    assert response.principal_id == "svc-billing"
    assert response.context == {"client_id": "svc-billing", "scope": "orders:read"}
    statement = response.to_dict(request("x"))["policyDocument"]["Statement"][0]
    assert statement["Resource"] == ["arn:aws:execute-api:eu-west-1:123456789012:abc123/api/*/*"]


def test_token_without_the_required_scopes_gets_no_routes(
    verifier: Verifier, rsa_key: SigningKey
) -> None:
    token = rsa_key.sign(claims(scope="orders:read"))

    response = authorize(request(token), verifier, required_scopes=["orders:admin"])

    assert response.routes == []


def test_invalid_token_fails_with_the_message_api_gateway_maps_to_401(
    verifier: Verifier, attacker_key: SigningKey
) -> None:
    with pytest.raises(Exception, match="^Unauthorized$"):
        authorize(request(attacker_key.sign(claims())), verifier)
