"""Admin API for APIs (docs/admin-contract.md): create, list, read, update, delete,
and the RFC 9457 problem format every admin error shares."""

from __future__ import annotations

import base64
import json
from types import SimpleNamespace
from typing import Any

import pytest

from tests.conftest import AUDIENCE, AwsBackend, Demo
from tests.functional.admin_helpers import (
    INVENTORY,
    PROBLEM_PREFIX,
    PROBLEM_TYPE,
    enforce_dynamodb_key_size,
    error_fields,
    expect,
    new_api,
    new_app,
    problem,
    scopes,
    send,
)
from tests.functional.conftest import JSON, body_json

API_FIELDS = {"id", "identifier", "name", "scopes", "token_lifetime", "token_reuse", "created_at",
              "updated_at", "version", "sender_constrained_tokens_required"}


# ---- create --------------------------------------------------------------------


def test_create_api_answers_201_with_the_api_and_its_etag(http: Any) -> None:
    response = send(http, "POST", "/admin/apis", {
        "name": "Inventory", "identifier": INVENTORY,
        "scopes": scopes("inventory:read"), "token_lifetime": 600,
    })

    api = expect(response, 201)
    assert set(api) == API_FIELDS
    assert api["id"] and api["identifier"] == INVENTORY and api["name"] == "Inventory"
    assert api["scopes"] == [{"value": "inventory:read", "description": "inventory:read access"}]
    assert api["token_lifetime"] == 600
    assert api["created_at"].endswith("Z") and api["updated_at"] == api["created_at"]
    assert response.headers["ETag"] == f'"{api["version"]}"'
    assert response.headers["Content-Type"] == "application/json"


def test_create_api_without_lifetime_gets_the_default(http: Any) -> None:
    api = new_api(http)

    assert isinstance(api["token_lifetime"], int) and api["token_lifetime"] > 0


def test_create_api_lists_every_missing_required_field(http: Any) -> None:
    body = problem(send(http, "POST", "/admin/apis", {"scopes": []}), 400, "validation")

    assert sorted(error_fields(body)) == ["identifier", "name"]


def test_create_api_rejects_unknown_fields_by_name(http: Any) -> None:
    response = send(http, "POST", "/admin/apis",
                    {"name": "Inventory", "identifier": INVENTORY, "audience": "x"})

    assert error_fields(problem(response, 400, "validation")) == ["audience"]


def test_create_api_rejects_a_scope_that_is_not_a_scope_token(http: Any) -> None:
    for scope in ["has space", 'quote"', "back\\slash", "", "caf\u00e9"]:
        response = send(http, "POST", "/admin/apis",
                        {"name": "Inventory", "identifier": INVENTORY, "scopes": scopes(scope)})

        assert error_fields(problem(response, 400, "validation")) == ["scopes[0].value"], scope


def test_create_api_rejects_duplicate_scopes(http: Any) -> None:
    response = send(http, "POST", "/admin/apis", {
        "name": "Inventory", "identifier": INVENTORY,
        "scopes": scopes("inventory:read", "inventory:read"),
    })

    assert error_fields(problem(response, 400, "validation")) == ["scopes[1].value"]


def test_create_api_rejects_a_token_lifetime_out_of_range(http: Any) -> None:
    for lifetime in [0, -1, 59, 86401, 10**9, "600", True, 1.5]:
        response = send(http, "POST", "/admin/apis",
                        {"name": "Inventory", "identifier": INVENTORY, "token_lifetime": lifetime})

        assert error_fields(problem(response, 400, "validation")) == ["token_lifetime"], lifetime


def test_create_api_accepts_the_token_lifetime_bounds(http: Any) -> None:
    for n, lifetime in enumerate([60, 86400]):
        api = new_api(http, f"https://api.example.com/{n}", token_lifetime=lifetime)

        assert api["token_lifetime"] == lifetime


def test_create_api_with_a_taken_identifier_is_a_conflict(http: Any) -> None:
    new_api(http)

    response = send(http, "POST", "/admin/apis", {"name": "Again", "identifier": INVENTORY})

    problem(response, 409, "conflict")
    assert len(expect(http.get("/admin/apis"))["items"]) == 1


# ---- list ----------------------------------------------------------------------


