"""examples/orders_api driven through chalice.test.Client with self-signed tokens."""

from __future__ import annotations

import importlib.util
import json
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from chalice.test import Client
from m2m_testkit import ISSUER, JWKS_URL, FakeClock, FakeFetcher, SigningKey, claims

from m2m_client import Verifier

EXAMPLE_DIR = Path(__file__).resolve().parents[2] / "examples" / "orders_api"
ORDERS_AUDIENCE = "https://api.example.com/orders"  # the demo API make local seeds
ORIGIN = "http://127.0.0.1:8001"


@pytest.fixture
def orders_api(
    monkeypatch: pytest.MonkeyPatch, fetcher: FakeFetcher, clock: FakeClock
) -> ModuleType:
    monkeypatch.setenv("M2M_PUBLIC_ORIGIN", ORIGIN)  # read when the module is loaded
    spec = importlib.util.spec_from_file_location("orders_api_example", EXAMPLE_DIR / "app.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    verifier = Verifier(ISSUER, ORDERS_AUDIENCE, JWKS_URL, fetch=fetcher, clock=clock)
    monkeypatch.setattr(module, "_verifier", verifier)
    return module


@pytest.fixture
def client(orders_api: ModuleType) -> Iterator[Client]:
    with Client(orders_api.app, project_dir=str(EXAMPLE_DIR)) as test_client:
        yield test_client


def bearer(key: SigningKey, scope: str, **overrides: Any) -> dict[str, str]:
    token = key.sign(claims(**{"aud": ORDERS_AUDIENCE, "scope": scope, **overrides}))
    return {"Authorization": f"Bearer {token}"}


def post_order(client: Client, headers: dict[str, str]) -> Any:
    return client.http.post(
        "/orders",
        headers={**headers, "Content-Type": "application/json"},
        body=json.dumps({"item": "widget", "quantity": 3}),
    )


def test_request_without_a_token_is_401(client: Client) -> None:
    assert client.http.get("/orders").status_code == 401


@pytest.mark.parametrize(
    "authorization", ["Bearer not-a-token", "Bearer a.b.c", "Basic dXNlcjpwYXNz"]
)
def test_request_with_an_invalid_token_is_401(client: Client, authorization: str) -> None:
    response = client.http.get("/orders", headers={"Authorization": authorization})

    assert response.status_code == 401


def test_token_for_another_audience_is_401(client: Client, rsa_key: SigningKey) -> None:
    headers = bearer(rsa_key, "orders:read", aud="https://payments.example.com")

    assert client.http.get("/orders", headers=headers).status_code == 401


def test_read_without_orders_read_is_403_insufficient_scope(
    client: Client, rsa_key: SigningKey
) -> None:
    response = client.http.get("/orders", headers=bearer(rsa_key, "orders:write"))

    assert response.status_code == 403
    assert 'error="insufficient_scope"' in response.headers["WWW-Authenticate"]
    assert 'scope="orders:read"' in response.headers["WWW-Authenticate"]
    assert json.loads(response.body)["error"] == "insufficient_scope"


def test_read_with_orders_read_is_200(client: Client, rsa_key: SigningKey) -> None:
    response = client.http.get("/orders", headers=bearer(rsa_key, "orders:read"))

    assert response.status_code == 200
    assert json.loads(response.body) == {"orders": []}


def test_write_without_orders_write_is_403(client: Client, ec_key: SigningKey) -> None:
    response = post_order(client, bearer(ec_key, "orders:read"))

    assert response.status_code == 403


def test_write_with_orders_write_creates_an_order_for_the_calling_client(
    client: Client, ec_key: SigningKey
) -> None:
    created = post_order(client, bearer(ec_key, "orders:write"))
    listed = client.http.get("/orders", headers=bearer(ec_key, "orders:read"))

    assert created.status_code == 201
    order = json.loads(created.body)
    assert order["created_by"] == "svc-billing"
    assert json.loads(listed.body) == {"orders": [order]}


# ---- DPoP-bound tokens (RFC 9449 §7) ------------------------------------------------------


def dpop_headers(key: SigningKey, dpop: Any, scope: str, method: str = "GET") -> dict[str, str]:
    token = key.sign(claims(aud=ORDERS_AUDIENCE, scope=scope, cnf={"jkt": dpop.jkt}))
    return {"Authorization": f"DPoP {token}",
            "DPoP": dpop.proof(method, ORIGIN + "/orders", access_token=token)}


def test_dpop_bound_token_with_its_proof_reads_and_writes(
    client: Client, rsa_key: SigningKey, clock: Any
) -> None:
    from m2m_client import DpopKey

    dpop = DpopKey.generate(clock=clock)

    assert client.http.get("/orders", headers=dpop_headers(rsa_key, dpop, "orders:read")
                           ).status_code == 200
    created = post_order(client, dpop_headers(rsa_key, dpop, "orders:write", "POST"))
    assert created.status_code == 201, created.body


def test_dpop_bound_token_without_its_proof_or_as_bearer_is_401(
    client: Client, rsa_key: SigningKey, clock: Any
) -> None:
    from m2m_client import DpopKey

    dpop = DpopKey.generate(clock=clock)
    headers = dpop_headers(rsa_key, dpop, "orders:read")
    token = headers["Authorization"].split(" ", 1)[1]

    without = client.http.get("/orders", headers={"Authorization": headers["Authorization"]})
    as_bearer = client.http.get("/orders", headers={"Authorization": f"Bearer {token}",
                                                    "DPoP": headers["DPoP"]})
    other_key = DpopKey.generate(clock=clock).proof("GET", ORIGIN + "/orders", access_token=token)
    stolen = client.http.get("/orders", headers={**headers, "DPoP": other_key})

    assert without.status_code == 401
    assert 'error="invalid_dpop_proof"' in without.headers["WWW-Authenticate"]
    assert as_bearer.status_code == 401  # the authorizer refuses it (RFC 9449 §7.2)
    assert stolen.status_code == 401
    assert "another key" in json.loads(stolen.body)["error_description"]
