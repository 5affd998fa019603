"""What Chalice answers by itself, answered in this service's formats instead.

Chalice answers some requests without running a view, each with its own
``{"Code": ..., "Message": ...}`` body and no ``Cache-Control``: a method the route
does not register (405 ``MethodNotAllowedError``), a Content-Type the route does not
list (415 ``UnsupportedMediaType``), a response it cannot send (500
``InternalServerError``). :func:`install` does two things, once for the whole app:

- every route leaves the Content-Type to its view, which refuses what it cannot read
  in the route's own format (a GET has no body, so its Content-Type is irrelevant);
- an HTTP middleware re-renders any answer Chalice still gives itself: RFC 6749 §5.2
  JSON with ``no-store`` on ``/oauth/*``, RFC 9457 problem details everywhere else.

Unknown paths never reach the app: API Gateway answers them (its gateway responses,
infra/gateway_responses.py), and so does the local server (infra/local_gateway.py).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from chalice.app import Chalice, Request, Response

from ..errors import (
    InvalidRequest,
    MethodNotAllowed,
    OAuthError,
    Problem,
    ProblemMethodNotAllowed,
    ServerError,
    UnsupportedMediaType,
)
from .http import oauth_error_response, problem_response

log = logging.getLogger(__name__)

OAUTH_PREFIX = "/oauth/"
ANY_CONTENT = ["*/*"]
CHALICE_ERROR_KEYS = {"Code", "Message"}

_DETAILS = {
    400: "The request cannot be answered in a media type it accepts.",
    415: "This endpoint does not accept this Content-Type.",
}
_SERVER_DETAIL = "The server could not complete the request."


class _FrameworkProblem(Problem):
    """A problem with the status Chalice chose (its title from RFC 9110)."""

    def __init__(self, status: int, detail: str) -> None:
        super().__init__(detail)
        from http import HTTPStatus  # an enum of every status: not built at cold start

        try:
            title = HTTPStatus(status).phrase
        except ValueError:
            title = "Bad Request"
        self.status, self.title = status, title
        self.slug = "server-error" if status >= 500 else "-".join(title.lower().split())


def install(app: Chalice) -> None:
    """Call once, after every route (blueprints included) is registered."""
    for methods in app.routes.values():
        for entry in methods.values():
            entry.content_types = list(ANY_CONTENT)
    app.register_middleware(render_framework_errors, "http")


def is_framework_error(response: Response) -> bool:
    """Chalice's own error body; views here always render a JSON string."""
    return isinstance(response.body, dict) and set(response.body) == CHALICE_ERROR_KEYS


def render_framework_errors(
    request: Request, get_response: Callable[[Request], Response]
) -> Response:
    """HTTP middleware: pass view responses through, re-render Chalice's own."""
    try:
        response = get_response(request)
    except Exception:  # Chalice's outer handler would answer with its own 500 body
        log.exception("unexpected error outside a view")
        response = Response(body={"Code": "InternalServerError", "Message": ""},
                            status_code=500)
    if not is_framework_error(response):
        return response
    status = response.status_code
    allowed = _allowed_methods(response.headers)
    path = str(getattr(request, "path", "") or "")
    if path.startswith(OAUTH_PREFIX):
        return oauth_error_response(_oauth_error(status, allowed))
    return problem_response(_problem(status, allowed))


def _allowed_methods(headers: dict[str, Any]) -> list[str]:
    allow = next((str(v) for k, v in headers.items() if k.lower() == "allow"), "")
    return [m.strip() for m in allow.split(",") if m.strip()]


def _oauth_error(status: int, allowed: list[str]) -> OAuthError:
    if status == 405:
        return MethodNotAllowed(allowed)
    if status >= 500:
        return ServerError(_SERVER_DETAIL)
    error = InvalidRequest(_DETAILS.get(status, "The request is malformed."))
    error.status = status
    return error


def _problem(status: int, allowed: list[str]) -> Problem:
    if status == 405:
        return ProblemMethodNotAllowed(allowed)
    if status == 415:
        return UnsupportedMediaType(_DETAILS[415])
    if status >= 500:
        return _FrameworkProblem(500, _SERVER_DETAIL)
    return _FrameworkProblem(status, _DETAILS.get(status, "The request is malformed."))
