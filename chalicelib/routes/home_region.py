"""Admin writes go to the home region only (docs/multi-region.md).

A global table checks conditions and transactions against the local replica only,
and concurrent writes to one item in two regions resolve last-writer-wins: the
admin API's optimistic concurrency (versions, ETags) holds only if every write
lands in one region. Other regions answer admin writes with a problem naming the
home region's admin URL; reads and the token endpoint work everywhere.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from chalice.app import Request, Response

from .. import runtime
from ..errors import Problem
from .http import problem_response

if TYPE_CHECKING:  # the settings are read on the first request, not at cold start
    from ..config import Settings

ADMIN_PREFIX = "/admin"
WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


class NotHomeRegion(Problem):
    """RFC 9110 §15.5.20: this region does not take the request; the home region does."""

    status, title, slug = 421, "Misdirected Request", "not-home-region"

    def __init__(self, region: str, home_region: str, home_admin_url: str | None) -> None:
        where = f" at {home_admin_url}" if home_admin_url else ""
        super().__init__(
            f"Admin writes are accepted in the home region {home_region} only{where}; "
            f"this is {region}, which serves reads and tokens."
        )
        self.home_region = home_region
        self.home_admin_url = home_admin_url

    def extensions(self) -> dict[str, Any]:
        return {"home_region": self.home_region, "home_admin_url": self.home_admin_url}


def refused_write(settings: Settings, method: str, path: str) -> NotHomeRegion | None:
    """The problem for an admin write outside the home region, else None."""
    if settings.is_home or settings.home_region is None:
        return None
    if method.upper() not in WRITE_METHODS:
        return None
    if path != ADMIN_PREFIX and not path.startswith(ADMIN_PREFIX + "/"):
        return None
    return NotHomeRegion(settings.region, settings.home_region, settings.home_admin_url)


def refuse_writes_outside_home(
    request: Request, get_response: Callable[[Request], Response]
) -> Response:
    """HTTP middleware: admin writes in a region other than home get ``NotHomeRegion``."""
    path = str(getattr(request, "path", "") or "")
    if path.startswith(ADMIN_PREFIX):
        problem = refused_write(runtime.services().settings, request.method, path)
        if problem is not None:
            return problem_response(problem)
    return get_response(request)
