"""Repository contract: the same tests against the in-memory fake and the DynamoDB
adapter on moto, so the fake the unit tests rely on behaves like production."""

from __future__ import annotations

from dataclasses import replace

import pytest

from chalicelib.errors import ItemChanged, ItemExists, ItemMissing
from chalicelib.store.dynamodb import DynamoDBStore
from chalicelib.store.memory import MemoryStore
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
from tests.conftest import TABLE

NOW = 1_800_000_000
HOUR = 3600


@pytest.fixture(params=["memory", "dynamodb"])
def store(request: pytest.FixtureRequest) -> Store:
    if request.param == "memory":
        return MemoryStore()
    aws = request.getfixturevalue("aws")
    return DynamoDBStore(aws.dynamodb, TABLE)


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


# -- apps ---------------------------------------------------------------------


def test_create_app_then_get_credentials_returns_app_secret_and_grants(store: Store) -> None:
    app, secret, grant = make_app(), make_secret(expires_at=NOW + HOUR), make_grant()
    store.create_app(app, secret)
    store.put_grant(app.client_id, grant)

    credentials = store.get_credentials(app.client_id)

    assert credentials is not None
    assert credentials.app == app
    assert credentials.secrets == (secret,)
    assert credentials.grants == (grant,)
    assert credentials.grant_for(grant.audience) == grant
    assert store.get_app(app.client_id) == app


def test_get_credentials_and_get_app_of_unknown_client_are_none(store: Store) -> None:
    assert store.get_credentials("nobody") is None
    assert store.get_app("nobody") is None


def test_create_app_twice_with_same_client_id_raises_item_exists(store: Store) -> None:
    store.create_app(make_app(), make_secret("sec_1"))

    with pytest.raises(ItemExists):
        store.create_app(make_app(name="Impostor"), make_secret("sec_2"))

    credentials = store.get_credentials("client-a")
    assert credentials is not None
    assert credentials.app.name == "Billing service"
    assert [s.secret_id for s in credentials.secrets] == ["sec_1"]


def test_update_app_with_current_version_replaces_metadata(store: Store) -> None:
    app = make_app()
    store.create_app(app, make_secret())
    updated = replace(app, enabled=False, revoked_before=NOW + 5, version=2)

    store.update_app(updated, expected_version=1)

    assert store.get_app(app.client_id) == updated


def test_update_app_with_stale_version_raises_item_changed(store: Store) -> None:
    app = make_app()
    store.create_app(app, make_secret())
    store.update_app(replace(app, name="First writer", version=2), expected_version=1)

    with pytest.raises(ItemChanged):
        store.update_app(replace(app, name="Second writer", version=2), expected_version=1)

    stored = store.get_app(app.client_id)
    assert stored is not None and stored.name == "First writer"


def test_update_app_on_missing_app_raises_item_missing(store: Store) -> None:
    with pytest.raises(ItemMissing):
        store.update_app(make_app(version=2), expected_version=1)
    assert store.get_app("client-a") is None


def test_claims_with_nested_json_and_unicode_round_trip(store: Store) -> None:
    claims = {
        "tenant": "Zoë & Søn 🚀",
        "日本": "語",
        "nested": {"list": [1, 2.5, True, None, {"k": "ü"}], "empty": {}},
    }
    store.create_app(make_app(claims=claims), make_secret())

    app = store.get_app("client-a")

    assert app is not None
    assert app.claims == claims


# -- secrets ------------------------------------------------------------------


def test_add_secret_to_missing_app_raises_item_missing(store: Store) -> None:
    with pytest.raises(ItemMissing):
        store.add_secret("nobody", make_secret())
    assert store.get_credentials("nobody") is None


def test_add_and_delete_secret(store: Store) -> None:
    store.create_app(make_app(), make_secret("sec_1"))
    store.add_secret("client-a", make_secret("sec_2", expires_at=NOW + 60))

    store.delete_secret("client-a", "sec_1")

    credentials = store.get_credentials("client-a")
    assert credentials is not None
    assert credentials.secrets == (make_secret("sec_2", expires_at=NOW + 60),)


def test_delete_missing_secret_raises_item_missing(store: Store) -> None:
    store.create_app(make_app(), make_secret("sec_1"))
    with pytest.raises(ItemMissing):
        store.delete_secret("client-a", "sec_unknown")
    with pytest.raises(ItemMissing):
        store.delete_secret("nobody", "sec_1")


def test_record_secret_use_writes_only_when_last_use_is_older_than_interval(
    store: Store,
) -> None:
    store.create_app(make_app(), make_secret("sec_1"))

    store.record_secret_use("client-a", "sec_1", NOW, HOUR)
    assert secret_of(store, "client-a", "sec_1").last_used == NOW

    # WHEN used again within the interval THEN last_used is unchanged
    store.record_secret_use("client-a", "sec_1", NOW + HOUR - 1, HOUR)
    assert secret_of(store, "client-a", "sec_1").last_used == NOW

    # WHEN the interval has passed THEN last_used moves on
    store.record_secret_use("client-a", "sec_1", NOW + HOUR, HOUR)
    assert secret_of(store, "client-a", "sec_1").last_used == NOW + HOUR