def test_list_pages_through_apis_with_an_opaque_cursor(http: Any) -> None:
    created = {new_api(http, f"https://api.example.com/{n}")["id"] for n in ("a", "b", "c")}

    first = expect(http.get("/admin/apis?limit=2"))
    assert len(first["items"]) == 2
    cursor = first["next"]
    assert isinstance(cursor, str) and cursor
    assert not any(api_id in cursor for api_id in created)  # opaque, not a raw key

    second = expect(http.get(f"/admin/apis?limit=2&next={cursor}"))
    assert len(second["items"]) == 1
    assert second["next"] is None
    assert {a["id"] for a in first["items"] + second["items"]} == created


def test_list_without_limit_returns_everything_small_in_one_page(http: Any) -> None:
    new_api(http)

    listing = expect(http.get("/admin/apis"))

    assert [a["identifier"] for a in listing["items"]] == [INVENTORY]
    assert listing["next"] is None


def test_list_rejects_a_limit_outside_1_to_200(http: Any) -> None:
    for limit in ["0", "201", "abc", "-1", "1.5", ""]:
        body = problem(http.get(f"/admin/apis?limit={limit}"), 400, "validation")

        assert error_fields(body) == ["limit"], limit


def test_list_rejects_a_limit_of_non_ascii_digits(http: Any) -> None:
    body = problem(http.get("/admin/apis?limit=%C2%B2"), 400, "validation")

    assert error_fields(body) == ["limit"]


def test_list_accepts_the_limit_bounds(http: Any) -> None:
    new_api(http)

    for limit in ["1", "200"]:
        assert len(expect(http.get(f"/admin/apis?limit={limit}"))["items"]) == 1


def test_list_rejects_unknown_query_parameters(http: Any) -> None:
    body = problem(http.get("/admin/apis?page=2"), 400, "bad-request")

    assert "page" in body["detail"]


def _b64(value: bytes) -> str:
    return base64.urlsafe_b64encode(value).decode().rstrip("=")


def test_list_rejects_a_malformed_cursor_with_400(http: Any) -> None:
    for cursor in [
        "not-a-cursor!!",
        "%25%25%25",
        "%C3%A9",
        _b64(b"\xff\xfe"),
        _b64(b"[1,2]"),
        _b64(b'{"pk":{"N":"1"}}'),
    ]:
        problem(http.get(f"/admin/apis?next={cursor}"), 400, "bad-request")


def _like_dynamodb_refusing_foreign_start_keys(aws: AwsBackend) -> None:
    """Real DynamoDB answers ValidationException to an ExclusiveStartKey that is not made
    of the table's and index's key attributes; moto ignores it and returns a page."""
    keys = {"pk", "sk", "gsi1pk", "gsi1sk"}

    def before_query(params: dict[str, Any], **_: Any) -> Any:
        start = json.loads(params["body"]).get("ExclusiveStartKey")
        if start is None or set(start) <= keys:
            return None
        error = {"Error": {"Code": "ValidationException",
                           "Message": "The provided starting key is invalid"}}
        return SimpleNamespace(status_code=400, headers={}), error

    aws.dynamodb.meta.events.register("before-call.dynamodb.Query", before_query)


def test_list_rejects_a_cursor_with_foreign_key_names_with_400(
    http: Any, aws: AwsBackend
) -> None:
    # GIVEN DynamoDB's real answer to a forged start key (moto would return a page)
    _like_dynamodb_refusing_foreign_start_keys(aws)
    cursor = _b64(json.dumps({"nope": {"S": "x"}}).encode())

    # THEN it is refused as bad input, not passed on and answered with a 5xx
    problem(http.get(f"/admin/apis?next={cursor}"), 400, "bad-request")


@pytest.mark.parametrize("other_list", ["/admin/apps", "/admin/audit"])
def test_list_rejects_a_cursor_handed_out_by_another_list(http: Any, other_list: str) -> None:
    for n in range(2):
        new_app(http, f"App {n}")
    cursor = expect(http.get(f"{other_list}?limit=1"))["next"]
    assert cursor

    problem(http.get(f"/admin/apis?next={cursor}"), 400, "bad-request")


# ---- read ----------------------------------------------------------------------


def test_get_api_returns_it_with_its_etag(http: Any) -> None:
    created = new_api(http)

    response = http.get(f"/admin/apis/{created['id']}")

    assert expect(response) == created
    assert response.headers["ETag"] == f'"{created["version"]}"'


def test_get_unknown_api_is_not_found(http: Any) -> None:
    problem(http.get("/admin/apis/api_0000000000000000"), 404, "not-found")


# ---- update --------------------------------------------------------------------


