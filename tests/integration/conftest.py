"""The store contract runs once per backend: the same tests against the in-memory fake
and the DynamoDB adapter on moto, so the fake the unit tests rely on behaves like
production (Hydra's ``TestHelperManager*``). One test module per aggregate."""

from __future__ import annotations

import pytest

from chalicelib.store.dynamodb import DynamoDBStore
from chalicelib.store.memory import MemoryStore
from chalicelib.store.repository import Store
from tests.conftest import TABLE


@pytest.fixture(params=["memory", "dynamodb"])
def store(request: pytest.FixtureRequest) -> Store:
    if request.param == "memory":
        return MemoryStore()
    aws = request.getfixturevalue("aws")
    return DynamoDBStore(aws.dynamodb, TABLE)
