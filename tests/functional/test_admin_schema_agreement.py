"""The OpenAPI document and the admin validators agree (issue 8 §1.6): what JSON
Schema calls valid is accepted, and what the validators refuse the schema refuses too."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator
from referencing import Registry
from referencing.jsonschema import DRAFT202012

from chalicelib.oauth.claims import REGISTERED_CLAIMS
from tests.conftest import Demo
from tests.functional.admin_helpers import (
    error_fields,
    expect,
    new_api,
    new_app,
    problem,
    send,
)

DOCUMENT = Path(__file__).resolve().parents[2] / "chalicelib" / "openapi.json"


def schema_errors(schema: str, body: Any) -> list[str]:
    document = json.loads(DOCUMENT.read_text())
    registry: Registry[Any] = Registry().with_resource(
        "urn:doc", DRAFT202012.create_resource(document)
    )
    validator = Draft202012Validator({"$ref": f"urn:doc#/components/schemas/{schema}"},
                                     registry=registry)
    return [e.message for e in validator.iter_errors(body)]


# -- integral numbers are integers (JSON Schema §6.1.1 and the implementation) ----------


def test_accepts_an_integral_float_expires_in(http: Any, demo: Demo) -> None:
    body = {"expires_in": 464194.0}
    assert schema_errors("SecretCreate", body) == []
    created = expect(send(http, "POST", f"/admin/apps/{demo.client_id}/secrets", body), 201)
    assert created["expires_at"] is not None


def test_accepts_integral_float_token_lifetimes_everywhere(http: Any) -> None:
    api = new_api(http, token_lifetime=900.0)
    assert api["token_lifetime"] == 900 and isinstance(api["token_lifetime"], int)
    patched = expect(send(http, "PATCH", f"/admin/apis/{api['id']}", {"token_lifetime": 1200.0}))
    assert patched["token_lifetime"] == 1200
    app = new_app(http, token_lifetime=600.0)
    assert app["token_lifetime"] == 600
    patched = expect(send(http, "PATCH", f"/admin/apps/{app['client_id']}",
                          {"token_lifetime": 700.0}))
    assert patched["token_lifetime"] == 700
    audit = expect(http.get("/admin/audit"))["items"]
    assert audit[0]["action"] == "app.update"


@pytest.mark.parametrize("value", [464194.5, True, "3600", 59.0])
def test_rejects_fractional_boolean_string_and_out_of_range_expires_in(
    http: Any, demo: Demo, value: Any
) -> None:
    body = {"expires_in": value}
    assert schema_errors("SecretCreate", body) != []
    response = send(http, "POST", f"/admin/apps/{demo.client_id}/secrets", body)
    assert error_fields(problem(response, 400, "validation")) == ["expires_in"]


# -- what the validators refuse, the schema refuses ------------------------------------


def test_duplicate_scope_values_are_refused_by_both(http: Any) -> None:
    body = {"name": "Orders", "identifier": "https://x.example/o",
            "scopes": [{"value": "a", "description": "A"}, {"value": "a", "description": "A"}]}
    assert schema_errors("ApiCreate", body) != []
    assert error_fields(problem(send(http, "POST", "/admin/apis", body), 400, "validation")) == [
        "scopes[1].value"
    ]


@pytest.mark.parametrize("name", ["", "iss", "client_id"])
def test_empty_and_registered_claim_names_are_refused_by_both(http: Any, name: str) -> None:
    body = {"name": "Billing", "claims": {name: "x"}}
    assert schema_errors("AppCreate", body) != []
    assert error_fields(problem(send(http, "POST", "/admin/apps", body), 400, "validation")) == [
        f"claims.{name}"
    ]


@pytest.mark.parametrize("schema", ["AppCreate", "ApiCreate"])
def test_blank_names_are_refused_by_both(http: Any, schema: str) -> None:
    body: dict[str, Any] = {"name": " \t"}
    path = "/admin/apps"
    if schema == "ApiCreate":
        body["identifier"], path = "https://x.example/o", "/admin/apis"
    assert schema_errors(schema, body) != []
    assert "name" in error_fields(problem(send(http, "POST", path, body), 400, "validation"))


def test_scope_values_over_128_characters_are_refused_by_both(http: Any) -> None:
    body = {"name": "Orders", "identifier": "https://x.example/o", "scopes": ["a" * 129]}
    assert schema_errors("ApiCreate", body) != []
    problem(send(http, "POST", "/admin/apis", body), 400, "validation")


def test_schema_lists_exactly_the_registered_claims() -> None:
    document = json.loads(DOCUMENT.read_text())
    for name in ("AppCreate", "AppUpdate"):
        names = document["components"]["schemas"][name]["properties"]["claims"]["propertyNames"]
        assert set(names["not"]["enum"]) == REGISTERED_CLAIMS


# -- what the schema allows, the validators accept -------------------------------------


def test_nulls_the_schema_allows_are_accepted(http: Any, demo: Demo) -> None:
    app_body = {"name": "Nulls", "description": None, "claims": None, "token_lifetime": None,
                "permissions": None}
    assert schema_errors("AppCreate", app_body) == []
    app = new_app(http, **{k: v for k, v in app_body.items() if k != "name"}, name="Nulls")
    assert app["description"] == "" and app["claims"] == {} and app["permissions"] == []
    api_body = {"name": "N", "identifier": "https://x.example/n", "token_lifetime": None,
                "scopes": ["a", {"value": "b", "description": None}]}
    assert schema_errors("ApiCreate", api_body) == []
    expect(send(http, "POST", "/admin/apis", api_body), 201)
    secret = {"expires_in": None}
    assert schema_errors("SecretCreate", secret) == []
    expect(send(http, "POST", f"/admin/apps/{demo.client_id}/secrets", secret), 201)


def test_repeated_permissions_are_accepted_as_the_schema_says(http: Any) -> None:
    body = {"name": "Repeats", "permissions": ["introspect", "introspect"]}
    assert schema_errors("AppCreate", body) == []
    assert new_app(http, permissions=body["permissions"], name="Repeats")["permissions"] == [
        "introspect"
    ]
