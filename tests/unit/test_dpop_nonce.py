"""Stateless DPoP server nonces (RFC 9449 §8): HMAC over a time step, daily random keys
from the store, shared by containers, current and previous step accepted."""

from __future__ import annotations

import pytest

from chalicelib.oauth.dpop_nonce import KEY_PERIOD, NONCE_LENGTH, DpopNonces
from chalicelib.store.memory import MemoryStore

DAY = 20_000 * KEY_PERIOD  # a UTC midnight


def nonces(store: MemoryStore, scope: str = "us-east-1", step: int = 300) -> DpopNonces:
    return DpopNonces(store, scope, step)


def test_a_nonce_is_the_same_within_a_step_and_good_in_the_next_step_only() -> None:
    issuer = nonces(MemoryStore())
    nonce = issuer.current(DAY + 10)

    assert len(nonce) == NONCE_LENGTH
    assert issuer.current(DAY + 299) == nonce
    assert issuer.is_current(nonce, DAY + 299)
    assert issuer.is_current(nonce, DAY + 599)
    assert not issuer.is_current(nonce, DAY + 600)
    assert issuer.current(DAY + 300) != nonce


def test_a_nonce_from_the_future_is_refused() -> None:
    issuer = nonces(MemoryStore())

    assert not issuer.is_current(issuer.current(DAY + 600), DAY)


def test_another_container_on_the_same_store_accepts_the_nonce() -> None:
    store = MemoryStore()

    assert nonces(store).is_current(nonces(store).current(DAY), DAY + 1)


def test_another_store_or_scope_does_not_accept_it() -> None:
    store = MemoryStore()
    nonce = nonces(store).current(DAY)

    assert not nonces(MemoryStore()).is_current(nonce, DAY)
    assert not nonces(store, scope="eu-west-1").is_current(nonce, DAY)


def test_a_nonce_from_before_midnight_is_checked_with_yesterdays_key() -> None:
    store = MemoryStore()
    issuer = nonces(store)
    late = issuer.current(DAY - 1)

    assert issuer.is_current(late, DAY + 1)
    assert issuer.current(DAY) != late
    assert set(store.nonce_keys) == {("us-east-1", DAY // KEY_PERIOD - 1),
                                     ("us-east-1", DAY // KEY_PERIOD)}


def test_keys_are_read_once_per_container_and_day() -> None:
    store = MemoryStore()
    issuer = nonces(store)
    for second in range(0, 3000, 7):
        issuer.is_current(issuer.current(DAY + second), DAY + second)

    assert store.reads == 1


@pytest.mark.parametrize(
    "forged", [None, 7, "", "x" * NONCE_LENGTH, "é" * NONCE_LENGTH, "A" * (NONCE_LENGTH + 4)],
)
def test_anything_but_one_of_our_nonces_is_refused(forged: object) -> None:
    assert not nonces(MemoryStore()).is_current(forged, DAY)


def test_a_nonce_with_one_bit_changed_is_refused() -> None:
    issuer = nonces(MemoryStore())
    nonce = issuer.current(DAY)
    flipped = nonce[:-1] + ("A" if nonce[-1] != "A" else "B")

    assert not issuer.is_current(flipped, DAY)


def test_a_step_that_does_not_divide_a_day_is_refused() -> None:
    with pytest.raises(ValueError):
        DpopNonces(MemoryStore(), "us-east-1", 7)
