"""How the DynamoDB adapter talks to DynamoDB: one call on the hot paths, and AWS
failures translated into store errors at the adapter."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator

import boto3
import pytest
from botocore.exceptions import ClientError, EndpointConnectionError
from botocore.stub import Stubber

from chalicelib.errors import ItemExists
from chalicelib.store.dynamodb import DynamoDBStore, StoreUnavailable
from chalicelib.store.records import App, ClientSecret, Grant
from tests.conftest import TABLE, AwsBackend

NOW = 1_800_000_000


def seed_app(store: DynamoDBStore, client_id: str, secrets: int, grants: int) -> None:
    store.create_app(
        App(client_id=client_id, name="Billing"),
        ClientSecret(secret_id="sec_0", secret_hash="v1$s$h0", created_at=NOW),
    )
    for i in range(1, secrets):
        store.add_secret(
            client_id, ClientSecret(secret_id=f"sec_{i}", secret_hash=f"v1$s$h{i}", created_at=NOW)
        )
    for i in range(grants):
        store.put_grant(
            client_id,
            Grant(api_id=f"api_{i}", audience=f"https://api{i}.example.com", scopes=("read",)),
        )


@pytest.fixture
def stubbed() -> Iterator[tuple[DynamoDBStore, Stubber]]:
    """A store on a client that never leaves the process: every call is stubbed."""
    client = boto3.client("dynamodb", region_name="us-east-1")
    with Stubber(client) as stubber:
        yield DynamoDBStore(client, TABLE), stubber


def test_get_credentials_is_one_query_for_an_app_with_three_secrets_and_five_grants(
    aws: AwsBackend,
) -> None:
    store = DynamoDBStore(aws.dynamodb, TABLE)
    seed_app(store, "client-a", secrets=3, grants=5)
    aws.counter.reset()

    credentials = store.get_credentials("client-a")

    assert aws.counter.calls == Counter({"dynamodb:Query": 1})
    assert credentials is not None
    assert len(credentials.secrets) == 3
    assert len(credentials.grants) == 5


def test_token_status_is_one_batch_get_item(aws: AwsBackend) -> None:
    store = DynamoDBStore(aws.dynamodb, TABLE)
    seed_app(store, "client-a", secrets=1, grants=1)
    store.revoke_token("jti-1", "client-a", NOW + 60)
    aws.counter.reset()

    app, revoked = store.token_status("client-a", "jti-1", NOW)

    assert aws.counter.calls == Counter({"dynamodb:BatchGetItem": 1})
    assert app is not None and revoked


def test_throttled_query_surfaces_as_store_unavailable(
    stubbed: tuple[DynamoDBStore, Stubber],
) -> None:
    store, stubber = stubbed
    stubber.add_client_error("query", "ProvisionedThroughputExceededException")

    with pytest.raises(StoreUnavailable) as raised:
        store.get_credentials("client-a")

    assert not isinstance(raised.value, ClientError)
    assert isinstance(raised.value.__cause__, ClientError)
    stubber.assert_no_pending_responses()


def test_connection_failure_surfaces_as_store_unavailable(aws: AwsBackend) -> None:
    def refuse(**_: object) -> None:
        raise EndpointConnectionError(endpoint_url="https://dynamodb.us-east-1.amazonaws.com")

    aws.dynamodb.meta.events.register("before-send.dynamodb.BatchGetItem", refuse)

    with pytest.raises(StoreUnavailable):
        DynamoDBStore(aws.dynamodb, TABLE).token_status("client-a", "jti-1", NOW)


@pytest.mark.parametrize(
    ("reason", "raised"),
    [("ThrottlingError", StoreUnavailable), ("ConditionalCheckFailed", ItemExists)],
    ids=["other-reason-is-unavailable", "condition-is-item-exists"],
)
def test_cancelled_transaction_is_item_exists_only_when_a_condition_failed(
    stubbed: tuple[DynamoDBStore, Stubber], reason: str, raised: type[Exception]
) -> None:
    store, stubber = stubbed
    stubber.add_client_error(
        "transact_write_items",
        "TransactionCanceledException",
        modeled_fields={"CancellationReasons": [{"Code": reason}, {"Code": "None"}]},
    )

    with pytest.raises(raised):
        store.create_app(
            App(client_id="client-a", name="Billing"),
            ClientSecret(secret_id="sec_0", secret_hash="v1$s$h", created_at=NOW),
        )