def test_patch_changes_name_scopes_and_lifetime_and_bumps_the_version(http: Any) -> None:
    created = new_api(http)

    response = send(http, "PATCH", f"/admin/apis/{created['id']}", {
        "name": "Stock", "scopes": scopes("stock:read"), "token_lifetime": 900,
    })

    api = expect(response)
    assert api["name"] == "Stock"
    assert [s["value"] for s in api["scopes"]] == ["stock:read"]
    assert api["token_lifetime"] == 900
    assert api["identifier"] == INVENTORY
    assert api["version"] == created["version"] + 1
    assert response.headers["ETag"] == f'"{api["version"]}"'
    assert expect(http.get(f"/admin/apis/{created['id']}")) == api


def test_patch_cannot_change_the_identifier(http: Any) -> None:
    created = new_api(http)

    response = send(http, "PATCH", f"/admin/apis/{created['id']}",
                    {"identifier": "https://api.example.com/other"})

    assert error_fields(problem(response, 400, "validation")) == ["identifier"]
    assert expect(http.get(f"/admin/apis/{created['id']}"))["identifier"] == INVENTORY


def test_patch_rejects_invalid_changes_and_keeps_the_api(http: Any) -> None:
    created = new_api(http)
    path = f"/admin/apis/{created['id']}"

    for change, field in [
        ({"scopes": scopes("a b")}, "scopes[0].value"),
        ({"scopes": "inventory:read"}, "scopes"),
        ({"token_lifetime": 0}, "token_lifetime"),
        ({"token_lifetime": None}, "token_lifetime"),
        ({"name": ""}, "name"),
        ({"owner": "me"}, "owner"),
    ]:
        body = problem(send(http, "PATCH", path, change), 400, "validation")
        assert error_fields(body) == [field], change

    assert expect(http.get(path)) == created


def test_patch_with_a_stale_if_match_is_412_and_the_current_one_succeeds(http: Any) -> None:
    created = new_api(http)
    path = f"/admin/apis/{created['id']}"
    stale = http.get(path).headers["ETag"]
    expect(send(http, "PATCH", path, {"name": "First"}, {"If-Match": stale}))

    problem(send(http, "PATCH", path, {"name": "Second"}, {"If-Match": stale}),
            412, "precondition-failed")
    assert expect(http.get(path))["name"] == "First"

    current = http.get(path).headers["ETag"]
    response = send(http, "PATCH", path, {"name": "Second"}, {"If-Match": current})
    assert expect(response)["name"] == "Second"
    assert response.headers["ETag"] not in (current, stale)
    assert response.headers["ETag"] == http.get(path).headers["ETag"]


def test_patch_with_an_unparseable_if_match_is_412(http: Any) -> None:
    created = new_api(http)

    for tag in ["garbage", '"abc"', '"1", "2"', '""']:
        response = send(http, "PATCH", f"/admin/apis/{created['id']}", {"name": "X"},
                        {"If-Match": tag})

        problem(response, 412, "precondition-failed")
    assert expect(http.get(f"/admin/apis/{created['id']}")) == created


def test_patch_with_an_if_match_of_non_ascii_digits_is_412(http: Any) -> None:
    created = new_api(http)

    response = send(http, "PATCH", f"/admin/apis/{created['id']}", {"name": "X"},
                    {"If-Match": '"\u00b2"'})

    problem(response, 412, "precondition-failed")


def test_patch_accepts_a_wildcard_weak_or_strong_if_match(http: Any) -> None:
    created = new_api(http)
    assert created["version"] == 1

    for n, tag in enumerate(["*", 'W/"2"', '"3"']):
        response = send(http, "PATCH", f"/admin/apis/{created['id']}", {"name": f"N{n}"},
                        {"If-Match": tag})

        assert expect(response)["name"] == f"N{n}", tag


def test_patch_unknown_api_is_not_found(http: Any) -> None:
    problem(send(http, "PATCH", "/admin/apis/api_missing", {"name": "X"}), 404, "not-found")


# ---- delete --------------------------------------------------------------------


def test_delete_api_answers_204_then_it_is_gone(http: Any) -> None:
    created = new_api(http)

    response = http.delete(f"/admin/apis/{created['id']}")

    assert response.status_code == 204 and response.body == b""
    problem(http.get(f"/admin/apis/{created['id']}"), 404, "not-found")
    assert expect(http.get("/admin/apis"))["items"] == []


def test_delete_frees_the_identifier_for_a_new_api(http: Any) -> None:
    created = new_api(http)
    assert http.delete(f"/admin/apis/{created['id']}").status_code == 204

    assert new_api(http)["id"] != created["id"]


@pytest.mark.parametrize("path", ["/admin/apis/{id}", "/admin/apps/{id}",
                                  "/admin/apps/{id}/grants"])
