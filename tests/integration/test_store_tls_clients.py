"""Store contract: an app's mutual-TLS certificates (RFC 8705 §2), read with its
credentials in one Query (memory and DynamoDB, see conftest)."""

from __future__ import annotations

from dataclasses import replace

import pytest

from chalicelib.errors import ItemChanged, ItemMissing
from chalicelib.store.records import AuditRecord, TlsClient
from chalicelib.store.repository import Store
from tests.integration.store_records import NOW, make_app, make_secret

SUBJECT = TlsClient("tls_0000000000000001", "tls_client_auth", "tls_client_auth_subject_dn",
                    ("CN=orders-worker,O=Example",), NOW)
THUMBPRINTS = TlsClient("tls_0000000000000002", "self_signed_tls_client_auth", "x5t#S256",
                        ("A" * 43, "B" * 43), NOW, expires_at=NOW + 86400)


def audit(n: int = 1) -> AuditRecord:
    return AuditRecord(f"a{n}", NOW, "tester", "tls_client.create", "app/x", {})


def test_added_credentials_come_back_with_the_app_and_bump_its_version(store: Store) -> None:
    store.create_app(make_app("client-a"), make_secret())

    store.add_tls_client("client-a", SUBJECT, 1, audit(1))
    store.add_tls_client("client-a", THUMBPRINTS, 2, audit(2))

    credentials = store.get_credentials("client-a")
    assert credentials is not None
    assert sorted(credentials.tls_clients, key=lambda t: t.credential_id) == [
        SUBJECT, THUMBPRINTS]
    assert credentials.app.version == 3
    assert {r.audit_id for r in store.list_audit(10, None).items} >= {"a1", "a2"}


def test_adding_with_a_stale_app_version_raises_item_changed(store: Store) -> None:
    store.create_app(make_app(), make_secret())

    with pytest.raises(ItemChanged):
        store.add_tls_client("client-a", SUBJECT, 7, audit())

    credentials = store.get_credentials("client-a")
    assert credentials is not None and credentials.tls_clients == ()
    assert all(r.audit_id != "a1" for r in store.list_audit(10, None).items)


def test_adding_to_a_missing_app_raises_item_missing(store: Store) -> None:
    with pytest.raises(ItemMissing):
        store.add_tls_client("client-a", SUBJECT, 1, audit())


def test_deleted_credential_leaves_the_credentials(store: Store) -> None:
    store.create_app(make_app(), make_secret())
    store.add_tls_client("client-a", SUBJECT, 1, audit(1))

    store.delete_tls_client("client-a", SUBJECT.credential_id, 2, audit(2))

    credentials = store.get_credentials("client-a")
    assert credentials is not None
    assert credentials.tls_clients == () and credentials.app.version == 3


def test_deleting_a_credential_that_is_gone_raises_item_changed(store: Store) -> None:
    store.create_app(make_app(), make_secret())

    with pytest.raises(ItemChanged):
        store.delete_tls_client("client-a", SUBJECT.credential_id, 1, audit())

    credentials = store.get_credentials("client-a")
    assert credentials is not None and credentials.app.version == 1


def test_deleting_with_a_stale_app_version_keeps_the_credential(store: Store) -> None:
    store.create_app(make_app(), make_secret())
    store.add_tls_client("client-a", SUBJECT, 1, audit(1))

    with pytest.raises(ItemChanged):
        store.delete_tls_client("client-a", SUBJECT.credential_id, 1, audit(2))

    credentials = store.get_credentials("client-a")
    assert credentials is not None and credentials.tls_clients == (SUBJECT,)


def test_deleting_the_app_deletes_its_credentials(store: Store) -> None:
    store.create_app(make_app(), make_secret())
    store.add_tls_client("client-a", SUBJECT, 1, audit(1))
    store.delete_app("client-a", 2, audit(2))
    store.create_app(make_app(), make_secret())  # the same id again: nothing left over

    credentials = store.get_credentials("client-a")
    assert credentials is not None and credentials.tls_clients == ()


def test_the_bound_tokens_flag_of_an_app_is_stored(store: Store) -> None:
    app = replace(make_app(), tls_client_certificate_bound_access_tokens=True)
    store.create_app(app, make_secret())

    stored = store.get_app("client-a")
    assert stored is not None and stored.tls_client_certificate_bound_access_tokens
    store.update_app(replace(app, tls_client_certificate_bound_access_tokens=False,
                             version=2), 1)
    stored = store.get_app("client-a")
    assert stored is not None and not stored.tls_client_certificate_bound_access_tokens
