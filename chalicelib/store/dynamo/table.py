"""What every DynamoDB repository shares: the table, error translation (the adapter's
one translation point: nothing above it imports botocore), cursors, transactions that
carry their audit record, and small request builders."""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError

from ...errors import InvalidCursor, ItemChanged, ItemMissing, StoreError
from ..records import AuditRecord
from ..schema import GSI1
from .items import Item, _key, _n, _s, app_pk

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

AUDIT_PK = "AUDIT"
APP_SK = "#APP"
MAX_TRANSACTION_ITEMS = 100


class StoreUnavailable(StoreError):
    """DynamoDB failed or throttled; the request cannot be answered now."""


def audit_to_item(record: AuditRecord) -> Item:
    item: Item = {
        **_key(AUDIT_PK, f"{record.time:012d}#{record.audit_id}"),
        "audit_id": _s(record.audit_id),
        "time": _n(record.time),
        "actor": _s(record.actor),
        "action": _s(record.action),
        "target": _s(record.target),
        "changes": _s(json.dumps(dict(record.changes), separators=(",", ":"), sort_keys=True)),
    }
    if record.request_id:
        item["request_id"] = _s(record.request_id)
    return item


def encode_cursor(last_key: Item) -> str:
    raw = json.dumps(last_key, separators=(",", ":"), sort_keys=True).encode()
    return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


