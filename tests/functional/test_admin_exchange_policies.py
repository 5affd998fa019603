"""Token-exchange policies through the admin API (docs/token-exchange.md): PUT, GET and
DELETE under /admin/apps/{client_id}/exchange-policies, with validation as RFC 9457
problems, versions (ETag, If-Match), the audit trail, and the token path seeing every
change at once."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from chalicelib import runtime
from tests.conftest import AwsBackend
from tests.fakes import FakeClock
from tests.functional.admin_helpers import (
    audit_log,
    error_fields,
    expect,
    new_api,
    new_app,
    problem,
    send,
)
from tests.functional.local_mode import NoDns, chalice_http, local_services

WAREHOUSE = "https://api.example.com/warehouse"


@pytest.fixture
def services(aws: AwsBackend, clock: FakeClock) -> runtime.Services:
    return local_services(aws, clock, NoDns())


@pytest.fixture
def http(services: runtime.Services) -> Iterator[Any]:
    yield from chalice_http(services)


@pytest.fixture
def ids(http: Any) -> dict[str, str]:
    source = new_api(http)  # Inventory, the source
    target = new_api(http, WAREHOUSE, ("stock:read", "stock:write"), name="Warehouse")
    caller = new_app(http, "Inventory service")
    return {"source": source["id"], "target": target["id"], "caller": caller["client_id"]}


def path(ids: dict[str, str]) -> str:
    return f"/admin/apps/{ids['caller']}/exchange-policies/{ids['target']}"


def test_put_get_and_delete_a_policy(http: Any, ids: dict[str, str]) -> None:
    put = send(http, "PUT", path(ids), {"source_apis": [ids["source"]],
                                        "scopes": ["stock:read"], "max_act_depth": 2})

    created = expect(put)
    assert put.headers["ETag"] == '"1"'
    assert created["target_audience"] == WAREHOUSE
    assert created["source_audiences"] == ["https://api.example.com/inventory"]
    assert (created["delegation"], created["impersonation"], created["max_act_depth"]) == (
        True, False, 2)
    listed = expect(http.get(f"/admin/apps/{ids['caller']}/exchange-policies"))
    assert listed == {"items": [created], "next": None}
    [record] = [r for r in audit_log(http) if r["action"] == "exchange_policy.set"]
    assert record["target"] == f"app/{ids['caller']}/exchange-policies/{ids['target']}"
    assert record["changes"]["scopes"] == ["stock:read"]

    assert send(http, "DELETE", path(ids), headers={"If-Match": '"1"'}).status_code == 204
    assert expect(http.get(f"/admin/apps/{ids['caller']}/exchange-policies"))["items"] == []
    assert any(r["action"] == "exchange_policy.remove" for r in audit_log(http))
    problem(send(http, "DELETE", path(ids)), 404, "not-found")


def test_put_honours_if_match(http: Any, ids: dict[str, str]) -> None:
    body = {"source_apis": [ids["source"]], "scopes": ["stock:read"]}
    expect(send(http, "PUT", path(ids), body))

    stale = send(http, "PUT", path(ids), body, headers={"If-Match": '"7"'})
    fresh = send(http, "PUT", path(ids), {**body, "scopes": ["stock:write"]},
                 headers={"If-Match": '"1"'})

    problem(stale, 412, "precondition-failed")
    assert expect(fresh)["version"] == 2 and fresh.headers["ETag"] == '"2"'


@pytest.mark.parametrize(("body", "field"), [
    ({"scopes": ["stock:read"]}, "source_apis"),                          # no source
    ({"source_apis": ["api_0000000000000000"], "scopes": ["stock:read"]}, "source_apis[0]"),
    ({"source_apis": "api", "scopes": ["stock:read"]}, "source_apis"),
    ({"source_issuers": ["https://unknown.example"], "scopes": ["x"]}, "source_issuers[0]"),
    ({"source_apis": ["{source}"], "scopes": ["orders:read"]}, "scopes[0]"),
    ({"source_apis": ["{source}"], "scopes": []}, "scopes"),
    ({"source_apis": ["{source}"]}, "scopes"),
    ({"source_apis": ["{source}"], "scopes": ["stock:read"], "max_act_depth": 6},
     "max_act_depth"),
    ({"source_apis": ["{source}"], "scopes": ["stock:read"], "max_act_depth": 0},
     "max_act_depth"),
    ({"source_apis": ["{source}"], "scopes": ["stock:read"], "delegation": False},
     "delegation"),
    ({"source_apis": ["{source}"], "scopes": ["stock:read"], "impersonation": "yes"},
     "impersonation"),
    ({"source_apis": ["{source}"], "scopes": ["stock:read"], "target": "x"}, "target"),
])
def test_invalid_policies_are_400_naming_the_field(
    http: Any, ids: dict[str, str], body: dict[str, Any], field: str
) -> None:
    filled = {k: [ids["source"] if v == "{source}" else v for v in value]
              if isinstance(value, list) else value for k, value in body.items()}

    refused = problem(send(http, "PUT", path(ids), filled), 400, "validation")

    assert field in error_fields(refused)
    assert expect(http.get(f"/admin/apps/{ids['caller']}/exchange-policies"))["items"] == []


def test_unknown_app_or_target_api_is_404(http: Any, ids: dict[str, str]) -> None:
    body = {"source_apis": [ids["source"]], "scopes": ["stock:read"]}

    problem(send(http, "PUT", f"/admin/apps/{'a' * 26}/exchange-policies/{ids['target']}",
                 body), 404, "not-found")
    problem(send(http, "PUT", f"/admin/apps/{ids['caller']}/exchange-policies/api_nope",
                 body), 404, "not-found")
    problem(http.get("/admin/apps/nope/exchange-policies"), 404, "not-found")


def test_claims_that_would_not_fit_exchanged_tokens_are_refused(http: Any) -> None:
    # GIVEN a caller without grants whose policy covers four long scopes, five actors deep
    long_scopes = tuple(f"s{i}:" + "x" * 90 for i in range(4))
    source = new_api(http)
    target = new_api(http, WAREHOUSE, long_scopes, name="Warehouse")
    caller = new_app(http, "Inventory service")["client_id"]
    claims = {"claims": {"blob": "x" * 1990}}  # within the 2 KiB claims limit
    assert expect(send(http, "PATCH", f"/admin/apps/{caller}", claims))  # fits: no grants
    expect(send(http, "PATCH", f"/admin/apps/{caller}", {"claims": {}}))
    expect(send(http, "PUT", f"/admin/apps/{caller}/exchange-policies/{target['id']}",
                {"source_apis": [source["id"]], "scopes": list(long_scopes),
                 "max_act_depth": 5}))

    # WHEN the same claims are set again, THEN exchanged tokens would not fit KMS's limit
    refused = send(http, "PATCH", f"/admin/apps/{caller}", claims)

    assert "claims" in error_fields(problem(refused, 400, "validation"))