def test_an_overlong_id_is_not_found_rather_than_a_store_failure(
    http: Any, aws: AwsBackend, path: str
) -> None:
    enforce_dynamodb_key_size(aws.dynamodb)

    problem(http.get(path.format(id="x" * 3000)), 404, "not-found")


def test_delete_unknown_api_is_not_found(http: Any) -> None:
    problem(http.delete("/admin/apis/api_missing"), 404, "not-found")


def test_delete_with_a_stale_if_match_is_412(http: Any) -> None:
    created = new_api(http)
    path = f"/admin/apis/{created['id']}"
    expect(send(http, "PATCH", path, {"name": "Renamed"}))

    problem(http.delete(path, headers={"If-Match": f'"{created["version"]}"'}),
            412, "precondition-failed")
    assert http.get(path).status_code == 200


def test_deleting_an_api_deletes_its_grants(http: Any, demo: Demo) -> None:
    assert [g["api_id"] for g in expect(http.get(f"/admin/apps/{demo.client_id}/grants"))[
        "items"]] == [demo.api_id]

    assert http.delete(f"/admin/apis/{demo.api_id}").status_code == 204

    assert expect(http.get(f"/admin/apps/{demo.client_id}/grants"))["items"] == []


# ---- the problem format every admin error shares --------------------------------


def test_malformed_json_is_a_400_problem(http: Any) -> None:
    response = http.post("/admin/apis", headers=JSON, body=b'{"name": "Inventory",')

    problem(response, 400, "bad-request")


def test_a_json_array_body_is_a_400_problem(http: Any) -> None:
    problem(send(http, "POST", "/admin/apis", [{"name": "Inventory"}]), 400, "bad-request")


def test_a_body_that_is_not_a_json_object_is_a_400_problem(http: Any) -> None:
    for raw in [b'"text"', b"42", b"null", b"\xff\xfe{}", b"[" * 60_000]:
        problem(http.post("/admin/apis", headers=JSON, body=raw), 400, "bad-request")


def test_a_body_over_64_kib_is_413(http: Any) -> None:
    body = json.dumps({"name": "x" * (64 * 1024), "identifier": INVENTORY}).encode()

    problem(http.post("/admin/apis", headers=JSON, body=body), 413, "payload-too-large")
    assert expect(http.get("/admin/apis"))["items"] == []


def test_a_body_of_exactly_64_kib_is_read(http: Any) -> None:
    padding = 64 * 1024 - len(json.dumps({"name": "", "identifier": INVENTORY}))
    body = json.dumps({"name": "x" * padding, "identifier": INVENTORY}).encode()
    assert len(body) == 64 * 1024

    # read (not 413); then refused by validation because the name is too long
    response = http.post("/admin/apis", headers=JSON, body=body)
    assert error_fields(problem(response, 400, "validation")) == ["name"]


def test_a_body_that_is_not_json_is_415(http: Any) -> None:
    for content_type in ["text/plain", "application/x-www-form-urlencoded"]:
        response = http.post("/admin/apis", headers={"Content-Type": content_type},
                             body=b"name=Inventory")

        problem(response, 415, "unsupported-media-type")


def test_a_body_without_content_type_is_read_as_json(http: Any) -> None:
    body = json.dumps({"name": "Inventory", "identifier": INVENTORY}).encode()

    assert http.post("/admin/apis", headers={}, body=body).status_code == 201


def test_json_with_a_charset_parameter_is_accepted(http: Any) -> None:
    body = json.dumps({"name": "Inventory", "identifier": INVENTORY}).encode()

    response = http.post("/admin/apis",
                         headers={"Content-Type": "application/json; charset=utf-8"}, body=body)

    assert response.status_code == 201, response.body


def _error_requests(http: Any, demo: Demo) -> list[tuple[Any, int]]:
    api_path = f"/admin/apis/{demo.api_id}"
    app_path = f"/admin/apps/{demo.client_id}"
    return [
        (send(http, "POST", "/admin/apis", {"name": ""}), 400),
        (http.get("/admin/apis?bogus=1"), 400),
        (http.post("/admin/apps", headers=JSON, body=b"{"), 400),
        (http.get("/admin/apps/c_missing"), 404),
        (http.get("/admin/apps/c_missing/grants"), 404),
        (http.delete(f"{app_path}/secrets/s_missing"), 404),
        (send(http, "POST", "/admin/apis", {"name": "Orders", "identifier": AUDIENCE}), 409),
        (send(http, "POST", "/admin/keys/rotate"), 409),
        (send(http, "PATCH", api_path, {"name": "X"}, {"If-Match": '"99"'}), 412),
        (send(http, "PATCH", app_path, {"name": "X"}, {"If-Match": '"99"'}), 412),
        (http.post("/admin/apps", headers=JSON, body=b" " * (64 * 1024 + 1)), 413),
        (http.put(f"{app_path}/grants/{demo.api_id}", headers={"Content-Type": "text/csv"},
                  body=b"a,b"), 415),
    ]


