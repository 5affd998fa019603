"""Revoked token ids (RFC 7009), kept until the token would have expired, and the reads
that ask whether a presented token is still active (introspection, token exchange)."""

from __future__ import annotations

from typing import Any

from ...errors import ItemMissing
from ..records import App, ExchangeSubject, Grant
from ..schema import TTL_ATTRIBUTE
from .apis import API_SK, item_to_api
from .apps import item_to_app, item_to_grant
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

    def _batch_get(self, keys: list[Item]) -> list[Item]:
        """One ``BatchGetItem``, repeated only for keys DynamoDB left unprocessed."""
        found: list[Item] = []
        request: dict[str, Any] = {self._table: {"Keys": keys, "ConsistentRead": True}}
        with translated():
            while request:
                response = self._client.batch_get_item(RequestItems=request)
                found.extend(response.get("Responses", {}).get(self._table, []))
                request = dict(response.get("UnprocessedKeys") or {})
        return found

    def token_status(self, client_id: str, jti: str, now: int) -> tuple[App | None, bool]:
        keys = [_key(app_pk(client_id), APP_SK), _key(f"JTI#{jti}", JTI_SK)]
        found = self._batch_get(keys)
        app: App | None = None
        revoked = False
        for item in found:
            if item["sk"]["S"] == APP_SK:
                app = item_to_app(item)
            elif item["sk"]["S"] == JTI_SK:
                # DynamoDB TTL deletes lazily: an expired record no longer counts.
                revoked = (_get_n(item, "expires_at") or 0) > now
        return app, revoked

    def exchange_subject(
        self, subject: str, api_id: str, issued_to: str, jtis: tuple[str, ...], now: int,
        source_api_id: str,
    ) -> ExchangeSubject:
        """One ``BatchGetItem`` (retried only for unprocessed keys): the subject's app
        item and grant, the issuing app's item, the revoked-``jti`` records and the
        source API's item."""
        source_key = (f"API#{source_api_id}", API_SK)
        wanted = [(app_pk(subject), APP_SK), (app_pk(subject), f"GRANT#{api_id}"),
                  (app_pk(issued_to), APP_SK), *((f"JTI#{jti}", JTI_SK) for jti in jtis),
                  source_key]
        keys = [_key(pk, sk) for pk, sk in dict.fromkeys(wanted)]
        found = self._batch_get(keys)
        by_key = {(i["pk"]["S"], i["sk"]["S"]): i for i in found}

        def app_of(client_id: str) -> App | None:
            item = by_key.get((app_pk(client_id), APP_SK))
            return item_to_app(item) if item else None

        grant_item = by_key.get((app_pk(subject), f"GRANT#{api_id}"))
        grant: Grant | None = item_to_grant(grant_item) if grant_item else None
        revoked = frozenset(
            jti for jti in jtis
            # DynamoDB TTL deletes lazily: an expired record no longer counts.
            if (item := by_key.get((f"JTI#{jti}", JTI_SK))) is not None
            and (_get_n(item, "expires_at") or 0) > now
        )
        source_item = by_key.get(source_key)
        return ExchangeSubject(app_of(subject), grant, app_of(issued_to), revoked,
                               item_to_api(source_item) if source_item else None)

