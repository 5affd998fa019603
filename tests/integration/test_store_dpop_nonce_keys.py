"""Store contract: DPoP nonce keys, one per scope and period, the first writer's wins
(memory and DynamoDB, see conftest)."""

from __future__ import annotations

import pytest

from chalicelib.store.repository import Store
from tests.integration.store_records import NOW


def test_the_first_candidate_is_stored_and_later_ones_get_it(store: Store) -> None:
    assert store.nonce_key("us-east-1", 7, b"k" * 32, NOW) == b"k" * 32

    assert store.nonce_key("us-east-1", 7, b"z" * 32, NOW) == b"k" * 32


def test_each_period_and_scope_has_its_own_key(store: Store) -> None:
    store.nonce_key("us-east-1", 7, b"a" * 32, NOW)

    assert store.nonce_key("us-east-1", 8, b"b" * 32, NOW) == b"b" * 32
    assert store.nonce_key("eu-west-1", 7, b"c" * 32, NOW) == b"c" * 32


@pytest.mark.parametrize("scope", ["", "a#b", "s" * 65])
def test_refuses_a_scope_that_could_spell_another_key(store: Store, scope: str) -> None:
    with pytest.raises(ValueError):
        store.nonce_key(scope, 7, b"a" * 32, NOW)


def test_a_key_created_between_read_and_write_is_the_one_returned(aws: object) -> None:
    """Two containers: the second reads nothing, the first writes, the second's
    conditional put fails and it reads the first's key."""
    from unittest import mock

    from chalicelib.store.dynamodb import DynamoDBStore
    from tests.conftest import TABLE

    first = DynamoDBStore(aws.dynamodb, TABLE)  # type: ignore[attr-defined]
    second = DynamoDBStore(aws.dynamodb, TABLE)  # type: ignore[attr-defined]
    real = second._stored_key
    calls: list[str] = []

    def racing(pk: str) -> bytes | None:
        calls.append(pk)
        if len(calls) == 1:
            first.nonce_key("us-east-1", 9, b"f" * 32, NOW)
            return None
        return real(pk)

    with mock.patch.object(second, "_stored_key", racing):
        assert second.nonce_key("us-east-1", 9, b"s" * 32, NOW) == b"f" * 32
    assert len(calls) == 2
