"""An app's public keys for private_key_jwt, in memory."""

from __future__ import annotations

from dataclasses import replace

from ...errors import ItemChanged, ItemMissing
from ..records import AuditRecord, ClientKey
from .state import MemoryTables


class MemoryClientKeyRepository(MemoryTables):
    def add_client_key(
        self, client_id: str, key: ClientKey, app_version: int, audit: AuditRecord
    ) -> None:
        with self._lock:
            app = self.apps.get(client_id)
            if app is None:
                raise ItemMissing(f"app {client_id} does not exist")
            keys = self.client_keys.setdefault(client_id, {})
            if app.version != app_version or key.kid in keys:
                raise ItemChanged(f"app {client_id} changed")
            self.apps[client_id] = replace(app, version=app_version + 1)
            keys[key.kid] = key
            self._audit(audit)

    def delete_client_key(
        self, client_id: str, kid: str, expected_version: int | None, audit: AuditRecord
    ) -> None:
        with self._lock:
            stored = self.client_keys.get(client_id, {}).get(kid)
            if stored is None:
                raise ItemMissing(f"key {client_id}/{kid} does not exist")
            if expected_version is not None and stored.version != expected_version:
                raise ItemChanged(f"key {client_id}/{kid} changed")
            del self.client_keys[client_id][kid]
            self._audit(audit)
