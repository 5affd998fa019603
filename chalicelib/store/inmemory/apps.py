"""Apps with their secrets and grants, in memory."""

from __future__ import annotations

from dataclasses import replace

from ...errors import ItemChanged, ItemExists, ItemMissing
from ..paging import page as _page
from ..records import App, AppCredentials, AuditRecord, ClientSecret, Grant, Page
from .state import MemoryTables


class MemoryAppRepository(MemoryTables):
    def get_credentials(self, client_id: str) -> AppCredentials | None:
        with self._lock:
            self.reads += 1
            app = self.apps.get(client_id)
            if app is None:
                return None
            return AppCredentials(
                app=app,
                secrets=tuple(self.secrets.get(client_id, {}).values()),
                grants=tuple(self.grants.get(client_id, {}).values()),
                keys=tuple(self.client_keys.get(client_id, {}).values()),
                aws_principals=tuple(self.aws_principals.get(client_id, {}).values()),
                federated_identities=tuple(self.federated.get(client_id, {}).values()),
                tls_clients=tuple(self.tls_clients.get(client_id, {}).values()),
                exchange_policies=tuple(self.exchange_policies.get(client_id, {}).values()),
            )

    def get_app(self, client_id: str) -> App | None:
        with self._lock:
            self.reads += 1
            return self.apps.get(client_id)

    def create_app(
        self, app: App, secret: ClientSecret | None, audit: AuditRecord | None = None
    ) -> None:
        with self._lock:
            if app.client_id in self.apps:
                raise ItemExists(f"app {app.client_id} exists")
            self.apps[app.client_id] = app
            self.secrets[app.client_id] = {secret.secret_id: secret} if secret else {}
            self.grants[app.client_id] = {}
            self._audit(audit)

    def _check_app(self, client_id: str, expected_version: int) -> None:
        stored = self.apps.get(client_id)
        if stored is None:
            raise ItemMissing(f"app {client_id} does not exist")
        if stored.version != expected_version:
            raise ItemChanged(f"app {client_id} changed")

    def update_app(
        self, app: App, expected_version: int, audit: AuditRecord | None = None
    ) -> None:
        with self._lock:
            self._check_app(app.client_id, expected_version)
            self.apps[app.client_id] = app
            self._audit(audit)

    def delete_app(self, client_id: str, expected_version: int, audit: AuditRecord) -> None:
        with self._lock:
            self._check_app(client_id, expected_version)
            del self.apps[client_id]
            self.secrets.pop(client_id, None)
            self.grants.pop(client_id, None)
            self.client_keys.pop(client_id, None)
            self.aws_principals.pop(client_id, None)
            self.federated.pop(client_id, None)
            self.tls_clients.pop(client_id, None)
            self.exchange_policies.pop(client_id, None)
            self._audit(audit)

    def list_apps(self, limit: int, cursor: str | None) -> Page:
        with self._lock:
            return _page(list(self.apps.values()), lambda a: a.client_id, limit, cursor)

    def add_secret(
        self,
        client_id: str,
        secret: ClientSecret,
        app_version: int | None = None,
        audit: AuditRecord | None = None,
    ) -> None:
        with self._lock:
            if client_id not in self.apps:
                raise ItemMissing(f"app {client_id} does not exist")
            if app_version is not None:
                self._check_app(client_id, app_version)
                self.apps[client_id] = replace(self.apps[client_id], version=app_version + 1)
            if secret.secret_id in self.secrets[client_id]:
                raise ItemMissing(f"secret {secret.secret_id} exists")
            self.secrets[client_id][secret.secret_id] = secret
            self._audit(audit)

    def delete_secret(
        self, client_id: str, secret_id: str, audit: AuditRecord | None = None
    ) -> None:
        with self._lock:
            if secret_id not in self.secrets.get(client_id, {}):
                raise ItemMissing(f"secret {secret_id} does not exist")
            del self.secrets[client_id][secret_id]
            self._audit(audit)

    def record_secret_use(self, client_id: str, secret_id: str, when: int, interval: int) -> None:
        with self._lock:
            secret = self.secrets.get(client_id, {}).get(secret_id)
            if secret is None:
                return
            if secret.last_used is None or secret.last_used <= when - interval:
                self.secrets[client_id][secret_id] = replace(secret, last_used=when)

    def record_app_use(self, client_id: str, when: int, interval: int) -> None:
        with self._lock:
            app = self.apps.get(client_id)
            if app is not None and (app.last_used is None or app.last_used <= when - interval):
                self.apps[client_id] = replace(app, last_used=when)

    def put_grant(
        self,
        client_id: str,
        grant: Grant,
        expected_version: int | None = None,
        audit: AuditRecord | None = None,
    ) -> None:
        with self._lock:
            if client_id not in self.apps:
                raise ItemMissing(f"app {client_id} does not exist")
            stored = self.grants[client_id].get(grant.api_id)
            if expected_version == 0 and stored is not None:
                raise ItemChanged("grant exists")
            if expected_version and (stored is None or stored.version != expected_version):
                raise ItemChanged("grant changed")
            self.grants[client_id][grant.api_id] = grant
            self._audit(audit)

    def delete_grant(
        self, client_id: str, api_id: str, audit: AuditRecord | None = None
    ) -> None:
        with self._lock:
            if api_id not in self.grants.get(client_id, {}):
                raise ItemMissing(f"grant {client_id}/{api_id} does not exist")
            del self.grants[client_id][api_id]
            self._audit(audit)

    def grants_for_api(self, api_id: str) -> list[tuple[str, Grant]]:
        with self._lock:
            return [
                (client_id, grants[api_id])
                for client_id, grants in sorted(self.grants.items())
                if api_id in grants
            ]
