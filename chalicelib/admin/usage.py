"""Admin use case: an app's fresh-token usage (issue 9 §2), read from the counter
items the token path writes."""

from __future__ import annotations

from ..store.records import App, Usage
from .usecase import UseCases


class UsageAdmin(UseCases):
    def usage(self, client_id: str) -> tuple[App, Usage]:
        """Counts per hour for the last 48 hours and per day for the last 30 days.
        Apps without a quota are counted too."""
        app = self.get_app(client_id).app
        return app, self._store.usage(client_id, self._now())
