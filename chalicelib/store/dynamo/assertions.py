"""Single-use assertion ids (RFC 7523 §3 item 7): a conditional put, expired by TTL."""

from __future__ import annotations

from ...errors import ItemExists
from ..schema import TTL_ATTRIBUTE
from .items import _key, _n, _s
from .table import Table, translated

ASSERTION_SK = "#ASSERTION"
MAX_ID_LENGTH = 256
"""Namespaces and jtis longer than this are refused (the key must stay far below
DynamoDB's 2,048-byte partition-key limit)."""


def assertion_pk(namespace: str, jti: str) -> str:
    return f"ASSERTION#{namespace}#{jti}"


def check_ids(namespace: str, jti: str) -> None:
    """A namespace holds no ``#``, so no (namespace, jti) pair spells another's key."""
    if not namespace or not jti or len(namespace) > MAX_ID_LENGTH or len(jti) > MAX_ID_LENGTH:
        raise ValueError("assertion namespace and jti must be 1 to 256 characters")
    if "#" in namespace:
        raise ValueError("an assertion namespace must not contain '#'")


class DynamoAssertionReplayRepository(Table):
    """``AssertionReplayRepository`` on DynamoDB."""

    def use_once(self, namespace: str, jti: str, expires_at: int) -> bool:
        check_ids(namespace, jti)
        try:
            with translated(lambda: ItemExists("assertion used")):
                self._client.put_item(
                    TableName=self._table,
                    Item={
                        **_key(assertion_pk(namespace, jti), ASSERTION_SK),
                        "namespace": _s(namespace),
                        "expires_at": _n(expires_at),
                        TTL_ATTRIBUTE: _n(expires_at),
                    },
                    ConditionExpression="attribute_not_exists(pk)",
                )
        except ItemExists:
            return False
        return True
