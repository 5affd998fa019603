"""Records the store contract tests build (tests/integration/test_store_*.py)."""

from __future__ import annotations

from dataclasses import replace

from chalicelib.store.records import (
    Api,
    App,
    ClientSecret,
    Grant,
    KeyState,
    ScopeDefinition,
    SigningKeyRecord,
)
from chalicelib.store.repository import Store

NOW = 1_800_000_000
HOUR = 3600


def make_app(client_id: str = "client-a", **changes: object) -> App:
    app = App(
        client_id=client_id,
        name="Billing service",
        description="Bills customers",
        claims={"tenant": "acme"},
        token_lifetime=900,
        permissions=frozenset({"introspect"}),
        created_at=NOW,
        updated_at=NOW,
    )
    return replace(app, **changes)


def make_secret(secret_id: str = "sec_1", **changes: object) -> ClientSecret:  # noqa: S107
    secret = ClientSecret(
        secret_id=secret_id, secret_hash=f"v1$salt${secret_id}", created_at=NOW
    )
    return replace(secret, **changes)


def make_grant(api_id: str = "api_1", scopes: tuple[str, ...] = ("orders:read",)) -> Grant:
    return Grant(
        api_id=api_id, audience=f"https://{api_id}.example.com", scopes=scopes,
        token_lifetime=600,
    )


def make_api(api_id: str = "api_1", identifier: str = "https://orders.example.com") -> Api:
    return Api(
        api_id=api_id,
        identifier=identifier,
        name="Orders",
        scopes=(ScopeDefinition("orders:read", "Read"), ScopeDefinition("orders:write")),
        token_lifetime=600,
        created_at=NOW,
        updated_at=NOW,
    )


def make_key(kid: str, state: KeyState = KeyState.CURRENT) -> SigningKeyRecord:
    return SigningKeyRecord(
        kid=kid, kms_key_id=f"arn:aws:kms:us-east-1:123456789012:key/{kid}", alg="RS256",
        state=state, created_at=NOW, activated_at=NOW if state is KeyState.CURRENT else None,
    )


def secret_of(store: Store, client_id: str, secret_id: str) -> ClientSecret:
    credentials = store.get_credentials(client_id)
    assert credentials is not None
    return next(s for s in credentials.secrets if s.secret_id == secret_id)
