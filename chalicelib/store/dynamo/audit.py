"""Audit records, newest first (written by every other aggregate's transactions)."""

from __future__ import annotations

import json
from typing import Any

from ..records import AuditRecord, Page
from .items import Item, _get_n, _get_s, _s
from .table import AUDIT_PK, Table, decode_cursor, encode_cursor, translated


def item_to_audit(item: Item) -> AuditRecord:
    return AuditRecord(
        audit_id=_get_s(item, "audit_id"),
        time=_get_n(item, "time") or 0,
        actor=_get_s(item, "actor"),
        action=_get_s(item, "action"),
        target=_get_s(item, "target"),
        changes=json.loads(_get_s(item, "changes", "{}")),
        request_id=_get_s(item, "request_id") or None,
    )



class DynamoAuditRepository(Table):
    """``AuditRepository`` on DynamoDB."""

    def list_audit(self, limit: int, cursor: str | None) -> Page:
        args: dict[str, Any] = {
            "TableName": self._table,
            "KeyConditionExpression": "pk = :pk",
            "ExpressionAttributeValues": {":pk": _s(AUDIT_PK)},
            "ScanIndexForward": False,
            "Limit": limit,
        }
        if cursor:
            args["ExclusiveStartKey"] = decode_cursor(
                cursor, {"pk": _s(AUDIT_PK), "sk": None}
            )
        with translated():
            response = self._client.query(**args)
        last = response.get("LastEvaluatedKey")
        return Page(
            tuple(item_to_audit(i) for i in response.get("Items", [])),
            encode_cursor(last) if last else None,
        )
