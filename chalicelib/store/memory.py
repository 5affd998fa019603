"""In-memory implementation of every repository protocol, for unit tests.

It honours the same conditions as the DynamoDB adapter (the contract tests run
against both) and counts reads, so tests can assert how often storage is hit.
"""

from __future__ import annotations

import threading
from dataclasses import replace

from ..errors import ItemChanged, ItemExists, ItemMissing
from .paging import invert as _invert
from .paging import page as _page
from .records import (
    Api,
    App,
    AppCredentials,
    AuditRecord,
    ClientSecret,
    Grant,
    Page,
    SigningKeyRecord,
)


class MemoryStore:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.apps: dict[str, App] = {}
        self.secrets: dict[str, dict[str, ClientSecret]] = {}
        self.grants: dict[str, dict[str, Grant]] = {}
        self.apis: dict[str, Api] = {}
        self.api_identifiers: dict[str, str] = {}
        self.keys: dict[str, SigningKeyRecord] = {}
        self.revoked: dict[str, int] = {}
        self.audit: list[AuditRecord] = []
        self.reads = 0

    def _audit(self, record: AuditRecord | None) -> None:
        if record is not None:
            self.audit.append(record)

    # -- apps ---------------------------------------------------------------

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
            )

    def get_app(self, client_id: str) -> App | None:
        with self._lock:
            self.reads += 1
            return self.apps.get(client_id)

    def create_app(
        self, app: App, secret: ClientSecret, audit: AuditRecord | None = None
    ) -> None:
        with self._lock:
            if app.client_id in self.apps:
                raise ItemExists(f"app {app.client_id} exists")
            self.apps[app.client_id] = app
            self.secrets[app.client_id] = {secret.secret_id: secret}
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

    # -- APIs ---------------------------------------------------------------

    def create_api(self, api: Api, audit: AuditRecord | None = None) -> None:
        with self._lock:
            if api.api_id in self.apis or api.identifier in self.api_identifiers:
                raise ItemExists(f"API identifier {api.identifier} exists")
            self.apis[api.api_id] = api
            self.api_identifiers[api.identifier] = api.api_id
            self._audit(audit)

    def _check_api(self, api_id: str, expected_version: int) -> None:
        stored = self.apis.get(api_id)
        if stored is None:
            raise ItemMissing(f"API {api_id} does not exist")
        if stored.version != expected_version:
            raise ItemChanged(f"API {api_id} changed")

    def update_api(
        self,
        api: Api,
        expected_version: int,
        grants: list[tuple[str, Grant]],
        audit: AuditRecord,
    ) -> None:
        with self._lock:
            self._check_api(api.api_id, expected_version)
            self.apis[api.api_id] = api
            for client_id, grant in grants:
                if client_id in self.grants:
                    self.grants[client_id][grant.api_id] = grant
            self._audit(audit)

    def delete_api(self, api: Api, grant_owners: list[str], audit: AuditRecord) -> None:
        with self._lock:
            self._check_api(api.api_id, api.version)
            del self.apis[api.api_id]
            self.api_identifiers.pop(api.identifier, None)
            for client_id in grant_owners:
                self.grants.get(client_id, {}).pop(api.api_id, None)
            self._audit(audit)

    def list_apis_page(self, limit: int, cursor: str | None) -> Page:
        with self._lock:
            return _page(list(self.apis.values()), lambda a: a.api_id, limit, cursor)

    def get_api(self, api_id: str) -> Api | None:
        with self._lock:
            self.reads += 1
            return self.apis.get(api_id)

    def find_api(self, identifier: str) -> Api | None:
        with self._lock:
            self.reads += 1
            api_id = self.api_identifiers.get(identifier)
            return self.apis.get(api_id) if api_id else None

    def list_apis(self) -> list[Api]:
        with self._lock:
            self.reads += 1
            return sorted(self.apis.values(), key=lambda a: a.api_id)

    # -- signing keys -------------------------------------------------------

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

    # -- audit --------------------------------------------------------------

    def list_audit(self, limit: int, cursor: str | None) -> Page:
        with self._lock:
            # a key that sorts ascending when records go newest first
            return _page(
                self.audit, lambda r: f"{10**13 - r.time:013d}#{_invert(r.audit_id)}", limit, cursor
            )

    # -- revocation ---------------------------------------------------------

    def revoke_token(self, jti: str, client_id: str, expires_at: int) -> None:
        with self._lock:
            self.revoked[jti] = expires_at

    def token_status(self, client_id: str, jti: str, now: int) -> tuple[App | None, bool]:
        with self._lock:
            self.reads += 1
            return self.apps.get(client_id), self.revoked.get(jti, 0) > now
