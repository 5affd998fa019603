"""A small world for token exchange (RFC 8693) and jwt-bearer tests: the Orders API (the
source), the Inventory API (the target), the subject app that calls Orders, and the
Orders service (the caller) that exchanges the tokens it receives for Inventory."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import jwt

from chalicelib import runtime
from chalicelib.oauth.grant_types import ACCESS_TOKEN_TYPE, TOKEN_EXCHANGE
from tests.conftest import AUDIENCE, seed_demo
from tests.functional.conftest import FORM, basic, body_json, form

INVENTORY = "https://api.example.com/inventory"
INVENTORY_SCOPES = ("inventory:read", "inventory:write")


@dataclass(frozen=True)
class Client:
    client_id: str
    secret: str

    def auth(self) -> dict[str, str]:
        return basic(self.client_id, self.secret)


@dataclass(frozen=True)
class World:
    orders_api: str
    inventory_api: str
    subject: Client
    caller: Client


def new_client(services: runtime.Services, name: str) -> Client:
    app, secret = services.provisioning.create_app(name=name)
    return Client(app.client_id, secret.client_secret)


def build_world(services: runtime.Services, **policy: Any) -> World:
    """The subject app may read orders and inventory; the caller may read orders itself
    and exchange Orders tokens for Inventory tokens (read and write) under ``policy``."""
    demo = seed_demo(services)
    p = services.provisioning
    inventory = p.create_api(
        name="Inventory", identifier=INVENTORY,
        scopes=[{"value": s, "description": s} for s in INVENTORY_SCOPES],
    )
    p.set_grant(demo.client_id, inventory.api_id, ["inventory:read"])
    caller = new_client(services, "Orders service")
    p.set_grant(caller.client_id, demo.api_id, ["orders:read"])  # for its own (actor) tokens
    p.set_exchange_policy(caller.client_id, inventory.api_id, {
        "source_apis": [demo.api_id], "scopes": list(INVENTORY_SCOPES), **policy,
    })
    return World(demo.api_id, inventory.api_id, Client(demo.client_id, demo.client_secret),
                 caller)


def client_token(http: Any, client: Client, audience: str = AUDIENCE, **extra: str) -> str:
    response = http.post("/oauth/token", headers={**FORM, **client.auth()}, body=form(
        grant_type="client_credentials", audience=audience, **extra))
    assert response.status_code == 200, response.body
    token: str = body_json(response)["access_token"]
    return token


def exchange(
    http: Any, caller: Client, subject_token: str, audience: str = INVENTORY, **extra: str
) -> Any:
    params = {"grant_type": TOKEN_EXCHANGE, "subject_token": subject_token,
              "subject_token_type": ACCESS_TOKEN_TYPE, "audience": audience, **extra}
    params = {k: v for k, v in params.items() if v}
    return http.post("/oauth/token", headers={**FORM, **caller.auth()}, body=form(**params))


def claims_of(token: str) -> dict[str, Any]:
    decoded: dict[str, Any] = jwt.decode(token, options={"verify_signature": False})
    return decoded


def oauth_error(response: Any, status: int = 400) -> str:
    assert response.status_code == status, response.body
    body = json.loads(response.body)
    assert set(body) == {"error", "error_description"}
    assert response.headers["Cache-Control"] == "no-store"
    error: str = body["error"]
    return error
