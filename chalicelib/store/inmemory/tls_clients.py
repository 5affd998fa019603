"""An app's mutual-TLS certificates (RFC 8705 §2), in memory."""

from __future__ import annotations

from dataclasses import replace

from ...errors import ItemChanged, ItemMissing
from ..records import AuditRecord, TlsClient
from .state import MemoryTables


class MemoryTlsClientRepository(MemoryTables):
    def _bumped(self, client_id: str, app_version: int) -> dict[str, TlsClient]:
        app = self.apps.get(client_id)
        if app is None:
            raise ItemMissing(f"app {client_id} does not exist")
        if app.version != app_version:
            raise ItemChanged(f"app {client_id} changed")
        return self.tls_clients.setdefault(client_id, {})

    def add_tls_client(
        self, client_id: str, tls_client: TlsClient, app_version: int, audit: AuditRecord
    ) -> None:
        with self._lock:
            credentials = self._bumped(client_id, app_version)
            if tls_client.credential_id in credentials:
                raise ItemChanged(f"credential {tls_client.credential_id} exists")
            credentials[tls_client.credential_id] = tls_client
            self.apps[client_id] = replace(self.apps[client_id], version=app_version + 1)
            self._audit(audit)

    def delete_tls_client(
        self, client_id: str, credential_id: str, app_version: int, audit: AuditRecord
    ) -> None:
        with self._lock:
            credentials = self._bumped(client_id, app_version)
            if credential_id not in credentials:
                raise ItemChanged(f"credential {credential_id} is gone")
            del credentials[credential_id]
            self.apps[client_id] = replace(self.apps[client_id], version=app_version + 1)
            self._audit(audit)
