"""Numbers no float can hold (``10**400``, ``-(10**309)``) and integers longer than
Python's 4,300-digit conversion limit, in every numeric admin field, query parameter and
header: each is a 400 (or 412) problem naming what was wrong, never a 500."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import Demo
from tests.functional.admin_helpers import error_fields, problem, send

HUGE = [10**400, -(10**309), 10**309, -(10**400)]
# More digits than int() converts (sys.int_info.default_max_str_digits is 4300).
LONG_DIGITS = "9" * 5000


def _fields(demo: Demo, value: Any) -> list[tuple[str, str, dict[str, Any], str]]:
    """(method, path, body, the field the problem must name) for every numeric field."""
    return [
        ("POST", "/admin/apis", {"name": "Inventory", "identifier": "urn:example:inventory",
                                 "token_reuse": value}, "token_reuse"),
        ("PATCH", f"/admin/apis/{demo.api_id}", {"token_reuse": value}, "token_reuse"),
        ("POST", "/admin/apis", {"name": "Inventory", "identifier": "urn:example:inventory",
                                 "token_lifetime": value}, "token_lifetime"),
        ("PATCH", f"/admin/apis/{demo.api_id}", {"token_lifetime": value}, "token_lifetime"),
        ("POST", "/admin/apps", {"name": "Partner", "token_lifetime": value}, "token_lifetime"),
        ("PATCH", f"/admin/apps/{demo.client_id}", {"token_lifetime": value}, "token_lifetime"),
        ("POST", "/admin/apps", {"name": "Partner", "quota": {"per_hour": value}},
         "quota.per_hour"),
        ("PATCH", f"/admin/apps/{demo.client_id}", {"quota": {"per_day": value}},
         "quota.per_day"),
        ("POST", f"/admin/apps/{demo.client_id}/secrets", {"expires_in": value}, "expires_in"),
        ("POST", "/admin/issuers", {"preset": "github-actions", "max_token_lifetime": value},
         "max_token_lifetime"),
    ]


@pytest.mark.parametrize("value", HUGE, ids=["1e400", "-1e309", "1e309", "-1e400"])
def test_a_number_too_large_for_a_float_is_a_400_naming_the_field(
    http: Any, demo: Demo, value: int
) -> None:
    for method, path, body, field in _fields(demo, value):
        answer = send(http, method, path, body)
        assert error_fields(problem(answer, 400, "validation")) == [field], (method, path)


@pytest.mark.parametrize(("member", "field"), [
    (f'"token_reuse": {LONG_DIGITS}', "token_reuse"),
    (f'"token_lifetime": -{LONG_DIGITS}', "token_lifetime"),
    (f'"claims": {{"rank": {LONG_DIGITS}}}', "claims.rank"),
])
def test_an_integer_longer_than_python_converts_is_a_400_naming_the_field(
    http: Any, member: str, field: str
) -> None:
    body = f'{{"name": "Partner", {member}}}'.encode()
    path = "/admin/apps" if field != "token_reuse" else "/admin/apis"
    if path == "/admin/apis":
        body = body.replace(b'{', b'{"identifier": "urn:example:inventory", ', 1)
    answer = http.post(path, headers={"Content-Type": "application/json"}, body=body)
    assert error_fields(problem(answer, 400, "validation")) == [field]


def test_a_page_limit_longer_than_python_converts_is_a_400_naming_limit(http: Any) -> None:
    answer = http.get(f"/admin/apis?limit={LONG_DIGITS}")
    assert error_fields(problem(answer, 400, "validation")) == ["limit"]


def test_an_if_match_longer_than_python_converts_is_a_412(http: Any, demo: Demo) -> None:
    answer = send(http, "PATCH", f"/admin/apis/{demo.api_id}", {"name": "Renamed"},
                  headers={"If-Match": f'"{LONG_DIGITS}"'})
    problem(answer, 412, "precondition-failed")
