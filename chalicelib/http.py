"""HTTP edge: turn Chalice requests into protocol input and errors into responses.

Every OAuth endpoint response is JSON with ``Cache-Control: no-store`` and
``Pragma: no-cache`` (RFC 6749 §5.1); errors are RFC 6749 §5.2 bodies.
Unexpected failures are logged (never with a secret or token) and answered
as ``server_error`` so no stack trace or Chalice error body reaches a client.
"""

from __future__ import annotations

import functools
import json
import logging
from collections.abc import Callable
from typing import Any

from chalice.app import Request, Response

from .config import MAX_ISSUER_LENGTH
from .errors import (
    InvalidRequest,
    OAuthError,
    ServerError,
    SigningFailed,
    SigningThrottled,
    StoreError,
    TemporarilyUnavailable,
)
from .oauth.request import IncomingRequest

log = logging.getLogger(__name__)

NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}
JSON_TYPE = "application/json"


def json_response(
    body: Any, status: int = 200, headers: dict[str, str] | None = None
) -> Response:
    return Response(
        body=json.dumps(body, separators=(",", ":")),
        status_code=status,
        headers={"Content-Type": JSON_TYPE, **(headers or {})},
    )


def oauth_response(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return json_response(body, status, {**NO_STORE, **(headers or {})})


def oauth_error_response(error: OAuthError) -> Response:
    body = {"error": error.error, "error_description": error.description}
    return oauth_response(body, error.status, error.headers())


def _as_oauth_error(exc: Exception) -> OAuthError:
    if isinstance(exc, OAuthError):
        return exc
    if isinstance(exc, SigningThrottled):
        log.warning("KMS throttled a signing request: %s", exc)
        return TemporarilyUnavailable("The server is busy; retry shortly.")
    if isinstance(exc, SigningFailed | StoreError):
        log.error("request failed: %s: %s", type(exc).__name__, exc)
        return ServerError("The server could not complete the request.")
    log.exception("unexpected error")
    return ServerError("The server could not complete the request.")


def oauth_endpoint(view: Callable[..., Response]) -> Callable[..., Response]:
    """Render every outcome of an OAuth view as an RFC 6749 JSON response."""

    @functools.wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Response:
        try:
            return view(*args, **kwargs)
        except Exception as exc:  # the one place errors become responses
            return oauth_error_response(_as_oauth_error(exc))

    return wrapper


def incoming(request: Request) -> IncomingRequest:
    if request.query_params and {"client_secret", "client_id"} & set(request.query_params):
        # RFC 6749 §2.3.1: credentials MUST NOT be in the request URI (it gets logged)
        raise InvalidRequest("Client credentials must not be sent in the query string.")
    raw = request.raw_body
    body = raw if isinstance(raw, bytes) else raw.encode("utf-8")
    return IncomingRequest(
        body=body,
        content_type=request.headers.get("content-type"),
        authorization=request.headers.get("authorization"),
    )


def issuer_for(request: Request, configured: str | None, *, allow_host: bool = False) -> str:
    """The configured ``ISSUER``, else ``https://{domainName}/{stage}`` from API
    Gateway's request context, else (local mode only) the Host the client used."""
    if configured:
        return configured
    context = request.context or {}
    domain, stage = context.get("domainName"), context.get("stage")
    if domain and stage:
        issuer = f"https://{domain}/{stage}"
    elif allow_host:
        issuer = f"http://{request.headers.get('host', '127.0.0.1')}"
    else:
        log.error("no ISSUER configured and no API Gateway domain in the request")
        raise ServerError("The server's issuer is not configured.")
    if len(issuer) > MAX_ISSUER_LENGTH:
        log.error("derived issuer is longer than %d characters; set ISSUER", MAX_ISSUER_LENGTH)
        raise ServerError("The server's issuer is not configured.")
    return issuer
