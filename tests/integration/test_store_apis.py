"""Store contract: APIs (memory and DynamoDB, see conftest)."""

from __future__ import annotations

from dataclasses import replace

import pytest

from chalicelib.errors import ItemExists
from chalicelib.store.repository import Store
from tests.integration.store_records import (
    make_api,
)

# -- APIs ---------------------------------------------------------------------


def test_create_api_then_get_find_and_list(store: Store) -> None:
    first = make_api("api_1", "https://orders.example.com")
    second = make_api("api_2", "urn:example:billing")
    store.create_api(first)
    store.create_api(second)

    assert store.get_api("api_1") == first
    assert store.find_api("urn:example:billing") == second
    assert store.get_api("api_unknown") is None
    assert store.find_api("https://unknown.example.com") is None
    assert sorted(store.list_apis(), key=lambda a: a.api_id) == [first, second]


def test_create_api_with_taken_identifier_raises_item_exists_and_keeps_first(
    store: Store,
) -> None:
    first = make_api("api_1", "https://orders.example.com")
    store.create_api(first)

    with pytest.raises(ItemExists):
        store.create_api(replace(make_api("api_2", first.identifier), name="Impostor"))

    assert store.find_api(first.identifier) == first
    assert store.get_api("api_2") is None
    assert store.list_apis() == [first]


def test_create_api_with_taken_api_id_raises_item_exists(store: Store) -> None:
    first = make_api("api_1", "https://orders.example.com")
    store.create_api(first)

    with pytest.raises(ItemExists):
        store.create_api(make_api("api_1", "https://other.example.com"))

    assert store.find_api("https://other.example.com") is None
    assert store.list_apis() == [first]


@pytest.mark.parametrize("fraction", [5e-324, 1e-200, 0.1 + 0.2, 0.999999999999])
def test_any_token_reuse_fraction_between_zero_and_one_round_trips(
    store: Store, fraction: float
) -> None:
    # DynamoDB numbers stop at 1E-130: a valid fraction must never fail the write.
    api = replace(make_api("api_1", "https://orders.example.com"), token_reuse=fraction)
    store.create_api(api)

    stored = store.get_api("api_1")
    assert stored is not None and stored.token_reuse == fraction


@pytest.mark.parametrize("required", [True, False])
def test_sender_constrained_requirement_round_trips_on_the_api_and_its_grants(
    store: Store, required: bool
) -> None:
    from tests.integration.store_records import make_app, make_grant

    store.create_api(replace(make_api(), sender_constrained_tokens_required=required))
    store.create_app(make_app(), None)
    grant = replace(make_grant("api_1"), sender_constrained_tokens_required=required)
    store.put_grant("client-a", grant)

    stored = store.get_api("api_1")
    credentials = store.get_credentials("client-a")
    assert stored is not None and stored.sender_constrained_tokens_required is required
    assert credentials is not None
    assert credentials.grants[0].sender_constrained_tokens_required is required
