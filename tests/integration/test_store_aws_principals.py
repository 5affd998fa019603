"""Store contract: IAM principals of apps and the principal → apps lookup (memory and
DynamoDB, see conftest)."""

from __future__ import annotations

import pytest

from chalicelib.errors import ItemChanged, ItemMissing
from chalicelib.store.records import AuditRecord, AwsPrincipal
from chalicelib.store.repository import Store
from tests.integration.store_records import NOW, make_app, make_secret

ROLE_KEY = "arn:aws:iam::123456789012:role/billing"


def principal(pid: str = "awsp_0000000000000001", key: str = ROLE_KEY) -> AwsPrincipal:
    return AwsPrincipal(pid, key.replace("billing", "path/Billing"), key, NOW)


def audit(n: int = 1) -> AuditRecord:
    return AuditRecord(f"a{n}", NOW, "tester", "aws_principal.create", "app/x", {})


def test_added_principal_is_in_the_credentials_and_the_lookup(store: Store) -> None:
    store.create_app(make_app("client-a"), make_secret())
    p = principal()

    store.add_aws_principal("client-a", p, 1, audit())

    credentials = store.get_credentials("client-a")
    assert credentials is not None
    assert credentials.aws_principals == (p,)
    assert credentials.app.version == 2  # the set of principals is versioned by the app
    assert store.apps_for_aws_principal(ROLE_KEY) == ["client-a"]
    assert store.apps_for_aws_principal("arn:aws:iam::123456789012:role/other") == []
    assert any(r.audit_id == "a1" for r in store.list_audit(10, None).items)


def test_one_principal_may_be_listed_by_several_apps(store: Store) -> None:
    for client_id in ("client-a", "client-b"):
        store.create_app(make_app(client_id), make_secret())
    store.add_aws_principal("client-a", principal(), 1, audit(1))
    store.add_aws_principal("client-b", principal("awsp_0000000000000002"), 1, audit(2))

    assert sorted(store.apps_for_aws_principal(ROLE_KEY)) == ["client-a", "client-b"]


def test_adding_the_same_principal_twice_to_an_app_raises_item_changed(store: Store) -> None:
    store.create_app(make_app(), make_secret())
    store.add_aws_principal("client-a", principal(), 1, audit(1))

    with pytest.raises(ItemChanged):
        store.add_aws_principal("client-a", principal("awsp_0000000000000002"), 2, audit(2))

    credentials = store.get_credentials("client-a")
    assert credentials is not None and len(credentials.aws_principals) == 1


def test_adding_with_a_stale_app_version_raises_item_changed(store: Store) -> None:
    store.create_app(make_app(), make_secret())

    with pytest.raises(ItemChanged):
        store.add_aws_principal("client-a", principal(), 7, audit())

    assert store.apps_for_aws_principal(ROLE_KEY) == []


def test_adding_to_a_missing_app_raises_item_missing(store: Store) -> None:
    with pytest.raises(ItemMissing):
        store.add_aws_principal("client-a", principal(), 1, audit())
    assert store.apps_for_aws_principal(ROLE_KEY) == []


def test_deleted_principal_leaves_credentials_and_lookup(store: Store) -> None:
    store.create_app(make_app(), make_secret())
    p = principal()
    store.add_aws_principal("client-a", p, 1, audit(1))

    store.delete_aws_principal("client-a", p, 2, audit(2))

    credentials = store.get_credentials("client-a")
    assert credentials is not None and credentials.aws_principals == ()
    assert credentials.app.version == 3
    assert store.apps_for_aws_principal(ROLE_KEY) == []


def test_deleting_with_a_stale_app_version_raises_item_changed(store: Store) -> None:
    store.create_app(make_app(), make_secret())
    p = principal()
    store.add_aws_principal("client-a", p, 1, audit(1))

    with pytest.raises(ItemChanged):
        store.delete_aws_principal("client-a", p, 1, audit(2))
    assert store.apps_for_aws_principal(ROLE_KEY) == ["client-a"]


def test_deleting_the_app_removes_its_principals_lookup(store: Store) -> None:
    store.create_app(make_app(), make_secret())
    store.add_aws_principal("client-a", principal(), 1, audit(1))

    store.delete_app("client-a", 2, audit(2))

    assert store.apps_for_aws_principal(ROLE_KEY) == []
