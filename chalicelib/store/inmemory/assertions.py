"""Single-use assertion ids, in memory."""

from __future__ import annotations

from ..dynamo.assertions import check_ids
from .state import MemoryTables


class MemoryAssertionReplayRepository(MemoryTables):
    def use_once(self, namespace: str, jti: str, expires_at: int) -> bool:
        check_ids(namespace, jti)
        with self._lock:
            key = (namespace, jti)
            if key in self.used_assertions:
                return False
            self.used_assertions[key] = expires_at
            return True
