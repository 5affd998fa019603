"""Token-exchange policies, in memory."""

from __future__ import annotations

from ...errors import ItemChanged, ItemMissing
from ..records import AuditRecord, ExchangePolicy
from .state import MemoryTables


class MemoryExchangePolicyRepository(MemoryTables):
    def put_exchange_policy(
        self,
        client_id: str,
        policy: ExchangePolicy,
        expected_version: int,
        audit: AuditRecord | None = None,
    ) -> None:
        with self._lock:
            if client_id not in self.apps:
                raise ItemMissing(f"app {client_id} does not exist")
            listed = self.exchange_policies.setdefault(client_id, {})
            stored = listed.get(policy.target_api_id)
            if (stored.version if stored else 0) != expected_version:
                raise ItemChanged(f"policy {client_id}/{policy.target_api_id} changed")
            listed[policy.target_api_id] = policy
            self._audit(audit)

    def delete_exchange_policy(
        self, client_id: str, target_api_id: str, audit: AuditRecord | None = None
    ) -> None:
        with self._lock:
            if target_api_id not in self.exchange_policies.get(client_id, {}):
                raise ItemMissing(f"policy {client_id}/{target_api_id} does not exist")
            del self.exchange_policies[client_id][target_api_id]
            self._audit(audit)
