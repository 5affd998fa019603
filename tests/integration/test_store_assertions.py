"""Store contract: single-use client-assertion ids (memory and DynamoDB, see conftest)."""

from __future__ import annotations

import pytest

from chalicelib.store.repository import Store
from tests.integration.store_records import NOW


def test_first_use_of_an_assertion_id_succeeds_and_a_replay_is_refused(store: Store) -> None:
    assert store.use_once("client-a", "jti-1", NOW + 60) is True

    assert store.use_once("client-a", "jti-1", NOW + 60) is False


def test_replay_is_refused_even_with_a_different_expiry(store: Store) -> None:
    store.use_once("client-a", "jti-1", NOW + 60)

    assert store.use_once("client-a", "jti-1", NOW + 300) is False


def test_the_same_jti_in_another_namespace_is_a_different_assertion(store: Store) -> None:
    store.use_once("client-a", "jti-1", NOW + 60)

    assert store.use_once("client-b", "jti-1", NOW + 60) is True
    assert store.use_once("client-a", "jti-2", NOW + 60) is True


def test_refuses_a_namespace_that_could_spell_another_key(store: Store) -> None:
    # ("a", "b#c") and ("a#b", "c") would share the key ASSERTION#a#b#c
    store.use_once("a", "b#c", NOW + 60)

    with pytest.raises(ValueError):
        store.use_once("a#b", "c", NOW + 60)


@pytest.mark.parametrize(
    ("namespace", "jti"),
    [("", "jti"), ("client-a", ""), ("client-a", "j" * 257), ("n" * 257, "jti")],
    ids=["empty-namespace", "empty-jti", "long-jti", "long-namespace"],
)
def test_refuses_empty_or_oversized_ids(store: Store, namespace: str, jti: str) -> None:
    with pytest.raises(ValueError):
        store.use_once(namespace, jti, NOW + 60)
