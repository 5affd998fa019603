"""POST /oauth/introspect (RFC 7662) and POST /oauth/revoke (RFC 7009) over HTTP."""

from __future__ import annotations

from typing import Any

from chalicelib import runtime
from tests.conftest import AUDIENCE, Demo, seed_demo
from tests.functional.conftest import FORM, basic, body_json, form, token_request


def introspect(http: Any, demo: Demo, token: str) -> Any:
    return http.post(
        "/oauth/introspect",
        headers={**FORM, **basic(demo.client_id, demo.client_secret)},
        body=form(token=token),
    )


def revoke(http: Any, demo: Demo, token: str) -> Any:
    return http.post(
        "/oauth/revoke",
        headers={**FORM, **basic(demo.client_id, demo.client_secret)},
        body=form(token=token, token_type_hint="access_token"),
    )


def test_client_introspects_its_own_token(http: Any, demo: Demo) -> None:
    token = body_json(token_request(http, demo))["access_token"]

    response = introspect(http, demo, token)

    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    body = body_json(response)
    assert body["active"] is True
    assert body["client_id"] == demo.client_id and body["aud"] == AUDIENCE
    assert body["scope"] == "orders:read" and body["token_type"] == "Bearer"
    assert {"exp", "iat", "sub", "iss", "jti"} <= set(body)


def test_introspection_requires_client_authentication(http: Any, demo: Demo) -> None:
    response = http.post(
        "/oauth/introspect",
        headers={**FORM, **basic(demo.client_id, "m2msec_wrong")},
        body=form(token="x"),
    )
    assert response.status_code == 401
    assert body_json(response)["error"] == "invalid_client"
    assert "WWW-Authenticate" in response.headers


def test_foreign_token_is_inactive_without_the_introspect_permission(
    http: Any, moto_services: runtime.Services, demo: Demo
) -> None:
    p = moto_services.provisioning
    other, other_secret = p.create_app(name="other")
    auditor, auditor_secret = p.create_app(name="gateway", permissions=["introspect"])
    token = body_json(token_request(http, demo))["access_token"]

    as_other = http.post("/oauth/introspect",
                         headers={**FORM, **basic(other.client_id, other_secret.client_secret)},
                         body=form(token=token))
    as_auditor = http.post(
        "/oauth/introspect",
        headers={**FORM, **basic(auditor.client_id, auditor_secret.client_secret)},
        body=form(token=token),
    )
    assert body_json(as_other) == {"active": False}
    assert body_json(as_auditor)["active"] is True


def test_revoked_token_is_inactive_and_revocation_answers_200(http: Any, demo: Demo) -> None:
    token = body_json(token_request(http, demo))["access_token"]

    response = revoke(http, demo, token)

    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    assert body_json(introspect(http, demo, token)) == {"active": False}
    # a second token is unaffected
    other = body_json(token_request(http, demo))["access_token"]
    assert body_json(introspect(http, demo, other))["active"] is True


def test_revoking_unknown_or_garbage_tokens_answers_200(http: Any, demo: Demo) -> None:
    for token in ("garbage", "a.b.c", "eyJhbGciOiJub25lIn0.e30."):
        assert revoke(http, demo, token).status_code == 200


def test_revoking_another_clients_token_is_refused(
    http: Any, moto_services: runtime.Services, demo: Demo
) -> None:
    token = body_json(token_request(http, demo))["access_token"]
    other = seed_other(moto_services)
    response = revoke(http, other, token)
    assert response.status_code == 400
    assert body_json(response)["error"] == "unauthorized_client"
    assert body_json(introspect(http, demo, token))["active"] is True


def test_blocked_apps_tokens_are_inactive(
    http: Any, moto_services: runtime.Services, demo: Demo
) -> None:
    auditor, auditor_secret = moto_services.provisioning.create_app(
        name="gateway", permissions=["introspect"]
    )
    token = body_json(token_request(http, demo))["access_token"]
    moto_services.provisioning.set_enabled(demo.client_id, False)

    response = http.post(
        "/oauth/introspect",
        headers={**FORM, **basic(auditor.client_id, auditor_secret.client_secret)},
        body=form(token=token),
    )
    assert body_json(response) == {"active": False}


def test_missing_token_parameter_is_invalid_request(http: Any, demo: Demo) -> None:
    for path in ("/oauth/introspect", "/oauth/revoke"):
        response = http.post(
            path, headers={**FORM, **basic(demo.client_id, demo.client_secret)}, body=""
        )
        assert response.status_code == 400
        assert body_json(response)["error"] == "invalid_request"


def seed_other(services: runtime.Services) -> Demo:
    app, secret = services.provisioning.create_app(name="other")
    api = services.store.find_api(AUDIENCE)
    assert api is not None
    return Demo(api.api_id, app.client_id, secret.client_secret, secret.secret_id)


def test_seed_helper_shares_the_api(moto_services: runtime.Services) -> None:
    demo = seed_demo(moto_services)
    assert seed_other(moto_services).api_id == demo.api_id
