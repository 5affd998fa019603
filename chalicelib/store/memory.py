"""In-memory implementation of every repository protocol, for unit tests.

It honours the same conditions as the DynamoDB adapter (the contract tests run
against both) and counts reads, so tests can assert how often storage is hit.
"""

from __future__ import annotations

import threading
from dataclasses import replace

from ..errors import ItemChanged, ItemExists, ItemMissing
from .records import Api, App, AppCredentials, ClientSecret, Grant, SigningKeyRecord


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
        self.reads = 0

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

    def create_app(self, app: App, secret: ClientSecret) -> None:
        with self._lock:
            if app.client_id in self.apps:
                raise ItemExists(f"app {app.client_id} exists")
            self.apps[app.client_id] = app
            self.secrets[app.client_id] = {secret.secret_id: secret}
            self.grants[app.client_id] = {}

    def update_app(self, app: App, expected_version: int) -> None:
        with self._lock:
            stored = self.apps.get(app.client_id)
            if stored is None:
                raise ItemMissing(f"app {app.client_id} does not exist")
            if stored.version != expected_version:
                raise ItemChanged(f"app {app.client_id} changed")
            self.apps[app.client_id] = app

    def add_secret(self, client_id: str, secret: ClientSecret) -> None:
        with self._lock:
            if client_id not in self.apps:
                raise ItemMissing(f"app {client_id} does not exist")
            if secret.secret_id in self.secrets[client_id]:
                raise ItemMissing(f"secret {secret.secret_id} exists")
            self.secrets[client_id][secret.secret_id] = secret

    def delete_secret(self, client_id: str, secret_id: str) -> None:
        with self._lock:
            if secret_id not in self.secrets.get(client_id, {}):
                raise ItemMissing(f"secret {secret_id} does not exist")
            del self.secrets[client_id][secret_id]

    def record_secret_use(self, client_id: str, secret_id: str, when: int, interval: int) -> None:
        with self._lock:
            secret = self.secrets.get(client_id, {}).get(secret_id)
            if secret is None:
                return
            if secret.last_used is None or secret.last_used <= when - interval:
                self.secrets[client_id][secret_id] = replace(secret, last_used=when)

    def put_grant(self, client_id: str, grant: Grant) -> None:
        with self._lock:
            if client_id not in self.apps:
                raise ItemMissing(f"app {client_id} does not exist")
            self.grants[client_id][grant.api_id] = grant

    def delete_grant(self, client_id: str, api_id: str) -> None:
        with self._lock:
            self.grants.get(client_id, {}).pop(api_id, None)

    # -- APIs ---------------------------------------------------------------

    def create_api(self, api: Api) -> None:
        with self._lock:
            if api.api_id in self.apis or api.identifier in self.api_identifiers:
                raise ItemExists(f"API identifier {api.identifier} exists")
            self.apis[api.api_id] = api
            self.api_identifiers[api.identifier] = api.api_id

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

    def add_key(self, key: SigningKeyRecord) -> None:
        with self._lock:
            if key.kid in self.keys:
                raise ItemExists(f"key {key.kid} exists")
            self.keys[key.kid] = key

    # -- revocation ---------------------------------------------------------

    def revoke_token(self, jti: str, client_id: str, expires_at: int) -> None:
        with self._lock:
            self.revoked[jti] = expires_at

    def token_status(self, client_id: str, jti: str, now: int) -> tuple[App | None, bool]:
        with self._lock:
            self.reads += 1
            return self.apps.get(client_id), self.revoked.get(jti, 0) > now
