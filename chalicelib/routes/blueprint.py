"""What every admin blueprint shares: SigV4 (IAM) on each route, views that check the
Content-Type themselves, and the current request and its caller."""

from __future__ import annotations

from typing import TYPE_CHECKING

from chalice.app import Blueprint, IAMAuthorizer, Request

from .. import runtime
from .http import caller

if TYPE_CHECKING:  # built by caller() on the first admin request, not at cold start
    from ..admin.audit import Actor

iam = IAMAuthorizer()
ANY = ["*/*"]  # content types are checked by read_json_object (415 as problem+json)


class AdminBlueprint(Blueprint):
    """A Chalice blueprint of admin routes, registered under /admin by app.py."""

    def request(self) -> Request:
        request = self.current_request
        if request is None:  # Chalice sets it before every view runs
            raise RuntimeError("no current request")
        return request

    def actor(self) -> Actor:
        """The IAM principal API Gateway authenticated (``local`` in local mode)."""
        return caller(self.request(), runtime.services().settings.local_mode)