def decode_cursor(cursor: str, expected: Item) -> Item:
    """The start key a cursor encodes. It must have exactly the key attributes of the
    list being read and the same partition (``expected`` names them with their values,
    ``None`` for any value); anything else was not handed out by this list."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        key = json.loads(raw)
    except (binascii.Error, ValueError) as exc:
        raise InvalidCursor("malformed cursor") from exc
    valid = isinstance(key, dict) and set(key) == set(expected) and all(
        isinstance(v, dict) and list(v) == ["S"] and isinstance(v["S"], str)
        and (expected[k] is None or v == expected[k])
        for k, v in key.items()
    )
    if not valid:
        raise InvalidCursor("malformed cursor")
    return dict(key)


def cancellation_codes(exc: ClientError) -> list[str]:
    reasons = exc.response.get("CancellationReasons") or []
    return [str(r.get("Code", "None")) for r in reasons]


@contextmanager
def translated(on_condition: Callable[[], StoreError] | None = None) -> Iterator[None]:
    """Turn botocore failures into store errors (the adapter's one translation point)."""
    try:
        yield
    except ClientError as exc:
        code = exc.response.get("Error", {}).get("Code", "")
        conditional = code == "ConditionalCheckFailedException" or (
            code == "TransactionCanceledException"
            and "ConditionalCheckFailed" in cancellation_codes(exc)
        )
        if conditional and on_condition is not None:
            raise on_condition() from exc
        raise StoreUnavailable(f"DynamoDB request failed: {code}") from exc
    except BotoCoreError as exc:
        raise StoreUnavailable(f"DynamoDB request failed: {type(exc).__name__}") from exc


class Table:
    """One table through a low-level client built once per container."""

    def __init__(
        self, client: DynamoDBClient, table_name: str, counter_region: str | None = None
    ) -> None:
        self._client = client
        self._table = table_name
        self._counter_region = counter_region
        """Multi-region stages: quota counters are kept per region (docs/multi-region.md)."""

    def _transact(self, items: list[dict[str, Any]], audit: AuditRecord | None) -> None:
        if audit is not None:
            items = [*items, {"Put": self._put_new(audit_to_item(audit))}]
        self._client.transact_write_items(TransactItems=items)  # type: ignore[arg-type]

    def _put_versioned(self, item: Item, expected_version: int) -> dict[str, Any]:
        return {
            "TableName": self._table,
            "Item": item,
            "ConditionExpression": "attribute_exists(pk) AND version = :v",
            "ExpressionAttributeValues": {":v": _n(expected_version)},
        }

    def _delete_versioned(self, pk: str, sk: str, expected_version: int) -> dict[str, Any]:
        return {
            "TableName": self._table,
            "Key": _key(pk, sk),
            "ConditionExpression": "attribute_exists(pk) AND version = :v",
            "ExpressionAttributeValues": {":v": _n(expected_version)},
        }

    def _delete_items(self, keys: list[tuple[str, str]]) -> None:
        for start in range(0, len(keys), 25):
            request: dict[str, Any] = {
                self._table: [
                    {"DeleteRequest": {"Key": _key(pk, sk)}}
                    for pk, sk in keys[start:start + 25]
                ]
            }
            with translated():
                while request:
                    response = self._client.batch_write_item(RequestItems=request)
                    request = dict(response.get("UnprocessedItems") or {})

    def _query_page(
        self, kind: str, limit: int, cursor: str | None
    ) -> tuple[list[Item], str | None]:
        args: dict[str, Any] = {
            "TableName": self._table,
            "IndexName": GSI1,
            "KeyConditionExpression": "gsi1pk = :k",
            "ExpressionAttributeValues": {":k": _s(kind)},
            "Limit": limit,
        }
        if cursor:
            args["ExclusiveStartKey"] = decode_cursor(
                cursor, {"gsi1pk": _s(kind), "gsi1sk": None, "pk": None, "sk": None}
            )
        with translated():
            response = self._client.query(**args)
        last = response.get("LastEvaluatedKey")
        return list(response.get("Items", [])), encode_cursor(last) if last else None

    def _put_new(self, item: Item) -> dict[str, Any]:
        return {
            "TableName": self._table,
            "Item": item,
            "ConditionExpression": "attribute_not_exists(pk)",
        }

    def _app_exists_check(self, client_id: str) -> dict[str, Any]:
        return {
            "ConditionCheck": {
                "TableName": self._table,
                "Key": _key(app_pk(client_id), APP_SK),
                "ConditionExpression": "attribute_exists(pk)",
            }
        }

    def _app_version_bump(self, client_id: str, app_version: int) -> dict[str, Any]:
        return {
            "Update": {
                "TableName": self._table,
                "Key": _key(app_pk(client_id), APP_SK),
                "UpdateExpression": "SET version = :next",
                "ConditionExpression": "attribute_exists(pk) AND version = :v",
                "ExpressionAttributeValues": {
                    ":v": _n(app_version), ":next": _n(app_version + 1),
                },
            }
        }

    def _write_with_app_bump(self, client_id: str, items: list[dict[str, Any]],
                             app_version: int, audit: AuditRecord) -> None:
        """``items`` with the app's version bump from ``app_version`` and the audit
        record, in one transaction: ``ItemMissing`` if the app is gone, ``ItemChanged``
        if its version moved or any item's condition failed."""
        try:
            with translated(lambda: ItemChanged(f"app {client_id} changed")):
                self._transact([self._app_version_bump(client_id, app_version), *items], audit)
        except ItemChanged:
            if self._get(app_pk(client_id), APP_SK) is None:
                raise ItemMissing(f"app {client_id} does not exist") from None
            raise

    def _get(self, pk: str, sk: str) -> Item | None:
        with translated():
            response = self._client.get_item(
                TableName=self._table, Key=_key(pk, sk), ConsistentRead=True
            )
        item = response.get("Item")
        return dict(item) if item else None

    def _query_index(self, kind: str) -> list[Item]:
        return self._query(
            {
                "TableName": self._table,
                "IndexName": GSI1,
                "KeyConditionExpression": "gsi1pk = :k",
                "ExpressionAttributeValues": {":k": _s(kind)},
            }
        )

    def _query_partition(self, pk: str) -> list[Item]:
        return self._query(
            {
                "TableName": self._table,
                "KeyConditionExpression": "pk = :pk",
                "ExpressionAttributeValues": {":pk": _s(pk)},
                "ConsistentRead": True,
            }
        )

    def _query(self, args: dict[str, Any]) -> list[Item]:
        items: list[Item] = []
        with translated():
            while True:
                response = self._client.query(**args)
                items.extend(response.get("Items", []))
                last = response.get("LastEvaluatedKey")
                if not last:
                    return items
                args["ExclusiveStartKey"] = last

