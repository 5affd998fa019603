"""Revoked token ids (RFC 7009), kept until the token would have expired."""

from __future__ import annotations

from typing import Any

from ...errors import ItemMissing
from ..records import App
from ..schema import TTL_ATTRIBUTE
from .apps import item_to_app
from .items import Item, _get_n, _key, _n, _s, app_pk
from .table import APP_SK, Table, translated

JTI_SK = "#JTI"


class DynamoRevocationRepository(Table):
    """``RevocationRepository`` on DynamoDB."""

    def revoke_token(self, jti: str, client_id: str, expires_at: int) -> None:
        """The jti record and a bump of the app's ``revocations`` counter in one
        transaction, so no container can reuse the token once this returns (the token
        path's one Query sees the counter; the revoked jtis themselves stay out of it)."""
        record = {
            "TableName": self._table,
            "Item": {
                **_key(f"JTI#{jti}", JTI_SK),
                "client_id": _s(client_id),
                "expires_at": _n(expires_at),
                TTL_ATTRIBUTE: _n(expires_at),
            },
        }
        bump = {
            "TableName": self._table,
            "Key": _key(app_pk(client_id), APP_SK),
            "UpdateExpression": "ADD revocations :one",
            "ConditionExpression": "attribute_exists(pk)",
            "ExpressionAttributeValues": {":one": _n(1)},
        }
        try:
            with translated(lambda: ItemMissing(f"app {client_id} does not exist")):
                self._transact([{"Put": record}, {"Update": bump}], None)
        except ItemMissing:
            with translated():  # the app is gone: its tokens are inactive anyway
                self._client.put_item(**record)  # type: ignore[arg-type]

    def token_status(self, client_id: str, jti: str, now: int) -> tuple[App | None, bool]:
        keys = [_key(app_pk(client_id), APP_SK), _key(f"JTI#{jti}", JTI_SK)]
        found: list[Item] = []
        request: dict[str, Any] = {self._table: {"Keys": keys, "ConsistentRead": True}}
        with translated():
            while request:
                response = self._client.batch_get_item(RequestItems=request)
                found.extend(response.get("Responses", {}).get(self._table, []))
                request = dict(response.get("UnprocessedKeys") or {})
        app: App | None = None
        revoked = False
        for item in found:
            if item["sk"]["S"] == APP_SK:
                app = item_to_app(item)
            elif item["sk"]["S"] == JTI_SK:
                # DynamoDB TTL deletes lazily: an expired record no longer counts.
                revoked = (_get_n(item, "expires_at") or 0) > now
        return app, revoked
