"""m2m-auth: OAuth 2.0 client-credentials authorization server. Routes only."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

from chalice.app import Chalice, Rate, Request, Response

from chalicelib import edge, runtime
from chalicelib.admin_routes import admin
from chalicelib.errors import MethodNotAllowed
from chalicelib.home_region import refuse_writes_outside_home
from chalicelib.http import (
    incoming,
    issuer_for,
    json_response,
    oauth_endpoint,
    oauth_response,
    token_endpoint,
)
from chalicelib.oauth.metadata import (
    INTROSPECT_PATH,
    JWKS_PATH,
    METADATA_PATH,
    REVOKE_PATH,
    TOKEN_PATH,
)
from chalicelib.routes_app_keys import app_keys
from chalicelib.routes_aws_principals import aws_principals
from chalicelib.routes_federation import federation

app = Chalice(app_name="m2m-auth")
app.register_blueprint(admin, url_prefix="/admin")
app.register_blueprint(app_keys, url_prefix="/admin")
app.register_blueprint(aws_principals, url_prefix="/admin")
app.register_blueprint(federation, url_prefix="/admin")
app.register_middleware(refuse_writes_outside_home, "http")  # docs/multi-region.md

ANY_CONTENT = ["*/*"]  # the protocol layer answers unsupported types with invalid_request
OTHER_METHODS = ["GET", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"]


def _request() -> Request:
    request = app.current_request
    if request is None:  # Chalice sets it before every view runs
        raise RuntimeError("no current request")
    return request


def _issuer() -> str:
    settings = runtime.services().settings
    return issuer_for(_request(), settings.issuer, allow_host=settings.local_mode)


@app.route(TOKEN_PATH, methods=["POST"], content_types=ANY_CONTENT)
@token_endpoint(_request)
def token() -> Response:
    result = runtime.services().token.handle(incoming(_request()), _issuer())
    return oauth_response(result.as_dict(), headers=result.headers)


@app.route(INTROSPECT_PATH, methods=["POST"], content_types=ANY_CONTENT)
@oauth_endpoint
def introspect() -> Response:
    result = runtime.services().introspection.handle(incoming(_request()), _issuer())
    return oauth_response(result)


@app.route(REVOKE_PATH, methods=["POST"], content_types=ANY_CONTENT)
@oauth_endpoint
def revoke() -> Response:
    runtime.services().revocation.handle(incoming(_request()), _issuer())
    return oauth_response({})


@app.route(TOKEN_PATH, methods=OTHER_METHODS)
@app.route(INTROSPECT_PATH, methods=OTHER_METHODS)
@app.route(REVOKE_PATH, methods=OTHER_METHODS)
@oauth_endpoint
def post_only() -> Response:
    raise MethodNotAllowed(["POST"])


@app.route(JWKS_PATH, methods=["GET"])
@oauth_endpoint
def jwks() -> Response:
    services = runtime.services()
    max_age = services.settings.jwks_max_age
    return json_response(
        services.discovery.jwks(),
        headers={"Cache-Control": f"public, max-age={max_age}"},
    )


@app.route(METADATA_PATH, methods=["GET"])
@oauth_endpoint
def metadata() -> Response:
    services = runtime.services()
    return json_response(
        services.discovery.metadata(_issuer()),
        headers={"Cache-Control": f"public, max-age={services.settings.jwks_max_age}"},
    )


@cache
def _openapi() -> dict[str, Any]:
    document: dict[str, Any] = json.loads(
        (Path(__file__).parent / "chalicelib" / "openapi.json").read_text()
    )
    return document


@app.route("/openapi.json", methods=["GET"])
@oauth_endpoint
def openapi() -> Response:
    return json_response(_openapi(), headers={"Cache-Control": "public, max-age=3600"})


@app.schedule(Rate(1, unit=Rate.DAYS), name="rotate_signing_keys")
def rotate_signing_keys(event: Any) -> str:
    """Daily: create a next key ahead of time, promote it when the period is over."""
    services = runtime.services()
    if not services.settings.is_home:  # multi-region: the home region rotates for all
        return f"not the home region ({services.settings.home_region}): nothing to do"
    rotation = services.rotation
    if rotation is None:
        raise RuntimeError("key rotation needs the KMS key factory")
    return rotation.run()


edge.install(app)  # last: Chalice's own answers (405, 415, 500) in this service's formats
