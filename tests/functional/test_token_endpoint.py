"""POST /oauth/token through the Chalice app, on moto DynamoDB and KMS."""

from __future__ import annotations

import json
from typing import Any

import jwt
import pytest

from chalicelib import runtime
from tests.conftest import AUDIENCE, ISSUER, Demo
from tests.functional.conftest import FORM, JSON, basic, body_json, form, token_request


def assert_oauth_error(response: Any, status: int, error: str) -> dict[str, Any]:
    assert response.status_code == status, response.body
    assert response.headers["Content-Type"] == "application/json"
    assert response.headers["Cache-Control"] == "no-store"
    assert response.headers["Pragma"] == "no-cache"
    body = body_json(response)
    assert set(body) == {"error", "error_description"}, body
    assert body["error"] == error
    assert "Code" not in body and "Traceback" not in response.body.decode()
    return body


def assert_invalid_client(response: Any) -> dict[str, Any]:
    body = assert_oauth_error(response, 401, "invalid_client")
    assert response.headers["WWW-Authenticate"].startswith('Basic realm="')
    return body


# ---- success ---------------------------------------------------------------


def test_issues_a_bearer_token_with_basic_auth_and_form_body(http: Any, demo: Demo) -> None:
    response = token_request(http, demo)

    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    assert response.headers["Pragma"] == "no-cache"
    body = body_json(response)
    assert set(body) == {"access_token", "token_type", "expires_in", "scope"}
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == 3600
    assert body["scope"] == "orders:read"


def test_issues_a_token_with_post_auth_and_json_body(http: Any, demo: Demo) -> None:
    response = http.post(
        "/oauth/token",
        headers=JSON,
        body=json.dumps(
            {
                "grant_type": "client_credentials",
                "client_id": demo.client_id,
                "client_secret": demo.client_secret,
                "audience": AUDIENCE,
                "scope": "orders:read",
            }
        ),
    )
    assert response.status_code == 200, response.body
    assert body_json(response)["scope"] == "orders:read"


def test_accepts_rfc8707_resource_instead_of_audience(http: Any, demo: Demo) -> None:
    response = http.post(
        "/oauth/token",
        headers={**FORM, **basic(demo.client_id, demo.client_secret)},
        body=form(grant_type="client_credentials", resource=AUDIENCE),
    )
    assert response.status_code == 200, response.body


def test_access_token_is_an_rfc9068_jwt_signed_by_the_published_key(
    http: Any, demo: Demo
) -> None:
    token = body_json(token_request(http, demo))["access_token"]
    jwks = body_json(http.get("/.well-known/jwks.json"))

    header = jwt.get_unverified_header(token)
    assert header["typ"] == "at+jwt" and header["alg"] == "RS256"
    [jwk] = [k for k in jwks["keys"] if k["kid"] == header["kid"]]
    claims = jwt.decode(
        token, key=jwt.PyJWK(jwk).key, algorithms=["RS256"], audience=AUDIENCE, issuer=ISSUER
    )
    assert claims["sub"] == claims["client_id"] == demo.client_id
    assert claims["aud"] == AUDIENCE
    assert claims["scope"] == "orders:read" and claims["scp"] == ["orders:read"]
    assert claims["gty"] == "client_credentials"
    assert claims["exp"] - claims["iat"] == 3600
    assert len(claims["jti"]) >= 16


def test_scope_omitted_gives_all_granted_scopes(
    http: Any, moto_services: runtime.Services
) -> None:
    from tests.conftest import seed_demo

    demo = seed_demo(moto_services, scopes=("orders:read", "orders:write"))
    assert body_json(token_request(http, demo))["scope"] == "orders:read orders:write"
    assert body_json(token_request(http, demo, scope="orders:write"))["scope"] == "orders:write"


def test_empty_values_count_as_omitted_and_unknown_parameters_are_ignored(
    http: Any, demo: Demo
) -> None:
    response = token_request(http, demo, scope="", foo="bar", client_assertion_type="")
    assert response.status_code == 200, response.body
    assert body_json(response)["scope"] == "orders:read"


def test_app_lifetime_caps_the_api_lifetime(http: Any, moto_services: runtime.Services) -> None:
    p = moto_services.provisioning
    api = p.create_api(name="Short", identifier="urn:short", scopes=["a"], token_lifetime=900)
    app, secret = p.create_app(name="capped", token_lifetime=300)
    p.set_grant(app.client_id, api.api_id, ["a"])
    response = http.post(
        "/oauth/token",
        headers={**FORM, **basic(app.client_id, secret.client_secret)},
        body=form(grant_type="client_credentials", audience="urn:short"),
    )
    assert body_json(response)["expires_in"] == 300


