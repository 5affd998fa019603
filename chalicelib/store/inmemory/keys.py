"""Signing-key records, in memory."""

from __future__ import annotations

from ...errors import ItemChanged, ItemExists
from ..records import AuditRecord, SigningKeyRecord
from .state import MemoryTables


class MemoryKeyRepository(MemoryTables):
    def list_keys(self) -> list[SigningKeyRecord]:
        with self._lock:
            self.reads += 1
            return list(self.keys.values())

    def add_key(self, key: SigningKeyRecord, audit: AuditRecord | None = None) -> None:
        with self._lock:
            if key.kid in self.keys:
                raise ItemExists(f"key {key.kid} exists")
            self.keys[key.kid] = key
            self._audit(audit)

    def save_keys(
        self, changes: list[tuple[SigningKeyRecord, int]], audit: AuditRecord | None
    ) -> None:
        with self._lock:
            for key, version in changes:
                stored = self.keys.get(key.kid)
                if stored is None or stored.version != version:
                    raise ItemChanged("signing keys changed")
            for key, _ in changes:
                self.keys[key.kid] = key
            self._audit(audit)
