"""Signing-key records: one partition, a handful of items."""

from __future__ import annotations

from ...errors import ItemChanged, ItemExists
from ..records import AuditRecord, KeyState, SigningKeyRecord
from .items import Item, _get_n, _get_s, _key, _n, _opt_n, _s
from .table import Table, translated

KEYS_PK = "KEYS"


def key_to_item(key: SigningKeyRecord) -> Item:
    item: Item = {
        **_key(KEYS_PK, f"KEY#{key.kid}"),
        "kid": _s(key.kid),
        "kms_key_id": _s(key.kms_key_id),
        "alg": _s(key.alg),
        "state": _s(key.state.value),
        "created_at": _n(key.created_at),
        "version": _n(key.version),
    }
    _opt_n(item, "activated_at", key.activated_at)
    _opt_n(item, "deactivated_at", key.deactivated_at)
    _opt_n(item, "retired_at", key.retired_at)
    _opt_n(item, "deletion_scheduled_at", key.deletion_scheduled_at)
    return item


def item_to_key(item: Item) -> SigningKeyRecord:
    return SigningKeyRecord(
        kid=_get_s(item, "kid"),
        kms_key_id=_get_s(item, "kms_key_id"),
        alg=_get_s(item, "alg"),
        state=KeyState(_get_s(item, "state")),
        created_at=_get_n(item, "created_at") or 0,
        activated_at=_get_n(item, "activated_at"),
        deactivated_at=_get_n(item, "deactivated_at"),
        retired_at=_get_n(item, "retired_at"),
        deletion_scheduled_at=_get_n(item, "deletion_scheduled_at"),
        version=_get_n(item, "version") or 1,
    )



class DynamoKeyRepository(Table):
    """``KeyRepository`` on DynamoDB."""

    def list_keys(self) -> list[SigningKeyRecord]:
        return [item_to_key(item) for item in self._query_partition(KEYS_PK)]

    def add_key(self, key: SigningKeyRecord, audit: AuditRecord | None = None) -> None:
        with translated(lambda: ItemExists(f"key {key.kid} exists")):
            self._transact([{"Put": self._put_new(key_to_item(key))}], audit)

    def save_keys(
        self, changes: list[tuple[SigningKeyRecord, int]], audit: AuditRecord | None
    ) -> None:
        with translated(lambda: ItemChanged("signing keys changed")):
            self._transact(
                [{"Put": self._put_versioned(key_to_item(k), v)} for k, v in changes], audit
            )
