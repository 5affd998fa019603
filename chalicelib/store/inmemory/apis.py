"""APIs and their identifiers, in memory."""

from __future__ import annotations

from ...errors import ItemChanged, ItemExists, ItemMissing
from ..paging import page as _page
from ..records import Api, AuditRecord, Grant, Page
from .state import MemoryTables


class MemoryApiRepository(MemoryTables):
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
