"""Store contract: trusted issuers and apps' federated identities (memory and DynamoDB)."""

from __future__ import annotations

from dataclasses import replace

import pytest

from chalicelib.errors import ItemChanged, ItemExists, ItemMissing
from chalicelib.store.records import AuditRecord, FederatedIdentity, TrustedIssuer
from chalicelib.store.repository import Store
from tests.integration.store_records import NOW, make_app, make_secret

GITHUB = "https://token.actions.githubusercontent.com"
SUBJECT = "repo:acme/billing:ref:refs/heads/main"


def make_issuer(issuer_id: str = "iss_github", **changes: object) -> TrustedIssuer:
    issuer = TrustedIssuer(
        issuer_id=issuer_id, issuer=GITHUB, name="GitHub Actions", kind="github-actions",
        jwks_uri=None, max_token_lifetime=3600, single_use_jti=True, created_at=NOW,
    )
    return replace(issuer, **changes)


def make_identity(identity_id: str = "fed_1", **changes: object) -> FederatedIdentity:
    identity = FederatedIdentity(identity_id=identity_id, issuer=GITHUB, subject=SUBJECT,
                                 audience=None, created_at=NOW)
    return replace(identity, **changes)


# -- issuers --------------------------------------------------------------------


def test_add_issuer_then_get_and_list_return_it(store: Store) -> None:
    issuer = make_issuer(jwks_uri="https://example.com/jwks", single_use_jti=False,
                         max_token_lifetime=600)
    store.add_issuer(issuer)

    assert store.get_issuer("iss_github") == issuer
    assert store.list_issuers(10, None).items == (issuer,)


def test_add_issuer_twice_raises_item_exists(store: Store) -> None:
    store.add_issuer(make_issuer())

    with pytest.raises(ItemExists):
        store.add_issuer(make_issuer(name="Other"))

    stored = store.get_issuer("iss_github")
    assert stored is not None and stored.name == "GitHub Actions"


def test_list_issuers_pages_with_a_cursor(store: Store) -> None:
    for n in range(3):
        store.add_issuer(make_issuer(f"iss_{n}", issuer=f"https://issuer{n}.example"))

    first = store.list_issuers(2, None)
    second = store.list_issuers(2, first.next)

    assert [i.issuer_id for i in first.items + second.items] == ["iss_0", "iss_1", "iss_2"]
    assert second.next is None


def test_delete_issuer_removes_it_and_a_second_delete_is_item_missing(store: Store) -> None:
    store.add_issuer(make_issuer())

    store.delete_issuer("iss_github", expected_version=1)

    assert store.get_issuer("iss_github") is None
    with pytest.raises(ItemMissing):
        store.delete_issuer("iss_github", expected_version=None)


def test_delete_issuer_with_other_version_raises_item_changed(store: Store) -> None:
    store.add_issuer(make_issuer())

    with pytest.raises(ItemChanged):
        store.delete_issuer("iss_github", expected_version=7)

    assert store.get_issuer("iss_github") is not None


# -- federated identities -------------------------------------------------------------


def test_add_identity_shows_in_credentials_and_lookup_and_bumps_app_version(
    store: Store,
) -> None:
    store.create_app(make_app(), make_secret())
    identity = make_identity(audience="https://api.example")

    store.add_federated_identity("client-a", identity, app_version=1)

    credentials = store.get_credentials("client-a")
    assert credentials is not None
    assert credentials.federated_identities == (identity,)
    assert credentials.app.version == 2
    assert store.apps_for_subject(GITHUB, SUBJECT) == ["client-a"]
    assert store.apps_for_subject(GITHUB, SUBJECT + "x") == []
    assert store.apps_for_subject(GITHUB + "/", SUBJECT) == []


def test_one_identity_bound_to_two_apps_lists_both(store: Store) -> None:
    store.create_app(make_app("client-a"), make_secret())
    store.create_app(make_app("client-b"), make_secret())

    store.add_federated_identity("client-a", make_identity("fed_1"), app_version=1)
    store.add_federated_identity("client-b", make_identity("fed_2"), app_version=1)

    assert store.apps_for_subject(GITHUB, SUBJECT) == ["client-a", "client-b"]


