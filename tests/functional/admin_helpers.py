"""Helpers for the admin API functional tests (docs/admin-contract.md): JSON requests,
RFC 9457 problem checks, small resources created through the API, and a caller
identity injected into the request context the way API Gateway's IAM auth would."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from types import SimpleNamespace
from typing import Any
from unittest import mock

from chalice.local import LambdaEventConverter

from tests.functional.conftest import JSON, body_json

PROBLEM_TYPE = "application/problem+json"
PROBLEM_PREFIX = "urn:m2m-auth:problem:"
ADMIN_ARN = "arn:aws:iam::123456789012:role/admin"
HASH_PREFIX = "v1$"
INVENTORY = "https://api.example.com/inventory"


def send(
    http: Any,
    method: str,
    path: str,
    body: Any = None,
    headers: dict[str, str] | None = None,
) -> Any:
    """One admin request with a JSON body (none when ``body`` is None)."""
    raw = b"" if body is None else json.dumps(body).encode()
    return http.request(method, path, headers={**JSON, **(headers or {})}, body=raw)


def expect(response: Any, status: int = 200) -> Any:
    """The parsed JSON body, after checking the status (the body is shown on failure)."""
    assert response.status_code == status, response.body
    return body_json(response) if response.body else None


def problem(response: Any, status: int, slug: str) -> dict[str, Any]:
    """Check an RFC 9457 problem response and return its body."""
    assert response.status_code == status, response.body
    assert response.headers["Content-Type"] == PROBLEM_TYPE
    body: dict[str, Any] = body_json(response)
    assert body["type"] == PROBLEM_PREFIX + slug
    assert body["status"] == status
    assert isinstance(body["title"], str) and body["title"]
    assert isinstance(body["detail"], str) and body["detail"]
    assert "Code" not in body and "Message" not in body  # never Chalice's error body
    assert "Traceback" not in response.body.decode()
    return body


def error_fields(body: dict[str, Any]) -> list[str]:
    return [e["field"] for e in body.get("errors", [])]


def scopes(*values: str) -> list[dict[str, str]]:
    return [{"value": v, "description": f"{v} access"} for v in values]


def new_api(
    http: Any,
    identifier: str = INVENTORY,
    scope_values: tuple[str, ...] = ("inventory:read", "inventory:write"),
    **fields: Any,
) -> dict[str, Any]:
    body = {"name": "Inventory", "identifier": identifier, "scopes": scopes(*scope_values),
            **fields}
    created: dict[str, Any] = expect(send(http, "POST", "/admin/apis", body), 201)
    return created


def new_app(http: Any, name: str = "Reporting job", **fields: Any) -> dict[str, Any]:
    created: dict[str, Any] = expect(send(http, "POST", "/admin/apps", {"name": name, **fields}),
                                     201)
    return created


def audit_log(http: Any) -> list[dict[str, Any]]:
    """The newest audit records (the fixtures stay far below one page)."""
    items: list[dict[str, Any]] = expect(http.get("/admin/audit?limit=200"))["items"]
    return items


def new_audit_records(http: Any, before: list[dict[str, Any]]) -> list[dict[str, Any]]:
    seen = {r["id"] for r in before}
    return [r for r in audit_log(http) if r["id"] not in seen]


def walk(value: Any) -> Iterator[tuple[str | None, Any]]:
    """Every (key, value) pair of a JSON document, keys None for list members."""
    if isinstance(value, dict):
        for key, item in value.items():
            yield key, item
            yield from walk(item)
    elif isinstance(value, list):
        for item in value:
            yield None, item
            yield from walk(item)


def assert_no_secret_material(document: Any) -> None:
    """No secret or hash key, and no value shaped like a stored secret hash."""
    for key, value in walk(document):
        assert key not in {"client_secret", "secret_hash"}, key
        assert not (isinstance(value, str) and value.startswith(HASH_PREFIX)), key


MAX_PARTITION_KEY_BYTES = 2048


def enforce_dynamodb_key_size(dynamodb: Any) -> None:
    """Reads answer ValidationException for a key value over DynamoDB's 2,048-byte
    partition-key limit, as the real service does (moto does not check)."""

    def before_read(params: dict[str, Any], **_: Any) -> Any:
        request = json.loads(params["body"])
        values = {**request.get("Key", {}), **request.get("ExpressionAttributeValues", {})}
        too_long = any(len(v.get("S", "").encode()) > MAX_PARTITION_KEY_BYTES
                       for v in values.values())
        if not too_long:
            return None
        error = {"Error": {"Code": "ValidationException", "Message": (
            "One or more parameter values were invalid: Size of hashkey has exceeded the "
            "maximum size limit of 2048 bytes")}}
        return SimpleNamespace(status_code=400, headers={}), error

    for operation in ("Query", "GetItem"):
        dynamodb.meta.events.register(f"before-call.dynamodb.{operation}", before_read)


@contextmanager
def caller_identity(user_arn: str, request_id: str) -> Iterator[None]:
    """Requests carry an IAM caller and a request id in their context, as API Gateway
    sets them after SigV4 auth (chalice.test.Client puts neither there)."""
    original = LambdaEventConverter.create_lambda_event

    def create_lambda_event(self: LambdaEventConverter, *args: Any, **kwargs: Any) -> Any:
        event = original(self, *args, **kwargs)
        event["requestContext"]["identity"]["userArn"] = user_arn
        event["requestContext"]["requestId"] = request_id
        return event

    with mock.patch.object(LambdaEventConverter, "create_lambda_event", create_lambda_event):
        yield
