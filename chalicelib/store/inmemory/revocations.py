"""Revoked token ids, in memory."""

from __future__ import annotations

from dataclasses import replace

from ..records import App, ExchangeSubject
from .state import MemoryTables


class MemoryRevocationRepository(MemoryTables):
    def revoke_token(self, jti: str, client_id: str, expires_at: int) -> None:
        with self._lock:
            self.revoked[jti] = expires_at
            app = self.apps.get(client_id)
            if app is not None:
                self.apps[client_id] = replace(app, revocations=app.revocations + 1)

    def token_status(self, client_id: str, jti: str, now: int) -> tuple[App | None, bool]:
        with self._lock:
            self.reads += 1
            return self.apps.get(client_id), self.revoked.get(jti, 0) > now

    def exchange_subject(
        self, subject: str, api_id: str, issued_to: str, jtis: tuple[str, ...], now: int,
        source_api_id: str,
    ) -> ExchangeSubject:
        with self._lock:
            self.reads += 1
            return ExchangeSubject(
                self.apps.get(subject), self.grants.get(subject, {}).get(api_id),
                self.apps.get(issued_to),
                frozenset(jti for jti in jtis if self.revoked.get(jti, 0) > now),
                self.apis.get(source_api_id),
            )
