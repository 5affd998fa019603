"""Store contract: an app's public keys for private_key_jwt, JWK#<kid> rows in the app's
partition (memory and DynamoDB, see conftest)."""

from __future__ import annotations

import pytest

from chalicelib.errors import ItemChanged, ItemMissing
from chalicelib.store.records import AuditRecord, ClientKey
from chalicelib.store.repository import Store
from tests.integration.store_records import NOW, make_app, make_secret

JWK = {"kty": "OKP", "crv": "Ed25519", "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo",
       "kid": "k1", "alg": "EdDSA", "use": "sig"}


def make_client_key(kid: str = "k1", **changes: object) -> ClientKey:
    fields: dict[str, object] = {
        "kid": kid, "alg": "EdDSA", "jwk": {**JWK, "kid": kid}, "created_at": NOW, **changes
    }
    return ClientKey(**fields)  # type: ignore[arg-type]


def audit(action: str, n: int = 1) -> AuditRecord:
    return AuditRecord(audit_id=f"a{n}", time=NOW + n, actor="tester", action=action,
                       target="app/client-a/keys/k1", changes={"kid": "k1"})


def keys_of(store: Store, client_id: str = "client-a") -> tuple[ClientKey, ...]:
    credentials = store.get_credentials(client_id)
    assert credentials is not None
    return credentials.keys


def test_added_keys_are_read_with_the_apps_credentials(store: Store) -> None:
    app = make_app()
    store.create_app(app, make_secret())

    store.add_client_key(app.client_id, make_client_key("k1"), 1, audit("add", 1))
    store.add_client_key(app.client_id, make_client_key("k2", alg="EdDSA"), 2, audit("add", 2))

    assert sorted(keys_of(store), key=lambda k: k.kid) == [
        make_client_key("k1"), make_client_key("k2"),
    ]
    assert store.get_app(app.client_id).version == 3  # type: ignore[union-attr]
    actions = [r.action for r in store.list_audit(10, None).items]
    assert actions.count("add") == 2


def test_adding_a_key_requires_the_apps_current_version(store: Store) -> None:
    app = make_app()
    store.create_app(app, make_secret())
    store.add_client_key(app.client_id, make_client_key("k1"), 1, audit("add", 1))

    with pytest.raises(ItemChanged):
        store.add_client_key(app.client_id, make_client_key("k2"), 1, audit("add", 2))

    assert [k.kid for k in keys_of(store)] == ["k1"]


def test_adding_a_key_whose_kid_exists_changes_nothing(store: Store) -> None:
    app = make_app()
    store.create_app(app, make_secret())
    store.add_client_key(app.client_id, make_client_key("k1"), 1, audit("add", 1))

    with pytest.raises(ItemChanged):
        store.add_client_key(app.client_id, make_client_key("k1", alg="ES256"), 2, audit("x", 2))

    assert keys_of(store) == (make_client_key("k1"),)
    assert store.get_app(app.client_id).version == 2  # type: ignore[union-attr]


def test_adding_a_key_to_a_missing_app_is_item_missing(store: Store) -> None:
    with pytest.raises(ItemMissing):
        store.add_client_key("nobody", make_client_key(), 1, audit("add"))


def test_deleting_a_key_removes_only_it(store: Store) -> None:
    app = make_app()
    store.create_app(app, make_secret())
    store.add_client_key(app.client_id, make_client_key("k1"), 1, audit("add", 1))
    store.add_client_key(app.client_id, make_client_key("k2"), 2, audit("add", 2))

    store.delete_client_key(app.client_id, "k1", None, audit("remove", 3))

    assert [k.kid for k in keys_of(store)] == ["k2"]
    with pytest.raises(ItemMissing):
        store.delete_client_key(app.client_id, "k1", None, audit("remove", 4))


def test_deleting_a_key_with_another_version_is_item_changed(store: Store) -> None:
    app = make_app()
    store.create_app(app, make_secret())
    store.add_client_key(app.client_id, make_client_key("k1"), 1, audit("add", 1))

    with pytest.raises(ItemChanged):
        store.delete_client_key(app.client_id, "k1", 7, audit("remove", 2))
    with pytest.raises(ItemMissing):
        store.delete_client_key(app.client_id, "k9", 1, audit("remove", 3))

    store.delete_client_key(app.client_id, "k1", 1, audit("remove", 4))
    assert keys_of(store) == ()


def test_deleting_the_app_deletes_its_keys(store: Store) -> None:
    app = make_app()
    store.create_app(app, make_secret())
    store.add_client_key(app.client_id, make_client_key("k1"), 1, audit("add", 1))

    store.delete_app(app.client_id, 2, audit("app.delete", 2))
    store.create_app(app, make_secret())

    assert keys_of(store) == ()


def test_an_app_may_be_created_without_a_secret(store: Store) -> None:
    app = make_app()

    store.create_app(app, None)

    credentials = store.get_credentials(app.client_id)
    assert credentials is not None
    assert (credentials.app, credentials.secrets, credentials.keys) == (app, (), ())
