"""The OAuth endpoints (RFC 6749 token, RFC 7662 introspection, RFC 7009 revocation),
the JWKS (RFC 7517), server metadata (RFC 8414) and the OpenAPI document."""

from __future__ import annotations

import json
import os
from functools import cache
from typing import TYPE_CHECKING, Any

from chalice.app import Blueprint, Request, Response

from .. import runtime
from ..errors import MethodNotAllowed
from ..oauth.metadata import INTROSPECT_PATH, JWKS_PATH, METADATA_PATH, REVOKE_PATH, TOKEN_PATH
from .http import (
    incoming,
    issuer_for,
    json_response,
    oauth_endpoint,
    oauth_response,
    problem_endpoint,
    token_endpoint,
)

if TYPE_CHECKING:  # built and parsed on the first token request, not at cold start
    from ..oauth.request import IncomingRequest

oauth = Blueprint(__name__)

ANY_CONTENT = ["*/*"]  # the protocol layer answers unsupported types with invalid_request
OTHER_METHODS = ["GET", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"]
OPENAPI_DOCUMENT = os.path.join(os.path.dirname(os.path.dirname(__file__)), "openapi.json")
"""The OpenAPI document (a path string: ``pathlib`` is not loaded at cold start)."""


def _request() -> Request:
    request = oauth.current_request
    if request is None:  # Chalice sets it before every view runs
        raise RuntimeError("no current request")
    return request


def _issuer() -> str:
    settings = runtime.services().settings
    return issuer_for(_request(), settings.issuer, allow_host=settings.local_mode)


@oauth.route(TOKEN_PATH, methods=["POST"], content_types=ANY_CONTENT)
@token_endpoint(_request)
def token(request: IncomingRequest) -> Response:
    result = runtime.services().token.handle(request, _issuer())
    return oauth_response(result.as_dict(), headers=result.headers)


@oauth.route(INTROSPECT_PATH, methods=["POST"], content_types=ANY_CONTENT)
@oauth_endpoint
def introspect() -> Response:
    result = runtime.services().introspection.handle(incoming(_request()), _issuer())
    return oauth_response(result)


@oauth.route(REVOKE_PATH, methods=["POST"], content_types=ANY_CONTENT)
@oauth_endpoint
def revoke() -> Response:
    runtime.services().revocation.handle(incoming(_request()), _issuer())
    return oauth_response({})


@oauth.route(TOKEN_PATH, methods=OTHER_METHODS)
@oauth.route(INTROSPECT_PATH, methods=OTHER_METHODS)
@oauth.route(REVOKE_PATH, methods=OTHER_METHODS)
@oauth_endpoint
def post_only() -> Response:
    raise MethodNotAllowed(["POST"])


@oauth.route(JWKS_PATH, methods=["GET"])
@oauth_endpoint
def jwks() -> Response:
    services = runtime.services()
    max_age = services.settings.jwks_max_age
    return json_response(
        services.discovery.jwks(),
        headers={"Cache-Control": f"public, max-age={max_age}"},
    )


@oauth.route(METADATA_PATH, methods=["GET"])
@problem_endpoint  # RFC 8414 defines no error format: problem details, like every non-OAuth route
def metadata() -> Response:
    services = runtime.services()
    return json_response(
        services.discovery.metadata(_issuer()),
        headers={"Cache-Control": f"public, max-age={services.settings.jwks_max_age}"},
    )


@cache
def _openapi() -> dict[str, Any]:
    with open(OPENAPI_DOCUMENT, encoding="utf-8") as file:
        document: dict[str, Any] = json.load(file)
    return document


@oauth.route("/openapi.json", methods=["GET"])
@oauth_endpoint
def openapi() -> Response:
    return json_response(_openapi(), headers={"Cache-Control": "public, max-age=3600"})
