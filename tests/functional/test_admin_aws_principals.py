"""Admin API for the IAM principals an app authenticates as (docs/aws-iam-auth.md):
add, list, remove; RFC 9457 problems; If-Match on the app's version; one audit record
per change."""

from __future__ import annotations

from typing import Any

import pytest

from chalicelib.admin.aws_principals import MAX_AWS_PRINCIPALS
from tests.fakes import FakeClock
from tests.functional.admin_helpers import (
    ADMIN_ARN,
    audit_log,
    caller_identity,
    error_fields,
    expect,
    new_app,
    new_audit_records,
    problem,
    send,
)

ROLE = "arn:aws:iam::123456789012:role/service-role/Billing"
USER = "arn:aws:iam::123456789012:user/ci/deployer"


def path(client_id: str, *rest: str) -> str:
    return "/".join([f"/admin/apps/{client_id}/aws-principals", *rest])


def add(http: Any, client_id: str, arn: str, headers: dict[str, str] | None = None) -> Any:
    return send(http, "POST", path(client_id), {"arn": arn}, headers)


def test_add_returns_the_principal_with_its_normal_form_and_the_apps_new_etag(
    http: Any,
) -> None:
    app = new_app(http)

    response = add(http, app["client_id"], ROLE)

    body = expect(response, 201)
    assert set(body) == {"id", "arn", "principal", "created_at"}
    assert body["id"].startswith("awsp_") and body["arn"] == ROLE
    assert body["principal"] == "arn:aws:iam::123456789012:role/billing"
    assert response.headers["ETag"] == f'"{app["version"] + 1}"'
    assert expect(http.get(f"/admin/apps/{app['client_id']}"))["version"] == app["version"] + 1


def test_list_shows_principals_oldest_first_with_the_apps_etag(
    http: Any, clock: FakeClock
) -> None:
    app = new_app(http)
    first = expect(add(http, app["client_id"], ROLE), 201)
    clock.advance(1)
    second = expect(add(http, app["client_id"], USER), 201)

    response = http.get(path(app["client_id"]))

    assert expect(response) == {"items": [first, second], "next": None}
    assert response.headers["ETag"] == f'"{app["version"] + 2}"'
    page = expect(http.get(path(app["client_id"]) + "?limit=1"))
    assert page["items"] == [first] and page["next"]
    rest = expect(http.get(path(app["client_id"]) + f"?limit=1&next={page['next']}"))
    assert rest == {"items": [second], "next": None}


def test_remove_deletes_the_principal(http: Any) -> None:
    app = new_app(http)
    created = expect(add(http, app["client_id"], ROLE), 201)

    response = http.delete(path(app["client_id"], created["id"]))

    assert response.status_code == 204
    assert expect(http.get(path(app["client_id"])))["items"] == []


@pytest.mark.parametrize(
    "arn",
    [
        "arn:aws:iam::123456789012:root",
        "arn:aws:sts::123456789012:assumed-role/Billing/session",
        "arn:aws:iam::123456789012:group/admins",
        "arn:aws:iam::12345:role/Billing",
        "arn:aws:s3:::bucket",
        "role/Billing",
        "arn:aws:iam::123456789012:role/" + "x" * 65,
        "arn:aws:iam::123456789012:role/Bill ing",
        # IAM names are ASCII: a Kelvin sign lower-cases to "k", so this would be bound
        # to the role "keys" while the admin sees another name; digits of other scripts
        "arn:aws:iam::123456789012:role/\u212aeys",
        "arn:aws:iam::123456789012:user/D\u00e9ploy",
        "arn:aws:iam::\u0661\u0662\u0663456789012:role/Billing",
        "arn:aws:iam::123456789012:role/Bill\u00e9",  # IAM names are ASCII (openapi.json)
        "arn:aws:iam::\u0661\u0662\u0663\u0664\u0665\u0666\u0667\u0668\u0669\u0660\u0661\u0662:role/B",
        "",
        42,
        None,
    ],
)
def test_rejects_what_is_not_a_role_or_user_arn(http: Any, arn: Any) -> None:
    app = new_app(http)

    body = problem(send(http, "POST", path(app["client_id"]), {"arn": arn}), 400, "validation")

    assert error_fields(body) == ["arn"]


def test_rejects_unknown_and_missing_fields(http: Any) -> None:
    app = new_app(http)

    body = problem(send(http, "POST", path(app["client_id"]), {"role": ROLE}), 400,
                   "validation")
    assert sorted(error_fields(body)) == ["arn", "role"]


def test_rejects_the_same_principal_twice_even_by_another_path_or_case(http: Any) -> None:
    app = new_app(http)
    expect(add(http, app["client_id"], ROLE), 201)

    problem(add(http, app["client_id"], "arn:aws:iam::123456789012:role/BILLING"), 409,
            "conflict")


def test_the_same_principal_may_be_listed_by_several_apps(http: Any) -> None:
    for name in ("One", "Two"):
        expect(add(http, new_app(http, name)["client_id"], ROLE), 201)


def test_rejects_more_than_the_limit(http: Any) -> None:
    app = new_app(http)
    for n in range(MAX_AWS_PRINCIPALS):
        expect(add(http, app["client_id"], f"arn:aws:iam::123456789012:role/r{n}"), 201)

    problem(add(http, app["client_id"], ROLE), 409, "conflict")


def test_if_match_guards_add_and_remove_with_the_apps_version(http: Any) -> None:
    app = new_app(http)
    stale = {"If-Match": f'"{app["version"] + 5}"'}

    problem(add(http, app["client_id"], ROLE, stale), 412, "precondition-failed")
    response = add(http, app["client_id"], ROLE, {"If-Match": f'"{app["version"]}"'})
    created = expect(response, 201)

    problem(http.delete(path(app["client_id"], created["id"]), headers=stale), 412,
            "precondition-failed")
    response = http.delete(path(app["client_id"], created["id"]),
                           headers={"If-Match": response.headers["ETag"]})
    assert response.status_code == 204


def test_unknown_app_or_principal_is_404(http: Any) -> None:
    app = new_app(http)

    problem(add(http, "a" * 26, ROLE), 404, "not-found")
    problem(http.get(path("nope")), 404, "not-found")
    problem(http.delete(path(app["client_id"], "awsp_0000000000000000")), 404, "not-found")
    problem(http.delete(path(app["client_id"], "sec_0000000000000000")), 404, "not-found")


def test_each_change_leaves_one_audit_record_with_the_caller(http: Any) -> None:
    app = new_app(http)
    before = audit_log(http)

    with caller_identity(ADMIN_ARN, "req-1"):
        created = expect(add(http, app["client_id"], ROLE), 201)
        assert http.delete(path(app["client_id"], created["id"])).status_code == 204

    records = new_audit_records(http, before)
    assert [r["action"] for r in records] == ["aws_principal.delete", "aws_principal.create"]
    for record in records:
        assert record["actor"] == ADMIN_ARN
        assert record["target"] == f"app/{app['client_id']}/aws-principals/{created['id']}"
        assert record["changes"] == {"principal_id": created["id"], "arn": ROLE}


def test_deleting_the_app_removes_its_principals(http: Any) -> None:
    app = new_app(http)
    expect(add(http, app["client_id"], ROLE), 201)

    assert http.delete(f"/admin/apps/{app['client_id']}").status_code == 204

    problem(http.get(path(app["client_id"])), 404, "not-found")