# ---- request errors --------------------------------------------------------


@pytest.mark.parametrize(
    ("params", "error"),
    [
        ({"audience": AUDIENCE}, "invalid_request"),
        ({"grant_type": "password", "audience": AUDIENCE}, "unsupported_grant_type"),
        ({"grant_type": "authorization_code", "audience": AUDIENCE}, "unsupported_grant_type"),
        ({"grant_type": "client_credentials"}, "invalid_request"),
        ({"grant_type": "client_credentials", "audience": ""}, "invalid_request"),
        ({"grant_type": "client_credentials", "audience": "urn:nope"}, "invalid_target"),
        ({"grant_type": "client_credentials", "audience": AUDIENCE, "scope": "orders:write"},
         "invalid_scope"),
        ({"grant_type": "client_credentials", "audience": AUDIENCE, "scope": "a\\b"},
         "invalid_scope"),
    ],
)
def test_rejects_bad_token_requests(
    http: Any, demo: Demo, params: dict[str, str], error: str
) -> None:
    response = http.post(
        "/oauth/token",
        headers={**FORM, **basic(demo.client_id, demo.client_secret)},
        body=form(**params),
    )
    assert_oauth_error(response, 400, error)


def test_unknown_api_and_ungranted_api_get_the_same_answer(
    http: Any, demo: Demo, moto_services: runtime.Services
) -> None:
    moto_services.provisioning.create_api(name="Other", identifier="urn:other", scopes=["x"])
    unknown = token_request(http, demo, audience="urn:unknown")
    ungranted = token_request(http, demo, audience="urn:other")
    assert body_json(unknown) == body_json(ungranted)
    assert_oauth_error(unknown, 400, "invalid_target")


def test_rejects_repeated_parameters_with_invalid_request(http: Any, demo: Demo) -> None:
    body = form(grant_type="client_credentials", audience=AUDIENCE) + "&scope=a&scope=b"
    response = http.post(
        "/oauth/token", headers={**FORM, **basic(demo.client_id, demo.client_secret)}, body=body
    )
    assert_oauth_error(response, 400, "invalid_request")


def test_rejects_repeated_json_members_with_invalid_request(http: Any, demo: Demo) -> None:
    body = (
        '{"grant_type":"client_credentials","grant_type":"client_credentials",'
        f'"audience":"{AUDIENCE}"}}'
    )
    response = http.post(
        "/oauth/token", headers={**JSON, **basic(demo.client_id, demo.client_secret)}, body=body
    )
    assert_oauth_error(response, 400, "invalid_request")


@pytest.mark.parametrize(
    ("content_type", "body"),
    [
        ("application/json", "{not json"),
        ("application/json", '["grant_type"]'),
        ("application/json", '{"grant_type": 5}'),
        ("application/x-www-form-urlencoded", "grant_type"),
        ("application/x-www-form-urlencoded", b"grant_type=\xff\xfe"),
        ("text/plain", "grant_type=client_credentials"),
        ("application/xml", "<grant_type/>"),
        ("application/x-www-form-urlencoded; charset=latin-1", "grant_type=client_credentials"),
    ],
)
def test_rejects_malformed_bodies_and_unsupported_types(
    http: Any, demo: Demo, content_type: str, body: str | bytes
) -> None:
    response = http.post(
        "/oauth/token",
        headers={"Content-Type": content_type, **basic(demo.client_id, demo.client_secret)},
        body=body,
    )
    assert_oauth_error(response, 400, "invalid_request")


def test_rejects_a_body_over_16_kib(http: Any, demo: Demo) -> None:
    body = form(grant_type="client_credentials", audience=AUDIENCE, pad="x" * 16 * 1024)
    response = http.post(
        "/oauth/token", headers={**FORM, **basic(demo.client_id, demo.client_secret)}, body=body
    )
    body_ = assert_oauth_error(response, 400, "invalid_request")
    assert "16384" in body_["error_description"]


def test_using_basic_and_post_authentication_together_is_invalid_request(
    http: Any, demo: Demo
) -> None:
    response = token_request(http, demo, client_secret=demo.client_secret)
    assert_oauth_error(response, 400, "invalid_request")


# ---- client authentication -------------------------------------------------


def test_missing_client_authentication_is_invalid_client(http: Any, demo: Demo) -> None:
    response = http.post(
        "/oauth/token",
        headers=FORM,
        body=form(grant_type="client_credentials", audience=AUDIENCE),
    )
    assert_invalid_client(response)