def test_every_admin_error_is_an_rfc_9457_problem(http: Any, demo: Demo) -> None:
    for response, status in _error_requests(http, demo):
        assert response.status_code == status, response.body
        assert response.headers["Content-Type"] == PROBLEM_TYPE
        body = body_json(response)
        assert body["type"].startswith(PROBLEM_PREFIX)
        assert body["status"] == status
        assert body["title"] and body["detail"]
        assert not {"Code", "Message"} & set(body)


def test_validation_problems_name_each_invalid_field_with_a_message(http: Any) -> None:
    body = problem(send(http, "POST", "/admin/apps", {"name": "", "token_lifetime": 0}),
                   400, "validation")

    assert sorted(error_fields(body)) == ["name", "token_lifetime"]
    assert all(isinstance(e["message"], str) and e["message"] for e in body["errors"])


def test_unknown_fields_are_reported_before_values_are_checked(http: Any) -> None:
    body = problem(send(http, "POST", "/admin/apps", {"name": "", "extra": 1, "other": 2}),
                   400, "validation")

    assert error_fields(body) == ["extra", "other"]


def test_problems_are_not_cached(http: Any) -> None:
    response = http.get("/admin/apis/api_missing")

    assert response.headers["Cache-Control"] == "no-store"


def test_a_new_app_is_listed_after_errors_left_nothing_behind(http: Any) -> None:
    # a refused create writes nothing: no app and no audit record
    problem(send(http, "POST", "/admin/apps", {"name": "", "claims": {"iss": "x"}}),
            400, "validation")
    assert expect(http.get("/admin/apps"))["items"] == []
    assert expect(http.get("/admin/audit"))["items"] == []

    new_app(http)
    assert len(expect(http.get("/admin/apps"))["items"]) == 1


# ---- the apps authorized for an API ------------------------------------------------


def test_lists_the_apps_authorized_for_an_api_with_their_scopes(
    http: Any, aws: AwsBackend
) -> None:
    # GIVEN an API, two apps granted some of its scopes and one app without a grant
    api = new_api(http)
    granted = sorted(new_app(http, f"Granted {n}")["client_id"] for n in range(2))
    new_app(http, "Not granted")
    send(http, "PUT", f"/admin/apps/{granted[0]}/grants/{api['id']}",
         {"scopes": ["inventory:read"]})
    send(http, "PUT", f"/admin/apps/{granted[1]}/grants/{api['id']}",
         {"scopes": ["inventory:read", "inventory:write"]})

    # WHEN its grants are listed
    aws.counter.reset()
    listed = expect(http.get(f"/admin/apis/{api['id']}/grants"))

    # THEN exactly the granted apps, by client_id, with their scopes, from two reads
    assert [(g["client_id"], g["scopes"]) for g in listed["items"]] == [
        (granted[0], ["inventory:read"]), (granted[1], ["inventory:read", "inventory:write"]),
    ]
    assert {g["audience"] for g in listed["items"]} == {INVENTORY}
    assert listed["next"] is None
    assert sum(aws.counter.calls.values()) == 2  # the API, then one index Query


def test_the_grants_of_an_api_page_with_limit_and_next(http: Any) -> None:
    api = new_api(http)
    apps = sorted(new_app(http, f"App {n}")["client_id"] for n in range(3))
    for client_id in apps:
        send(http, "PUT", f"/admin/apps/{client_id}/grants/{api['id']}",
             {"scopes": ["inventory:read"]})

    first = expect(http.get(f"/admin/apis/{api['id']}/grants?limit=2"))
    rest = expect(http.get(f"/admin/apis/{api['id']}/grants?limit=2&next={first['next']}"))

    assert [g["client_id"] for g in first["items"] + rest["items"]] == apps
    assert rest["next"] is None


def test_the_grants_of_an_unknown_api_are_404(http: Any) -> None:
    problem(http.get("/admin/apis/api_unknown/grants"), 404, "not-found")
    problem(http.get("/admin/apis/" + "x" * 3000 + "/grants"), 404, "not-found")
