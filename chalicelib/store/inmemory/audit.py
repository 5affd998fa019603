"""Audit records, newest first, in memory."""

from __future__ import annotations

from ..paging import invert as _invert
from ..paging import page as _page
from ..records import Page
from .state import MemoryTables


class MemoryAuditRepository(MemoryTables):
    def list_audit(self, limit: int, cursor: str | None) -> Page:
        with self._lock:
            # a key that sorts ascending when records go newest first
            return _page(
                self.audit, lambda r: f"{10**13 - r.time:013d}#{_invert(r.audit_id)}", limit, cursor
            )
