"""Store contract: token-exchange policies in the caller's partition, and the one read an
exchange makes about its subject (memory and DynamoDB)."""

from __future__ import annotations

from dataclasses import replace

import pytest

from chalicelib.errors import ItemChanged, ItemMissing
from chalicelib.store.records import AuditRecord, ExchangePolicy
from chalicelib.store.repository import Store
from tests.integration.store_records import NOW, make_api, make_app, make_grant, make_secret


def make_policy(target: str = "api_inv", **changes: object) -> ExchangePolicy:
    policy = ExchangePolicy(
        target_api_id=target, target_audience=f"https://{target}.example.com",
        scopes=("inventory:read",), source_apis=("api_1",),
        source_audiences=("https://api_1.example.com",),
        source_issuers=("https://token.actions.githubusercontent.com",),
        delegation=True, impersonation=True, max_act_depth=3, created_at=NOW, updated_at=NOW,
    )
    return replace(policy, **changes)


def audit(action: str) -> AuditRecord:
    return AuditRecord(f"aud-{action}", NOW, "system", action, "app/caller")


def test_a_policy_is_read_with_the_callers_credentials(store: Store) -> None:
    store.create_app(make_app("caller"), make_secret())
    policy = make_policy()

    store.put_exchange_policy("caller", policy, 0, audit("set"))

    credentials = store.get_credentials("caller")
    assert credentials is not None
    assert credentials.exchange_policies == (policy,)
    assert credentials.exchange_policy_for("https://api_inv.example.com") == policy
    assert credentials.exchange_policy_for("https://api_1.example.com") is None
    assert audit("set") in store.list_audit(10, None).items


def test_replacing_a_policy_needs_its_version(store: Store) -> None:
    store.create_app(make_app("caller"), make_secret())
    store.put_exchange_policy("caller", make_policy(), 0)

    with pytest.raises(ItemChanged):
        store.put_exchange_policy("caller", make_policy(version=2), 0)  # exists already
    with pytest.raises(ItemChanged):
        store.put_exchange_policy("caller", make_policy(version=3), 2)
    store.put_exchange_policy("caller", make_policy(version=2, scopes=("a",)), 1)

    credentials = store.get_credentials("caller")
    assert credentials is not None
    assert [p.scopes for p in credentials.exchange_policies] == [("a",)]


def test_a_policy_of_a_missing_app_raises_item_missing(store: Store) -> None:
    with pytest.raises(ItemMissing):
        store.put_exchange_policy("ghost", make_policy(), 0)


def test_delete_policy_and_delete_app_remove_it(store: Store) -> None:
    store.create_app(make_app("caller"), make_secret())
    store.put_exchange_policy("caller", make_policy("api_a"), 0)
    store.put_exchange_policy("caller", make_policy("api_b"), 0)

    store.delete_exchange_policy("caller", "api_a", audit("remove"))
    with pytest.raises(ItemMissing):
        store.delete_exchange_policy("caller", "api_a")
    remaining = store.get_credentials("caller")
    assert remaining is not None
    assert [p.target_api_id for p in remaining.exchange_policies] == ["api_b"]

    app = store.get_app("caller")
    assert app is not None
    store.delete_app("caller", app.version, audit("delete"))
    store.create_app(make_app("caller"), make_secret())
    again = store.get_credentials("caller")
    assert again is not None and again.exchange_policies == ()


def test_exchange_subject_reads_app_grant_issuer_and_revocations_together(
    store: Store,
) -> None:
    store.create_app(make_app("subject"), make_secret())
    store.create_app(make_app("middle", revocation_generation=2), make_secret())
    store.put_grant("subject", make_grant("api_inv", ("inventory:read",)))
    store.revoke_token("jti-revoked", "middle", NOW + 60)
    store.revoke_token("jti-expired", "middle", NOW - 1)

    store.create_api(make_api("api_src", "https://src.example.com"))
    state = store.exchange_subject("subject", "api_inv", "middle",
                                   ("jti-revoked", "jti-expired", "jti-fresh"), NOW, "api_src")

    assert state.subject_app is not None and state.subject_app.client_id == "subject"
    assert state.grant is not None and state.grant.scopes == ("inventory:read",)
    assert state.issuing_app is not None and state.issuing_app.revocation_generation == 2
    assert state.revoked == frozenset({"jti-revoked"})
    assert state.source_api == make_api("api_src", "https://src.example.com")


def test_exchange_subject_of_missing_apps_and_grants_is_none(store: Store) -> None:
    store.create_app(make_app("subject"), make_secret())

    same = store.exchange_subject("subject", "api_none", "subject", ("j",), NOW, "api_none")
    gone = store.exchange_subject("ghost", "api_none", "ghost", (), NOW, "api_gone")

    assert same.subject_app is not None and same.issuing_app == same.subject_app
    assert same.grant is None and same.revoked == frozenset() and same.source_api is None
    assert (gone.subject_app, gone.grant, gone.issuing_app, gone.source_api) == (
        None, None, None, None)


def test_exchange_subject_of_a_deleted_source_api_is_none(store: Store) -> None:
    # an API deleted and re-created with the same identifier has another id: the old
    # id a policy lists reads as deleted
    store.create_app(make_app("subject"), make_secret())
    old = make_api("api_old", "https://src.example.com")
    store.create_api(old)
    store.delete_api(old, [], audit("api.delete"))
    store.create_api(make_api("api_new", "https://src.example.com"))

    state = store.exchange_subject("subject", "api_inv", "subject", (), NOW, "api_old")

    assert state.source_api is None