def test_record_secret_use_of_missing_secret_is_a_silent_no_op(store: Store) -> None:
    store.create_app(make_app(), make_secret("sec_1"))

    store.record_secret_use("client-a", "sec_gone", NOW, HOUR)

    credentials = store.get_credentials("client-a")
    assert credentials is not None
    assert [s.secret_id for s in credentials.secrets] == ["sec_1"]


# -- grants -------------------------------------------------------------------


def test_put_grant_on_missing_app_raises_item_missing(store: Store) -> None:
    with pytest.raises(ItemMissing):
        store.put_grant("nobody", make_grant())
    assert store.get_credentials("nobody") is None


def test_put_grant_replaces_the_grant_for_the_same_api(store: Store) -> None:
    store.create_app(make_app(), make_secret())
    store.put_grant("client-a", make_grant("api_1", ("orders:read",)))
    replacement = replace(make_grant("api_1", ("orders:read", "orders:write")), version=2)

    store.put_grant("client-a", replacement)

    credentials = store.get_credentials("client-a")
    assert credentials is not None
    assert credentials.grants == (replacement,)


def test_delete_grant_removes_only_that_grant(store: Store) -> None:
    store.create_app(make_app(), make_secret())
    store.put_grant("client-a", make_grant("api_1"))
    store.put_grant("client-a", make_grant("api_2"))

    store.delete_grant("client-a", "api_1")

    credentials = store.get_credentials("client-a")
    assert credentials is not None
    assert credentials.grants == (make_grant("api_2"),)


# -- APIs ---------------------------------------------------------------------


def test_create_api_then_get_find_and_list(store: Store) -> None:
    first = make_api("api_1", "https://orders.example.com")
    second = make_api("api_2", "urn:example:billing")
    store.create_api(first)
    store.create_api(second)

    assert store.get_api("api_1") == first
    assert store.find_api("urn:example:billing") == second
    assert store.get_api("api_unknown") is None
    assert store.find_api("https://unknown.example.com") is None
    assert sorted(store.list_apis(), key=lambda a: a.api_id) == [first, second]


def test_create_api_with_taken_identifier_raises_item_exists_and_keeps_first(
    store: Store,
) -> None:
    first = make_api("api_1", "https://orders.example.com")
    store.create_api(first)

    with pytest.raises(ItemExists):
        store.create_api(replace(make_api("api_2", first.identifier), name="Impostor"))

    assert store.find_api(first.identifier) == first
    assert store.get_api("api_2") is None
    assert store.list_apis() == [first]


def test_create_api_with_taken_api_id_raises_item_exists(store: Store) -> None:
    first = make_api("api_1", "https://orders.example.com")
    store.create_api(first)

    with pytest.raises(ItemExists):
        store.create_api(make_api("api_1", "https://other.example.com"))

    assert store.find_api("https://other.example.com") is None
    assert store.list_apis() == [first]


# -- signing keys ---------------------------------------------------------------


def test_add_key_twice_raises_item_exists(store: Store) -> None:
    store.add_key(make_key("kid-1"))
    with pytest.raises(ItemExists):
        store.add_key(make_key("kid-1", KeyState.NEXT))
    assert store.list_keys() == [make_key("kid-1")]


def test_list_keys_returns_every_registered_key(store: Store) -> None:
    assert store.list_keys() == []
    keys = [
        make_key("kid-1"), make_key("kid-2", KeyState.NEXT), make_key("kid-3", KeyState.RETIRED)
    ]
    for key in keys:
        store.add_key(key)

    assert sorted(store.list_keys(), key=lambda k: k.kid) == keys


def test_a_key_scheduled_for_deletion_keeps_its_timestamp(store: Store) -> None:
    retired = make_key("kid-1", KeyState.RETIRED)
    store.add_key(retired)
    scheduled = replace(retired, deletion_scheduled_at=1_800_000_000, version=2)

    store.save_keys([(scheduled, 1)], None)

    assert store.list_keys() == [scheduled]


# -- revocation ---------------------------------------------------------------


def test_revoked_token_counts_until_its_expiry_even_though_the_item_remains(
    store: Store,
) -> None:
    app = make_app()
    store.create_app(app, make_secret())
    store.revoke_token("jti-1", app.client_id, expires_at=NOW + 600)

    assert store.token_status(app.client_id, "jti-1", NOW) == (app, True)
    assert store.token_status(app.client_id, "jti-1", NOW + 599) == (app, True)
    # moto (like DynamoDB before its TTL sweep) still holds the item: reads must filter.
    assert store.token_status(app.client_id, "jti-1", NOW + 600) == (app, False)


def test_token_status_of_unrevoked_jti_is_not_revoked(store: Store) -> None:
    app = make_app()
    store.create_app(app, make_secret())
    store.revoke_token("jti-1", app.client_id, expires_at=NOW + 600)

    assert store.token_status(app.client_id, "jti-2", NOW) == (app, False)


def test_token_status_of_unknown_app_has_no_app(store: Store) -> None:
    store.revoke_token("jti-1", "nobody", expires_at=NOW + 600)

    assert store.token_status("nobody", "jti-1", NOW) == (None, True)
    assert store.token_status("nobody", "jti-2", NOW) == (None, False)
