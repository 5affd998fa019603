"""IAM principals of apps, in memory."""

from __future__ import annotations

from dataclasses import replace

from ...errors import ItemChanged, ItemMissing
from ..records import AuditRecord, AwsPrincipal
from .state import MemoryTables


class MemoryAwsPrincipalRepository(MemoryTables):
    def _bump(self, client_id: str, app_version: int) -> dict[str, AwsPrincipal]:
        app = self.apps.get(client_id)
        if app is None:
            raise ItemMissing(f"app {client_id} does not exist")
        if app.version != app_version:
            raise ItemChanged(f"app {client_id} changed")
        return self.aws_principals.setdefault(client_id, {})

    def add_aws_principal(
        self, client_id: str, principal: AwsPrincipal, app_version: int, audit: AuditRecord
    ) -> None:
        with self._lock:
            principals = self._bump(client_id, app_version)
            if any(p.key == principal.key for p in principals.values()) or (
                principal.principal_id in principals
            ):
                raise ItemChanged(f"app {client_id} already lists {principal.key}")
            principals[principal.principal_id] = principal
            self.apps[client_id] = replace(self.apps[client_id], version=app_version + 1)
            self._audit(audit)

    def delete_aws_principal(
        self, client_id: str, principal: AwsPrincipal, app_version: int, audit: AuditRecord
    ) -> None:
        with self._lock:
            principals = self._bump(client_id, app_version)
            if principal.principal_id not in principals:
                raise ItemChanged(f"principal {principal.principal_id} is gone")
            del principals[principal.principal_id]
            self.apps[client_id] = replace(self.apps[client_id], version=app_version + 1)
            self._audit(audit)

    def apps_for_aws_principal(self, key: str) -> list[str]:
        with self._lock:
            self.reads += 1
            return sorted(
                client_id for client_id, principals in self.aws_principals.items()
                if client_id in self.apps and any(p.key == key for p in principals.values())
            )
