"""Invalid text at the admin edge (issue 8 §1.1): a lone surrogate, written as a JSON
``\\ud800`` escape or sent as raw invalid UTF-8, in any string of any admin payload
(member names and nested claim values included) is a 400 validation problem naming
the field, checked once when the body is read, before anything is stored or signed."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.functional.admin_helpers import (
    INVENTORY,
    error_fields,
    expect,
    new_api,
    new_app,
    problem,
)
from tests.functional.conftest import JSON

LONE = "\\ud800"  # a JSON escape of an unpaired high surrogate
TEXT_MESSAGE = "valid Unicode text"


def raw(http: Any, method: str, path: str, body: str | bytes) -> Any:
    """Send ``body`` as written: JSON escapes stay escapes, bytes stay bytes."""
    data = body.encode("ascii") if isinstance(body, str) else body
    return http.request(method, path, headers=JSON, body=data)


def refused(response: Any, *fields: str) -> dict[str, Any]:
    body = problem(response, 400, "validation")
    assert error_fields(body) == list(fields)
    assert all(TEXT_MESSAGE in e["message"] for e in body["errors"])
    return body


def test_rejects_app_name_with_a_lone_surrogate(http: Any) -> None:
    refused(raw(http, "POST", "/admin/apps", f'{{"name": "a{LONE}b"}}'), "name")
    assert expect(http.get("/admin/apps"))["items"] == []


def test_rejects_app_description_with_a_lone_low_surrogate(http: Any) -> None:
    refused(raw(http, "POST", "/admin/apps", '{"name": "ok", "description": "\\udc00"}'),
            "description")


def test_rejects_api_name_with_a_lone_surrogate(http: Any) -> None:
    body = f'{{"name": "{LONE}", "identifier": "{INVENTORY}"}}'
    refused(raw(http, "POST", "/admin/apis", body), "name")
    assert expect(http.get("/admin/apis"))["items"] == []


def test_rejects_scope_description_with_a_lone_surrogate(http: Any) -> None:
    body = (f'{{"name": "Inventory", "identifier": "{INVENTORY}", "scopes": '
            f'[{{"value": "a"}}, {{"value": "b", "description": "x{LONE}"}}]}}')
    refused(raw(http, "POST", "/admin/apis", body), "scopes[1].description")


def test_rejects_nested_custom_claim_values_and_names_with_lone_surrogates(http: Any) -> None:
    body = ('{"name": "ok", "claims": {"team": {"members": ["ann", "\\udfff"]}, '
            f'"k{LONE}": 1}}}}')
    refused(raw(http, "POST", "/admin/apps", body),
            "claims.k\\ud800", "claims.team.members[1]")
    assert expect(http.get("/admin/apps"))["items"] == []


def test_rejects_lone_surrogates_in_patches_too(http: Any) -> None:
    app = new_app(http)
    api = new_api(http)
    refused(raw(http, "PATCH", f"/admin/apps/{app['client_id']}",
                f'{{"claims": {{"tenant": "{LONE}"}}}}'), "claims.tenant")
    refused(raw(http, "PATCH", f"/admin/apis/{api['id']}",
                f'{{"scopes": [{{"value": "a", "description": "{LONE}"}}]}}'),
            "scopes[0].description")
    assert expect(http.get(f"/admin/apps/{app['client_id']}"))["claims"] == {}


@pytest.mark.parametrize(
    "encoded",
    [b"\xed\xa0\x80", b"\xff", b"\xc3"],  # an encoded surrogate, a stray byte, a cut sequence
    ids=["encoded-surrogate", "invalid-byte", "truncated"],
)
def test_rejects_raw_invalid_utf8_naming_the_field(http: Any, encoded: bytes) -> None:
    body = b'{"name": "ok", "description": "x' + encoded + b'"}'
    refused(raw(http, "POST", "/admin/apps", body), "description")


def test_accepts_paired_surrogate_escapes_and_non_ascii_text(http: Any) -> None:
    # "\ud83d\ude00" is one character (U+1F600): valid text however it is written
    body = '{"name": "caf\\u00e9 \\ud83d\\ude00", "claims": {"emoji": "\\ud83d\\ude00"}}'
    created = expect(raw(http, "POST", "/admin/apps", body), 201)
    assert created["name"] == "café \U0001F600"
    assert created["claims"] == {"emoji": "\U0001F600"}


def test_rejected_text_is_reported_without_echoing_a_surrogate(http: Any) -> None:
    response = raw(http, "POST", "/admin/apps", f'{{"name": "ok", "claims": {{"{LONE}": 1}}}}')
    text = response.body.decode("utf-8")  # strict: the answer itself is valid UTF-8
    assert "\\\\ud800" in text and json.loads(text)["errors"][0]["field"] == "claims.\\ud800"
