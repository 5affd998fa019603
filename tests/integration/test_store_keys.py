"""Store contract: signing-key records (memory and DynamoDB, see conftest)."""

from __future__ import annotations

from dataclasses import replace

import pytest

from chalicelib.errors import ItemExists
from chalicelib.store.records import KeyState
from chalicelib.store.repository import Store
from tests.integration.store_records import (
    make_key,
)

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
