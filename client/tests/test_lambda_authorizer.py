"""The plain API Gateway Lambda authorizer (TOKEN and REQUEST events)."""

from __future__ import annotations

from typing import Any

import pytest
from m2m_testkit import SigningKey, claims

from m2m_client import InvalidRequest, MissingToken, Verifier, make_lambda_authorizer
from m2m_client.bearer import bearer_token

METHOD_ARN = "arn:aws:execute-api:eu-west-1:123456789012:abc123/api/GET/orders"


def token_event(authorization: str) -> dict[str, Any]:
    return {"type": "TOKEN", "authorizationToken": authorization, "methodArn": METHOD_ARN}


def request_event(headers: dict[str, str]) -> dict[str, Any]:
    return {
        "type": "REQUEST",
        "methodArn": METHOD_ARN,
        "resource": "/orders",
        "path": "/orders",
        "httpMethod": "GET",
        "headers": headers,
        "multiValueHeaders": {k: [v] for k, v in headers.items()},
        "requestContext": {"stage": "api"},
    }


def allow_policy(scope: str = "orders:read orders:write") -> dict[str, Any]:
    return {
        "principalId": "svc-billing",
        "policyDocument": {
            "Version": "2012-10-17",
            "Statement": [
                {"Action": "execute-api:Invoke", "Effect": "Allow", "Resource": METHOD_ARN}
            ],
        },
        "context": {"client_id": "svc-billing", "scope": scope},
    }


def test_token_event_with_a_valid_token_is_allowed(verifier: Verifier, rsa_key: SigningKey) -> None:
    handler = make_lambda_authorizer(verifier)

    result = handler(token_event(f"Bearer {rsa_key.sign(claims())}"), None)

    assert result == allow_policy()


@pytest.mark.parametrize("name", ["Authorization", "authorization", "AUTHORIZATION"])
def test_request_event_with_a_valid_token_is_allowed(
    verifier: Verifier, ec_key: SigningKey, name: str
) -> None:
    handler = make_lambda_authorizer(verifier)

    result = handler(request_event({name: f"bearer {ec_key.sign(claims())}"}), None)

    assert result == allow_policy()


def test_http_api_route_arn_is_used_when_there_is_no_method_arn(
    verifier: Verifier, rsa_key: SigningKey
) -> None:
    event = request_event({"authorization": f"Bearer {rsa_key.sign(claims())}"})
    del event["methodArn"]
    event["routeArn"] = METHOD_ARN

    assert make_lambda_authorizer(verifier)(event, None) == allow_policy()


@pytest.mark.parametrize(
    "event",
    [
        token_event("Bearer not.a.token"),
        token_event(""),
        token_event("Basic dXNlcjpwYXNz"),
        request_event({}),
        request_event({"Authorization": "Bearer"}),
    ],
)
def test_missing_or_invalid_token_raises_unauthorized(
    verifier: Verifier, event: dict[str, Any]
) -> None:
    handler = make_lambda_authorizer(verifier)

    with pytest.raises(Exception) as raised:  # noqa: B017 - API Gateway matches the message
        handler(event, None)

    assert str(raised.value) == "Unauthorized"


def test_expired_token_raises_unauthorized(verifier: Verifier, rsa_key: SigningKey) -> None:
    handler = make_lambda_authorizer(verifier)
    token = rsa_key.sign(claims(exp=1, iat=0))

    with pytest.raises(Exception, match="^Unauthorized$"):
        handler(token_event(f"Bearer {token}"), None)


def test_token_without_the_required_scope_gets_a_deny_policy(
    verifier: Verifier, rsa_key: SigningKey
) -> None:
    handler = make_lambda_authorizer(verifier, required_scopes=["orders:admin"])

    result = handler(token_event(f"Bearer {rsa_key.sign(claims())}"), None)

    assert result["principalId"] == "svc-billing"
    assert result["policyDocument"]["Statement"][0]["Effect"] == "Deny"
    assert "context" not in result


def test_token_with_the_required_scope_is_allowed(verifier: Verifier, rsa_key: SigningKey) -> None:
    handler = make_lambda_authorizer(verifier, required_scopes="orders:read")
    token = rsa_key.sign(claims(scope="orders:read"))

    assert handler(token_event(f"Bearer {token}"), None) == allow_policy("orders:read")


# --- the Authorization header (RFC 6750 §2.1) ------------------------------------------------


@pytest.mark.parametrize(
    ("value", "token"),
    [("Bearer abc.def.ghi", "abc.def.ghi"), ("bearer  a-b_c~d+e/f==", "a-b_c~d+e/f==")],
)
def test_bearer_token_is_read_from_the_header(value: str, token: str) -> None:
    assert bearer_token(value) == token


@pytest.mark.parametrize("value", [None, "", "   ", "Basic abc", "Token abc"])
def test_absent_bearer_credentials_are_a_missing_token(value: str | None) -> None:
    with pytest.raises(MissingToken) as raised:
        bearer_token(value)
    assert raised.value.www_authenticate == "Bearer"
    assert raised.value.status == 401


@pytest.mark.parametrize("value", ["Bearer", "Bearer a b", "Bearer a,b", 'Bearer "abc"'])
def test_malformed_bearer_credentials_are_an_invalid_request(value: str) -> None:
    with pytest.raises(InvalidRequest) as raised:
        bearer_token(value)
    assert raised.value.status == 400
