"""Store contract: revoked token ids (memory and DynamoDB, see conftest)."""

from __future__ import annotations

from dataclasses import replace

from chalicelib.store.repository import Store
from tests.integration.store_records import (
    NOW,
    make_app,
    make_secret,
)

# -- revocation ---------------------------------------------------------------


def test_revoked_token_counts_until_its_expiry_even_though_the_item_remains(
    store: Store,
) -> None:
    app = make_app()
    store.create_app(app, make_secret())
    store.revoke_token("jti-1", app.client_id, expires_at=NOW + 600)
    app = replace(app, revocations=1)  # counted on the app, version unchanged

    assert store.token_status(app.client_id, "jti-1", NOW) == (app, True)
    assert store.token_status(app.client_id, "jti-1", NOW + 599) == (app, True)
    # moto (like DynamoDB before its TTL sweep) still holds the item: reads must filter.
    assert store.token_status(app.client_id, "jti-1", NOW + 600) == (app, False)


def test_token_status_of_unrevoked_jti_is_not_revoked(store: Store) -> None:
    app = make_app()
    store.create_app(app, make_secret())
    store.revoke_token("jti-1", app.client_id, expires_at=NOW + 600)

    assert store.token_status(app.client_id, "jti-2", NOW) == (replace(app, revocations=1), False)


def test_token_status_of_unknown_app_has_no_app(store: Store) -> None:
    store.revoke_token("jti-1", "nobody", expires_at=NOW + 600)

    assert store.token_status("nobody", "jti-1", NOW) == (None, True)
    assert store.token_status("nobody", "jti-2", NOW) == (None, False)
