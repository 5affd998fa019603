"""Admin API for apps, their secrets and their grants (docs/admin-contract.md)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.conftest import AUDIENCE, AwsBackend, Demo
from tests.fakes import FakeClock
from tests.functional.admin_helpers import (
    HASH_PREFIX,
    assert_no_secret_material,
    error_fields,
    expect,
    new_api,
    new_app,
    problem,
    send,
)
from tests.functional.conftest import body_json, token_request

APP_FIELDS = {"client_id", "name", "description", "enabled", "claims", "token_lifetime",
              "permissions", "revoked_before", "quota", "secrets", "created_at", "updated_at",
              "version", "last_used", "dpop_bound_access_tokens",
              "tls_client_certificate_bound_access_tokens"}
SECRET_FIELDS = {"secret_id", "created_at", "expires_at", "last_used"}


def _app(http: Any, client_id: str) -> dict[str, Any]:
    found: dict[str, Any] = expect(http.get(f"/admin/apps/{client_id}"))
    return found


# ---- create --------------------------------------------------------------------


def test_create_app_returns_its_credentials_once(http: Any) -> None:
    response = send(http, "POST", "/admin/apps", {
        "name": "Reporting job", "description": "Nightly reports",
        "claims": {"tenant": "acme"}, "token_lifetime": 600, "permissions": ["introspect"],
    })

    app = expect(response, 201)
    assert set(app) == APP_FIELDS | {"client_secret", "secret_id"}
    assert app["client_id"] and app["enabled"] is True
    assert app["client_secret"].startswith("m2msec_")
    assert app["description"] == "Nightly reports" and app["claims"] == {"tenant": "acme"}
    assert app["token_lifetime"] == 600 and app["permissions"] == ["introspect"]
    assert app["revoked_before"] is None
    [secret] = app["secrets"]
    assert secret == {"secret_id": app["secret_id"], "created_at": app["created_at"],
                      "expires_at": None, "last_used": None}
    assert response.headers["ETag"] == f'"{app["version"]}"'
    assert not app["client_secret"].startswith(HASH_PREFIX)


def test_create_app_needs_only_a_name(http: Any) -> None:
    app = new_app(http)

    assert app["description"] == "" and app["claims"] == {} and app["permissions"] == []
    assert app["token_lifetime"] is None


def test_create_app_without_a_name_is_a_validation_problem(http: Any) -> None:
    body = problem(send(http, "POST", "/admin/apps", {"description": "x"}), 400, "validation")

    assert error_fields(body) == ["name"]


def test_create_app_rejects_unknown_fields(http: Any) -> None:
    body = problem(send(http, "POST", "/admin/apps", {"name": "A", "client_secret": "mine"}),
                   400, "validation")

    assert error_fields(body) == ["client_secret"]


def test_claims_may_not_use_a_reserved_name(http: Any) -> None:
    for claim in ["iss", "sub", "aud", "exp", "iat", "jti", "scope", "client_id"]:
        body = problem(send(http, "POST", "/admin/apps", {"name": "A", "claims": {claim: "x"}}),
                       400, "validation")

        assert error_fields(body) == [f"claims.{claim}"]
    assert expect(http.get("/admin/apps"))["items"] == []


def test_unknown_permission_is_a_validation_problem(http: Any) -> None:
    body = problem(send(http, "POST", "/admin/apps", {"name": "A", "permissions": ["admin"]}),
                   400, "validation")

    assert error_fields(body) == ["permissions"]


# ---- read and list -------------------------------------------------------------


def test_get_app_shows_secret_metadata_never_a_secret_or_hash(http: Any) -> None:
    created = new_app(http)

    response = http.get(f"/admin/apps/{created['client_id']}")

    app = expect(response)
    assert set(app) == APP_FIELDS
    assert [set(s) for s in app["secrets"]] == [SECRET_FIELDS]
    assert app["secrets"][0]["secret_id"] == created["secret_id"]
    assert created["client_secret"] not in response.body.decode()
    assert_no_secret_material(app)
    assert response.headers["ETag"] == f'"{app["version"]}"'


def test_list_apps_omits_secrets_and_paginates(http: Any) -> None:
    created = [new_app(http, f"App {n}") for n in range(3)]

    first = expect(http.get("/admin/apps?limit=2"))
    second = expect(http.get(f"/admin/apps?limit=2&next={first['next']}"))

    items = first["items"] + second["items"]
    assert {a["client_id"] for a in items} == {a["client_id"] for a in created}
    assert second["next"] is None
    assert all(set(a) == APP_FIELDS - {"secrets"} for a in items)
    raw = json.dumps(items)
    assert not any(a["client_secret"] in raw for a in created)
    assert_no_secret_material(items)


def test_list_apps_rejects_bad_query_parameters(http: Any) -> None:
    for query, slug in [
        ("limit=0", "validation"), ("limit=201", "validation"), ("limit=x", "validation"),
        ("offset=2", "bad-request"), ("next=%25%25", "bad-request"),
    ]:
        problem(http.get(f"/admin/apps?{query}"), 400, slug)


def test_get_unknown_app_is_not_found(http: Any) -> None:
    problem(http.get("/admin/apps/c_unknown"), 404, "not-found")


def test_last_used_is_recorded_when_a_secret_authenticates(http: Any, demo: Demo) -> None:
    [before] = _app(http, demo.client_id)["secrets"]
    assert before["last_used"] is None

    assert token_request(http, demo).status_code == 200

    [after] = _app(http, demo.client_id)["secrets"]
    assert after["secret_id"] == demo.secret_id
    assert after["last_used"] is not None and after["last_used"].endswith("Z")


def test_the_app_list_shows_each_apps_last_use_from_one_query(
    http: Any, demo: Demo, aws: AwsBackend
) -> None:
    # GIVEN the demo app got a token and two other apps never authenticated
    idle = [new_app(http, f"Idle {n}")["client_id"] for n in range(2)]
    assert token_request(http, demo).status_code == 200

    # WHEN the apps are listed
    aws.counter.reset()
    listed = {a["client_id"]: a for a in expect(http.get("/admin/apps"))["items"]}

    # THEN each item carries its last use, and the list cost one Query: no read per app
    assert listed[demo.client_id]["last_used"].endswith("Z")
    assert [listed[c]["last_used"] for c in idle] == [None, None]
    assert dict(aws.counter.calls) == {"dynamodb:Query": 1}
    assert _app(http, demo.client_id)["last_used"] == listed[demo.client_id]["last_used"]


# ---- update --------------------------------------------------------------------


def test_patch_changes_every_mutable_field(http: Any) -> None:
    created = new_app(http)

    response = send(http, "PATCH", f"/admin/apps/{created['client_id']}", {
        "name": "Renamed", "description": "New", "claims": {"team": "data"},
        "token_lifetime": 300, "permissions": ["introspect"], "enabled": False,
    })

    app = expect(response)
    assert (app["name"], app["description"], app["claims"], app["token_lifetime"],
            app["permissions"], app["enabled"]) == (
        "Renamed", "New", {"team": "data"}, 300, ["introspect"], False)
    assert app["version"] == created["version"] + 1
    assert response.headers["ETag"] == f'"{app["version"]}"'
    assert _app(http, created["client_id"]) == app
    assert_no_secret_material(app)


def test_patch_enabled_false_blocks_and_true_unblocks(http: Any, demo: Demo) -> None:
    # (that a block refuses the next token request is in test_admin_effects.py)
    path = f"/admin/apps/{demo.client_id}"

    blocked = expect(send(http, "PATCH", path, {"enabled": False}))
    assert blocked["enabled"] is False and _app(http, demo.client_id)["enabled"] is False
    assert [s["secret_id"] for s in blocked["secrets"]] == [demo.secret_id]  # secrets kept

    unblocked = expect(send(http, "PATCH", path, {"enabled": True}))
    assert unblocked["enabled"] is True and _app(http, demo.client_id)["enabled"] is True
    assert unblocked["version"] == blocked["version"] + 1


def test_patch_rejects_invalid_changes(http: Any) -> None:
    created = new_app(http)
    path = f"/admin/apps/{created['client_id']}"

    for change, field in [
        ({"claims": {"exp": 1}}, "claims.exp"),
        ({"claims": ["a"]}, "claims"),
        ({"permissions": ["superuser"]}, "permissions"),
        ({"enabled": "no"}, "enabled"),
        ({"enabled": None}, "enabled"),
        ({"token_lifetime": 0}, "token_lifetime"),
        ({"name": ""}, "name"),
        ({"client_id": "c_other"}, "client_id"),
        ({"secrets": []}, "secrets"),
    ]:
        body = problem(send(http, "PATCH", path, change), 400, "validation")
        assert error_fields(body) == [field], change

    assert _app(http, created["client_id"])["version"] == created["version"]


def test_patch_with_a_stale_if_match_is_412(http: Any) -> None:
    created = new_app(http)
    path = f"/admin/apps/{created['client_id']}"
    stale = f'"{created["version"]}"'
    expect(send(http, "PATCH", path, {"name": "One"}, {"If-Match": stale}))

    problem(send(http, "PATCH", path, {"name": "Two"}, {"If-Match": stale}),
            412, "precondition-failed")
    assert _app(http, created["client_id"])["name"] == "One"


def test_patch_unknown_app_is_not_found(http: Any) -> None:
    problem(send(http, "PATCH", "/admin/apps/c_unknown", {"name": "X"}), 404, "not-found")


# ---- delete and revoke-tokens --------------------------------------------------


def test_delete_app_answers_204_and_its_secret_stops_working(http: Any, demo: Demo) -> None:
    assert token_request(http, demo).status_code == 200

    response = http.delete(f"/admin/apps/{demo.client_id}")

    assert response.status_code == 204 and response.body == b""
    problem(http.get(f"/admin/apps/{demo.client_id}"), 404, "not-found")
    refused = token_request(http, demo)
    assert refused.status_code == 401
    assert body_json(refused)["error"] == "invalid_client"


def test_delete_unknown_app_is_not_found(http: Any) -> None:
    problem(http.delete("/admin/apps/c_unknown"), 404, "not-found")


def test_delete_app_with_a_stale_if_match_is_412(http: Any) -> None:
    created = new_app(http)
    path = f"/admin/apps/{created['client_id']}"
    expect(send(http, "PATCH", path, {"name": "Renamed"}))

    problem(http.delete(path, headers={"If-Match": f'"{created["version"]}"'}),
            412, "precondition-failed")
    assert http.get(path).status_code == 200


def test_revoke_tokens_sets_revoked_before(http: Any) -> None:
    created = new_app(http)

    response = send(http, "POST", f"/admin/apps/{created['client_id']}/revoke-tokens")

    app = expect(response)
    assert app["revoked_before"] is not None and app["revoked_before"].endswith("Z")
    assert app["version"] == created["version"] + 1
    assert _app(http, created["client_id"])["revoked_before"] == app["revoked_before"]
    assert_no_secret_material(app)


def test_revoke_tokens_of_unknown_app_is_not_found(http: Any) -> None:
    problem(send(http, "POST", "/admin/apps/c_unknown/revoke-tokens"), 404, "not-found")


def test_revoke_tokens_takes_no_fields(http: Any) -> None:
    created = new_app(http)

    body = problem(send(http, "POST", f"/admin/apps/{created['client_id']}/revoke-tokens",
                        {"before": "2020-01-01T00:00:00Z"}), 400, "validation")

    assert error_fields(body) == ["before"]


# ---- secrets -------------------------------------------------------------------


def test_add_secret_returns_it_once_with_its_expiry(http: Any, demo: Demo) -> None:
    response = send(http, "POST", f"/admin/apps/{demo.client_id}/secrets", {"expires_in": 3600})

    secret = expect(response, 201)
    assert set(secret) == {"secret_id", "client_secret", "created_at", "expires_at"}
    assert secret["client_secret"].startswith("m2msec_")
    assert secret["expires_at"] is not None and secret["expires_at"] > secret["created_at"]
    listed = {s["secret_id"]: s for s in _app(http, demo.client_id)["secrets"]}
    assert set(listed) == {demo.secret_id, secret["secret_id"]}
    assert listed[secret["secret_id"]]["expires_at"] == secret["expires_at"]
    assert listed[secret["secret_id"]]["last_used"] is None
    assert secret["client_secret"] not in http.get(f"/admin/apps/{demo.client_id}").body.decode()


def test_add_secret_without_expiry_never_expires(http: Any, demo: Demo) -> None:
    secret = expect(send(http, "POST", f"/admin/apps/{demo.client_id}/secrets"), 201)

    assert secret["expires_at"] is None


def test_add_secret_rejects_invalid_fields(http: Any, demo: Demo) -> None:
    for body, field in [
        ({"expires_in": 59}, "expires_in"),
        ({"expires_in": 315_360_001}, "expires_in"),
        ({"expires_in": "3600"}, "expires_in"),
        ({"expires_in": True}, "expires_in"),
        ({"secret": "mine"}, "secret"),
    ]:
        response = send(http, "POST", f"/admin/apps/{demo.client_id}/secrets", body)

        assert error_fields(problem(response, 400, "validation")) == [field], body
    assert len(_app(http, demo.client_id)["secrets"]) == 1


def test_a_fourth_active_secret_is_a_conflict(http: Any, demo: Demo) -> None:
    path = f"/admin/apps/{demo.client_id}/secrets"
    for _ in range(2):
        expect(send(http, "POST", path), 201)

    problem(send(http, "POST", path), 409, "conflict")
    assert len(_app(http, demo.client_id)["secrets"]) == 3


def test_expired_secrets_do_not_count_toward_the_limit(
    http: Any, demo: Demo, clock: FakeClock
) -> None:
    path = f"/admin/apps/{demo.client_id}/secrets"
    for _ in range(2):
        expect(send(http, "POST", path, {"expires_in": 60}), 201)
    problem(send(http, "POST", path), 409, "conflict")

    clock.advance(61)

    expect(send(http, "POST", path), 201)


def test_revoking_a_secret_frees_a_slot(http: Any, demo: Demo) -> None:
    path = f"/admin/apps/{demo.client_id}/secrets"
    for _ in range(2):
        expect(send(http, "POST", path), 201)

    response = http.delete(f"{path}/{demo.secret_id}")

    assert response.status_code == 204 and response.body == b""
    assert demo.secret_id not in {s["secret_id"] for s in _app(http, demo.client_id)["secrets"]}
    expect(send(http, "POST", path), 201)


def test_revoking_an_unknown_secret_is_not_found(http: Any, demo: Demo) -> None:
    problem(http.delete(f"/admin/apps/{demo.client_id}/secrets/s_unknown"), 404, "not-found")


def test_revoking_a_secret_twice_is_not_found(http: Any, demo: Demo) -> None:
    path = f"/admin/apps/{demo.client_id}/secrets/{demo.secret_id}"
    assert http.delete(path).status_code == 204

    problem(http.delete(path), 404, "not-found")


def test_secrets_of_an_unknown_app_are_not_found(http: Any, demo: Demo) -> None:
    problem(send(http, "POST", "/admin/apps/c_unknown/secrets"), 404, "not-found")
    problem(http.delete(f"/admin/apps/c_unknown/secrets/{demo.secret_id}"), 404, "not-found")


def test_a_secret_of_another_app_cannot_be_revoked_through_this_one(
    http: Any, demo: Demo
) -> None:
    other = new_app(http)

    problem(http.delete(f"/admin/apps/{other['client_id']}/secrets/{demo.secret_id}"),
            404, "not-found")
    assert token_request(http, demo).status_code == 200


# ---- grants --------------------------------------------------------------------


def test_put_grant_answers_200_with_the_grant(http: Any, demo: Demo) -> None:
    api = new_api(http)
    path = f"/admin/apps/{demo.client_id}/grants/{api['id']}"

    response = send(http, "PUT", path, {"scopes": ["inventory:read"]})

    grant = expect(response)
    assert grant == {"api_id": api["id"], "audience": api["identifier"],
                     "scopes": ["inventory:read"], "version": 1}
    assert response.headers["ETag"] == '"1"'


def test_put_grant_replaces_the_scopes_of_an_existing_grant(http: Any, demo: Demo) -> None:
    path = f"/admin/apps/{demo.client_id}/grants/{demo.api_id}"

    grant = expect(send(http, "PUT", path, {"scopes": ["orders:write"]}))

    assert grant["scopes"] == ["orders:write"] and grant["version"] == 2
    [listed] = expect(http.get(f"/admin/apps/{demo.client_id}/grants"))["items"]
    assert listed == grant


def test_put_grant_with_a_scope_the_api_lacks_is_400(http: Any, demo: Demo) -> None:
    path = f"/admin/apps/{demo.client_id}/grants/{demo.api_id}"

    body = problem(send(http, "PUT", path, {"scopes": ["orders:delete", "orders:read"]}),
                   400, "validation")

    assert error_fields(body) == ["scopes[0]"]


def test_put_grant_rejects_invalid_bodies(http: Any, demo: Demo) -> None:
    path = f"/admin/apps/{demo.client_id}/grants/{demo.api_id}"

    for body, field in [
        ({}, "scopes"),
        ({"scopes": []}, "scopes"),
        ({"scopes": "orders:read"}, "scopes"),
        ({"scopes": [1]}, "scopes"),
        ({"scopes": ["orders:read"], "audience": AUDIENCE}, "audience"),
    ]:
        response = send(http, "PUT", path, body)

        assert error_fields(problem(response, 400, "validation")) == [field], body
    [grant] = expect(http.get(f"/admin/apps/{demo.client_id}/grants"))["items"]
    assert grant["version"] == 1


def test_put_grant_for_an_unknown_api_is_not_found(http: Any, demo: Demo) -> None:
    response = send(http, "PUT", f"/admin/apps/{demo.client_id}/grants/api_unknown",
                    {"scopes": ["orders:read"]})

    problem(response, 404, "not-found")


def test_put_grant_for_an_unknown_app_is_not_found(http: Any, demo: Demo) -> None:
    response = send(http, "PUT", f"/admin/apps/c_unknown/grants/{demo.api_id}",
                    {"scopes": ["orders:read"]})

    problem(response, 404, "not-found")


def test_put_grant_with_a_stale_if_match_is_412(http: Any, demo: Demo) -> None:
    path = f"/admin/apps/{demo.client_id}/grants/{demo.api_id}"
    stale = send(http, "PUT", path, {"scopes": ["orders:read"]}).headers["ETag"]
    expect(send(http, "PUT", path, {"scopes": ["orders:write"]}, {"If-Match": stale}))

    problem(send(http, "PUT", path, {"scopes": ["orders:read"]}, {"If-Match": stale}),
            412, "precondition-failed")
    [grant] = expect(http.get(f"/admin/apps/{demo.client_id}/grants"))["items"]
    assert grant["scopes"] == ["orders:write"]


def test_put_new_grant_with_an_if_match_is_412(http: Any, demo: Demo) -> None:
    api = new_api(http)

    response = send(http, "PUT", f"/admin/apps/{demo.client_id}/grants/{api['id']}",
                    {"scopes": ["inventory:read"]}, {"If-Match": '"1"'})

    problem(response, 412, "precondition-failed")


def test_list_grants_of_an_app(http: Any, demo: Demo) -> None:
    api = new_api(http)
    expect(send(http, "PUT", f"/admin/apps/{demo.client_id}/grants/{api['id']}",
                {"scopes": ["inventory:write"]}))

    listing = expect(http.get(f"/admin/apps/{demo.client_id}/grants"))

    assert {(g["audience"], tuple(g["scopes"])) for g in listing["items"]} == {
        (AUDIENCE, ("orders:read",)), (api["identifier"], ("inventory:write",))}
    assert listing["next"] is None


def test_list_grants_of_an_unknown_app_is_not_found(http: Any) -> None:
    problem(http.get("/admin/apps/c_unknown/grants"), 404, "not-found")


def test_delete_grant_answers_204_then_404(http: Any, demo: Demo) -> None:
    path = f"/admin/apps/{demo.client_id}/grants/{demo.api_id}"

    response = http.delete(path)

    assert response.status_code == 204 and response.body == b""
    assert expect(http.get(f"/admin/apps/{demo.client_id}/grants"))["items"] == []
    problem(http.delete(path), 404, "not-found")


def test_delete_grant_with_a_stale_if_match_is_412(http: Any, demo: Demo) -> None:
    path = f"/admin/apps/{demo.client_id}/grants/{demo.api_id}"
    stale = send(http, "PUT", path, {"scopes": ["orders:read"]}).headers["ETag"]
    current = send(http, "PUT", path, {"scopes": ["orders:write"]}).headers["ETag"]

    problem(http.delete(path, headers={"If-Match": stale}), 412, "precondition-failed")
    assert len(expect(http.get(f"/admin/apps/{demo.client_id}/grants"))["items"]) == 1

    assert http.delete(path, headers={"If-Match": current}).status_code == 204
    assert expect(http.get(f"/admin/apps/{demo.client_id}/grants"))["items"] == []


def test_list_grants_pages_with_limit_and_next(http: Any, demo: Demo) -> None:
    for n in range(2):
        api = new_api(http, f"https://api.example.com/{n}")
        expect(send(http, "PUT", f"/admin/apps/{demo.client_id}/grants/{api['id']}",
                    {"scopes": ["inventory:read"]}))
    path = f"/admin/apps/{demo.client_id}/grants"

    seen: list[str] = []
    cursor: str | None = None
    for _ in range(3):
        listing = expect(http.get(f"{path}?limit=1" + (f"&next={cursor}" if cursor else "")))
        assert len(listing["items"]) == 1
        seen.append(listing["items"][0]["api_id"])
        cursor = listing["next"]
    assert cursor is None
    assert sorted(seen) == sorted(g["api_id"] for g in expect(http.get(path))["items"])
    assert len(set(seen)) == 3


def test_list_grants_rejects_bad_query_parameters(http: Any, demo: Demo) -> None:
    for query, slug in [
        ("bogus=1", "bad-request"), ("limit=0", "validation"), ("limit=201", "validation"),
    ]:
        problem(http.get(f"/admin/apps/{demo.client_id}/grants?{query}"), 400, slug)


@pytest.mark.parametrize("list_path", ["/admin/apps/{client_id}/grants", "/admin/keys"])
def test_in_memory_paged_lists_reject_a_non_ascii_cursor_with_400(
    http: Any, demo: Demo, list_path: str
) -> None:
    path = list_path.format(client_id=demo.client_id)

    problem(http.get(f"{path}?next=%C3%A9"), 400, "bad-request")


@pytest.mark.parametrize("cursor", ["%25%25", "!!!!"])
def test_list_grants_rejects_a_cursor_it_never_handed_out(
    http: Any, demo: Demo, cursor: str
) -> None:
    problem(http.get(f"/admin/apps/{demo.client_id}/grants?next={cursor}"), 400, "bad-request")


def test_delete_grant_of_an_unknown_app_is_not_found(http: Any, demo: Demo) -> None:
    problem(http.delete(f"/admin/apps/c_unknown/grants/{demo.api_id}"), 404, "not-found")
