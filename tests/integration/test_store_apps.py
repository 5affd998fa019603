"""Store contract: apps, their secrets and grants (memory and DynamoDB, see conftest)."""

from __future__ import annotations

from dataclasses import replace

import pytest

from chalicelib.errors import ItemChanged, ItemExists, ItemMissing
from chalicelib.store.repository import Store
from tests.integration.store_records import (
    HOUR,
    NOW,
    make_app,
    make_grant,
    make_secret,
    secret_of,
)

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


def test_revocation_generation_round_trips(store: Store) -> None:
    app = make_app()
    store.create_app(app, make_secret())
    assert store.get_app(app.client_id) == app and app.revocation_generation == 0

    updated = replace(app, revocation_generation=7, revoked_before=NOW, version=2)
    store.update_app(updated, expected_version=1)

    credentials = store.get_credentials(app.client_id)
    assert credentials is not None and credentials.app.revocation_generation == 7


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


def test_record_app_use_sets_last_used_once_per_interval_and_keeps_the_version(
    store: Store,
) -> None:
    app = make_app()
    store.create_app(app, make_secret("sec_1"))

    store.record_app_use(app.client_id, NOW, HOUR)
    store.record_app_use(app.client_id, NOW + HOUR - 1, HOUR)  # within the interval
    recorded = store.get_app(app.client_id)
    assert recorded == replace(app, last_used=NOW)  # version unchanged

    store.record_app_use(app.client_id, NOW + HOUR, HOUR)
    [listed] = store.list_apps(10, None).items
    assert listed.last_used == NOW + HOUR  # the list carries it: no read per app


def test_an_app_update_keeps_last_used(store: Store) -> None:
    app = make_app()
    store.create_app(app, None)
    store.record_app_use(app.client_id, NOW, HOUR)
    recorded = store.get_app(app.client_id)
    assert recorded is not None

    store.update_app(replace(recorded, name="renamed", version=2), 1)

    assert store.get_app(app.client_id) == replace(app, name="renamed", version=2,
                                                    last_used=NOW)


def test_record_app_use_of_missing_app_creates_nothing(store: Store) -> None:
    store.record_app_use("nobody", NOW, HOUR)

    assert store.get_app("nobody") is None
    assert store.list_apps(10, None).items == ()


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


@pytest.mark.parametrize("bound", [True, False])
def test_dpop_bound_access_tokens_round_trips(store: Store, bound: bool) -> None:
    store.create_app(make_app(dpop_bound_access_tokens=bound), None)
    app = store.get_app("client-a")
    assert app is not None and app.dpop_bound_access_tokens is bound

    store.update_app(replace(app, dpop_bound_access_tokens=not bound, version=2), 1)

    updated = store.get_app("client-a")
    assert updated is not None and updated.dpop_bound_access_tokens is (not bound)
