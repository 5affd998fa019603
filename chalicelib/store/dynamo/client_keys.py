"""An app's public keys for private_key_jwt: ``JWK#<kid>`` rows in the app's partition,
so the token endpoint's one Query of the partition reads them with the app."""

from __future__ import annotations

import json

from ...errors import ItemChanged, ItemMissing
from ..records import AuditRecord, ClientKey
from .items import Item, _get_n, _get_s, _key, _n, _s, app_pk
from .table import Table, translated

KEY_PREFIX = "JWK#"


def client_key_to_item(client_id: str, key: ClientKey) -> Item:
    return {
        **_key(app_pk(client_id), KEY_PREFIX + key.kid),
        "kid": _s(key.kid),
        "alg": _s(key.alg),
        "jwk": _s(json.dumps(dict(key.jwk), separators=(",", ":"), sort_keys=True)),
        "created_at": _n(key.created_at),
        "version": _n(key.version),
    }


def item_to_client_key(item: Item) -> ClientKey:
    return ClientKey(
        kid=_get_s(item, "kid"),
        alg=_get_s(item, "alg"),
        jwk=json.loads(_get_s(item, "jwk", "{}")),
        created_at=_get_n(item, "created_at") or 0,
        version=_get_n(item, "version") or 1,
    )


class DynamoClientKeyRepository(Table):
    """``ClientKeyRepository`` on DynamoDB."""

    def add_client_key(
        self, client_id: str, key: ClientKey, app_version: int, audit: AuditRecord
    ) -> None:
        put = {"Put": self._put_new(client_key_to_item(client_id, key))}
        self._write_with_app_bump(client_id, [put], app_version, audit)

    def delete_client_key(
        self, client_id: str, kid: str, expected_version: int | None, audit: AuditRecord
    ) -> None:
        delete = (
            self._delete_versioned(app_pk(client_id), KEY_PREFIX + kid, expected_version)
            if expected_version is not None
            else {
                "TableName": self._table,
                "Key": _key(app_pk(client_id), KEY_PREFIX + kid),
                "ConditionExpression": "attribute_exists(pk)",
            }
        )
        try:
            with translated(lambda: ItemChanged(f"key {client_id}/{kid} changed")):
                self._transact([{"Delete": delete}], audit)
        except ItemChanged:
            if expected_version is None or self._get(app_pk(client_id), KEY_PREFIX + kid) is None:
                raise ItemMissing(f"key {client_id}/{kid} does not exist") from None
            raise