def test_add_same_issuer_and_subject_twice_to_one_app_raises_item_exists(store: Store) -> None:
    store.create_app(make_app(), make_secret())
    store.add_federated_identity("client-a", make_identity("fed_1"), app_version=1)

    with pytest.raises(ItemExists):
        store.add_federated_identity("client-a", make_identity("fed_2"), app_version=2)

    credentials = store.get_credentials("client-a")
    assert credentials is not None
    assert [i.identity_id for i in credentials.federated_identities] == ["fed_1"]


def test_add_identity_with_stale_app_version_raises_item_changed(store: Store) -> None:
    store.create_app(make_app(), make_secret())

    with pytest.raises(ItemChanged):
        store.add_federated_identity("client-a", make_identity(), app_version=5)

    assert store.apps_for_subject(GITHUB, SUBJECT) == []


def test_add_identity_to_missing_app_raises_item_missing(store: Store) -> None:
    with pytest.raises(ItemMissing):
        store.add_federated_identity("nobody", make_identity(), app_version=1)

    assert store.apps_for_subject(GITHUB, SUBJECT) == []


def test_delete_identity_removes_it_and_its_lookup(store: Store) -> None:
    store.create_app(make_app(), make_secret())
    identity = make_identity()
    store.add_federated_identity("client-a", identity, app_version=1)

    store.delete_federated_identity("client-a", identity)

    credentials = store.get_credentials("client-a")
    assert credentials is not None and credentials.federated_identities == ()
    assert store.apps_for_subject(GITHUB, SUBJECT) == []
    with pytest.raises(ItemMissing):
        store.delete_federated_identity("client-a", identity)


def test_delete_app_removes_its_identities_lookups(store: Store) -> None:
    store.create_app(make_app(), make_secret())
    store.add_federated_identity("client-a", make_identity(), app_version=1)
    app = store.get_app("client-a")
    assert app is not None

    store.delete_app("client-a", app.version,
                     AuditRecord("aud_1", NOW, "test", "app.delete", "app/client-a"))

    assert store.apps_for_subject(GITHUB, SUBJECT) == []



# -- claim rules: patterns and required claims ------------------------------------------


def add(store: Store, client_id: str, identity: FederatedIdentity) -> None:
    app = store.get_app(client_id)
    assert app is not None
    store.add_federated_identity(client_id, identity, app.version)


def test_identity_rules_find_exact_rules_by_subject_and_patterns_by_issuer(
    store: Store,
) -> None:
    store.create_app(make_app("app-a"), make_secret())
    store.create_app(make_app("app-b"), make_secret())
    exact = make_identity("fed_exact", required_claims={"ref": "refs/heads/main"})
    pattern = make_identity("fed_pattern", subject="repo:acme/*:ref:refs/heads/main",
                            pattern=True, required_claims={"repository_owner_id": "42"})
    add(store, "app-a", exact)
    add(store, "app-b", pattern)

    assert store.identity_rules(GITHUB, SUBJECT) == [("app-a", exact)]
    assert store.identity_rules(GITHUB, None) == [("app-b", pattern)]
    assert store.identity_rules(GITHUB, "repo:acme/*:ref:refs/heads/main") == []
    assert store.apps_for_subject(GITHUB, "repo:acme/*:ref:refs/heads/main") == []
    credentials = store.get_credentials("app-b")
    assert credentials is not None and credentials.federated_identities == (pattern,)


def test_the_same_pattern_twice_on_one_app_raises_item_exists(store: Store) -> None:
    store.create_app(make_app("app-a"), make_secret())
    add(store, "app-a", make_identity("fed_1", subject="repo:acme/*", pattern=True))

    with pytest.raises(ItemExists):
        add(store, "app-a", make_identity("fed_2", subject="repo:acme/*", pattern=True))
    # an exact subject spelled like the pattern is another rule
    add(store, "app-a", make_identity("fed_3", subject="repo:acme/*"))


def test_deleting_a_pattern_identity_or_its_app_removes_the_pattern_lookup(
    store: Store,
) -> None:
    store.create_app(make_app("app-a"), make_secret())
    store.create_app(make_app("app-b"), make_secret())
    first = make_identity("fed_1", subject="repo:acme/*", pattern=True)
    add(store, "app-a", first)
    add(store, "app-b", make_identity("fed_2", subject="repo:other/*", pattern=True))

    store.delete_federated_identity("app-a", first)
    app_b = store.get_app("app-b")
    assert app_b is not None
    store.delete_app("app-b", app_b.version, AuditRecord("a1", NOW, "system", "x", "y"))

    assert store.identity_rules(GITHUB, None) == []
