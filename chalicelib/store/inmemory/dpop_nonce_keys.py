"""HMAC keys of DPoP nonces, in memory."""

from __future__ import annotations

from ..dynamo.dpop_nonce_keys import check_scope
from .state import MemoryTables


class MemoryDpopNonceKeyRepository(MemoryTables):
    def nonce_key(self, scope: str, period: int, candidate: bytes, expires_at: int) -> bytes:
        check_scope(scope)
        with self._lock:
            self.reads += 1
            return self.nonce_keys.setdefault((scope, period), candidate)