def test_every_credential_failure_gets_the_same_invalid_client(
    http: Any, demo: Demo, moto_services: runtime.Services, clock: Any
) -> None:
    p = moto_services.provisioning
    # GIVEN an expiring secret, a revoked secret, a disabled app and a good app
    expiring = p.add_secret(demo.client_id, expires_in=60)
    revoked = p.add_secret(demo.client_id)
    p.revoke_secret(demo.client_id, revoked.secret_id)
    blocked_app, blocked_secret = p.create_app(name="blocked")
    p.set_grant(blocked_app.client_id, demo.api_id, ["orders:read"])
    p.set_enabled(blocked_app.client_id, False)
    assert token_request(http, Demo(demo.api_id, demo.client_id, expiring.client_secret,
                                    expiring.secret_id)).status_code == 200
    clock.advance(61)

    attempts = {
        "unknown client": ("nosuchclient", demo.client_secret),
        "wrong secret": (demo.client_id, "m2msec_wrong"),
        "expired secret": (demo.client_id, expiring.client_secret),
        "revoked secret": (demo.client_id, revoked.client_secret),
        "disabled app": (blocked_app.client_id, blocked_secret.client_secret),
    }
    bodies = []
    for client_id, secret in attempts.values():
        response = http.post(
            "/oauth/token",
            headers={**FORM, **basic(client_id, secret)},
            body=form(grant_type="client_credentials", audience=AUDIENCE),
        )
        bodies.append(assert_invalid_client(response))
    # THEN nothing tells the failures apart
    assert all(b == bodies[0] for b in bodies)
    # AND the original secret still works (rotation overlap)
    assert token_request(http, demo).status_code == 200


def test_post_auth_failure_is_invalid_client_too(http: Any, demo: Demo) -> None:
    response = http.post(
        "/oauth/token",
        headers=FORM,
        body=form(grant_type="client_credentials", audience=AUDIENCE,
                  client_id=demo.client_id, client_secret="m2msec_wrong"),
    )
    assert_invalid_client(response)


@pytest.mark.parametrize("authorization", ["Basic !!!notbase64", "Bearer abc", "Basic Zm9v"])
def test_malformed_authorization_header_is_invalid_client(
    http: Any, demo: Demo, authorization: str
) -> None:
    response = http.post(
        "/oauth/token",
        headers={**FORM, "Authorization": authorization},
        body=form(grant_type="client_credentials", audience=AUDIENCE),
    )
    assert_invalid_client(response)


# ---- methods ---------------------------------------------------------------


@pytest.mark.parametrize("method", ["GET", "PUT", "PATCH", "DELETE", "OPTIONS"])
@pytest.mark.parametrize("path", ["/oauth/token", "/oauth/introspect", "/oauth/revoke"])
def test_wrong_method_is_405_with_allow_post(http: Any, method: str, path: str) -> None:
    response = http.request(method, path, headers={}, body=b"")
    body = assert_oauth_error(response, 405, "invalid_request")
    assert response.headers["Allow"] == "POST"
    assert "POST" in body["error_description"]


def test_credentials_in_the_query_string_are_refused(http: Any, demo: Demo) -> None:
    response = http.post(
        f"/oauth/token?client_id={demo.client_id}&client_secret={demo.client_secret}",
        headers=FORM,
        body=form(grant_type="client_credentials", audience=AUDIENCE),
    )
    assert_oauth_error(response, 400, "invalid_request")


def test_other_authorization_scheme_with_body_credentials_is_invalid_request(
    http: Any, demo: Demo
) -> None:
    response = http.post(
        "/oauth/token",
        headers={**FORM, "Authorization": "Bearer abc"},
        body=form(grant_type="client_credentials", audience=AUDIENCE,
                  client_id=demo.client_id, client_secret=demo.client_secret),
    )
    assert_oauth_error(response, 400, "invalid_request")


# ---- one parse per request ---------------------------------------------------


@pytest.mark.parametrize("outcome", ["issued", "refused"])
def test_parses_the_request_body_once_including_the_outcome_log(
    http: Any, demo: Demo, monkeypatch: pytest.MonkeyPatch, outcome: str
) -> None:
    from chalicelib.oauth import request as parsing

    real = parsing.parse_parameters
    calls: list[bytes] = []

    def counted(request: parsing.IncomingRequest) -> parsing.Parameters:
        calls.append(request.body)
        return real(request)

    monkeypatch.setattr(parsing, "parse_parameters", counted)
    extra = {} if outcome == "issued" else {"scope": "orders:write"}  # not granted
    response = token_request(http, demo, **extra)

    assert response.status_code == (200 if outcome == "issued" else 400), response.body
    assert len(calls) == 1
