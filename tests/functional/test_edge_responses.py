"""Answers Chalice or its local gateway would give themselves (issue 8 §1.3), through
``chalice.test.Client``: every response is RFC 6749 JSON on /oauth/* or RFC 9457
problem details elsewhere, never ``{"Code": ...}`` or ``{"message": ...}``."""

from __future__ import annotations

import json
from typing import Any

import pytest
from chalice.app import Chalice, Response
from chalice.config import Config
from chalice.test import Client

from chalicelib.routes import edge
from infra.gateway_responses import RESPONSES
from infra.local_gateway import GatewayResponseError, LocalGateway
from tests.functional.admin_helpers import problem
from tests.functional.conftest import FORM, body_json
from tests.functional.test_token_endpoint import assert_oauth_error

OAUTH_PATHS = ["/oauth/token", "/oauth/introspect", "/oauth/revoke"]
TEXT = {"Content-Type": "text/plain"}


@pytest.mark.parametrize("method", ["GET", "PUT", "PATCH", "DELETE"])
@pytest.mark.parametrize("path", OAUTH_PATHS)
def test_rejects_other_methods_with_a_form_content_type_as_oauth_405(
    http: Any, method: str, path: str
) -> None:
    response = http.request(method, path, headers=FORM, body=b"grant_type=client_credentials")
    assert_oauth_error(response, 405, "invalid_request")
    assert response.headers["Allow"] == "POST"


@pytest.mark.parametrize(
    "path", ["/.well-known/jwks.json", "/.well-known/oauth-authorization-server",
             "/openapi.json", "/admin/apps", "/admin/apis", "/admin/keys", "/admin/audit"]
)
def test_serves_get_whatever_content_type_the_bodiless_request_names(
    http: Any, path: str
) -> None:
    response = http.get(path, headers=TEXT)
    assert response.status_code == 200, response.body
    assert "Code" not in body_json(response)


def test_refuses_a_text_body_on_admin_writes_as_a_415_problem(http: Any) -> None:
    response = http.post("/admin/apps", headers=TEXT, body=b"name=x")
    problem(response, 415, "unsupported-media-type")
    assert response.headers["Cache-Control"] == "no-store"


@pytest.mark.parametrize(
    ("method", "path", "allow"),
    [
        ("PUT", "/admin/apps", {"GET", "POST"}),
        ("DELETE", "/admin/apis", {"GET", "POST"}),
        ("POST", "/admin/apps/abc", {"GET", "PATCH", "DELETE"}),
        ("GET", "/admin/keys/rotate", {"POST"}),
        ("PATCH", "/admin/audit", {"GET"}),
        ("POST", "/.well-known/jwks.json", {"GET"}),
        ("DELETE", "/openapi.json", {"GET"}),
    ],
)
def test_rejects_unregistered_methods_as_a_405_problem_with_allow(
    http: Any, method: str, path: str, allow: set[str]
) -> None:
    response = http.request(method, path, headers={"Content-Type": "application/json"},
                            body=b"{}")
    body = problem(response, 405, "method-not-allowed")
    assert response.headers["Cache-Control"] == "no-store"
    assert {m.strip() for m in response.headers["Allow"].split(",")} == allow
    assert all(m in body["detail"] for m in allow)


# -- the mechanism, on a small app with what Chalice answers by itself ------------------


@pytest.fixture
def tiny() -> Chalice:
    app = Chalice(app_name="tiny")

    @app.route("/oauth/thing", methods=["POST"], content_types=["application/json"])
    def oauth_thing() -> Response:
        return Response(body="{}", headers={"Bad": "line\nbreak"})  # Chalice refuses: 500

    @app.route("/things", methods=["POST"], content_types=["application/json"])
    def thing() -> Response:
        return Response(body="{}", headers={"Bad": "line\nbreak"})

    edge.install(app)
    return app


def test_renders_chalice_internal_errors_as_server_errors(tiny: Chalice) -> None:
    with Client(tiny) as client:
        oauth = client.http.post("/oauth/thing", headers=FORM, body=b"x=1")
        admin = client.http.post("/things", headers=TEXT, body=b"x")
    assert_oauth_error(oauth, 500, "server_error")
    problem(admin, 500, "server-error")


def test_leaves_content_types_to_the_views(tiny: Chalice) -> None:
    assert {tuple(e.content_types) for m in tiny.routes.values() for e in m.values()} == {
        ("*/*",)
    }


def test_renders_chalice_415_in_the_route_format() -> None:
    chalice_415 = Response(body={"Code": "UnsupportedMediaType", "Message": "x"},
                           status_code=415)

    class Req:
        def __init__(self, path: str) -> None:
            self.path = path

    oauth = edge.render_framework_errors(Req("/oauth/token"), lambda _: chalice_415)  # type: ignore[arg-type]
    admin = edge.render_framework_errors(Req("/admin/apps"), lambda _: chalice_415)  # type: ignore[arg-type]
    assert oauth.status_code == 415 and oauth.headers["Cache-Control"] == "no-store"
    assert json.loads(oauth.body)["error"] == "invalid_request"
    assert admin.status_code == 415
    assert json.loads(admin.body)["type"] == "urn:m2m-auth:problem:unsupported-media-type"


def test_every_route_of_the_service_leaves_content_types_to_its_view() -> None:
    import app as chalice_app

    types = {(path, method): entry.content_types
             for path, methods in chalice_app.app.routes.items()
             for method, entry in methods.items()}
    assert {tuple(t) for t in types.values()} == {("*/*",)}, types


# -- unknown paths: the local server's gateway, in process ------------------------------


@pytest.mark.parametrize("headers", [{}, {"Authorization": "Basic c2VjcmV0OnNlY3JldA=="}])
@pytest.mark.parametrize("path", ["/nope", "/oauth/token/extra", "/admin", "/admin/apps/a/b/c"])
def test_local_gateway_answers_unknown_paths_like_api_gateway(
    headers: dict[str, str], path: str
) -> None:
    import app as chalice_app

    gateway = LocalGateway(chalice_app.app, Config.create())
    with pytest.raises(GatewayResponseError) as raised:
        gateway.handle_request("GET", path, headers, None)
    answer = raised.value
    assert answer.CODE == 404
    assert answer.headers["Cache-Control"] == "no-store"
    assert answer.body is not None
    assert b"c2VjcmV0" not in answer.body  # never quotes the Authorization header back
    body = json.loads(answer.body)
    expected = RESPONSES["MISSING_AUTHENTICATION_TOKEN"].body(body["request_id"])
    assert body == expected
    assert body["status"] == 404 and body["error"] == "invalid_request"
