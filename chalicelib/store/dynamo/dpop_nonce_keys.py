"""HMAC keys of DPoP nonces (RFC 9449 §8): one random key per scope and day, created by
the first container that needs it with a conditional put, read by the others."""

from __future__ import annotations

from ...errors import ItemExists
from ..schema import TTL_ATTRIBUTE
from .items import _key, _n
from .table import StoreUnavailable, Table, translated

NONCE_KEY_SK = "#DPOPNONCEKEY"
MAX_SCOPE_LENGTH = 64


def nonce_key_pk(scope: str, period: int) -> str:
    return f"DPOPNONCE#{scope}#{period}"


def check_scope(scope: str) -> None:
    if not scope or len(scope) > MAX_SCOPE_LENGTH or "#" in scope:
        raise ValueError("a nonce key scope must be 1 to 64 characters without '#'")


class DynamoDpopNonceKeyRepository(Table):
    """``DpopNonceKeyRepository`` on DynamoDB: at most a GetItem and a PutItem per
    container and day (the caller caches the key)."""

    def nonce_key(self, scope: str, period: int, candidate: bytes, expires_at: int) -> bytes:
        check_scope(scope)
        pk = nonce_key_pk(scope, period)
        stored = self._stored_key(pk)
        if stored is not None:
            return stored
        try:
            with translated(lambda: ItemExists("nonce key exists")):
                self._client.put_item(
                    TableName=self._table,
                    Item={
                        **_key(pk, NONCE_KEY_SK),
                        "key": {"B": candidate},
                        "expires_at": _n(expires_at),
                        TTL_ATTRIBUTE: _n(expires_at),
                    },
                    ConditionExpression="attribute_not_exists(pk)",
                )
        except ItemExists:  # another container created it between our read and write
            stored = self._stored_key(pk)
            if stored is None:
                raise StoreUnavailable("the DPoP nonce key vanished") from None
            return stored
        return candidate

    def _stored_key(self, pk: str) -> bytes | None:
        item = self._get(pk, NONCE_KEY_SK)
        if item is None:
            return None
        return bytes(item["key"]["B"])
