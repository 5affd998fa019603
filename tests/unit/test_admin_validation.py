"""Validation of admin input through the provisioning service: every rule reports
its field, and storage conflicts become 409s."""

from __future__ import annotations

from typing import Any

import pytest

from chalicelib.admin.provisioning import MAX_ACTIVE_SECRETS, Provisioning
from chalicelib.errors import Conflict, ValidationFailed
from chalicelib.runtime import Services
from tests.conftest import AUDIENCE, seed_demo
from tests.fakes import FakeClock


@pytest.fixture
def p(memory_services: Services) -> Provisioning:
    return memory_services.provisioning


def fields(raised: pytest.ExceptionInfo[ValidationFailed]) -> list[str]:
    return [e.field for e in raised.value.errors]


# -- APIs -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "scope", ["", "has space", 'quo"te', "back\\slash", "é", "x" * 129, "tab\t"]
)
def test_api_scope_that_is_not_a_scope_token_is_rejected(p: Provisioning, scope: str) -> None:
    with pytest.raises(ValidationFailed) as raised:
        p.create_api(name="Orders", identifier=AUDIENCE, scopes=["ok", scope])

    assert fields(raised) == ["scopes[1].value"]


def test_api_scope_of_128_printable_characters_is_accepted(p: Provisioning) -> None:
    scope = "!" + "#[]~" * 31 + "abc"
    assert len(scope) == 128

    assert p.create_api(name="Orders", identifier=AUDIENCE, scopes=[scope]).scope_values == (
        scope,
    )


def test_duplicate_api_scopes_are_rejected(p: Provisioning) -> None:
    with pytest.raises(ValidationFailed) as raised:
        p.create_api(
            name="Orders", identifier=AUDIENCE,
            scopes=["read", {"value": "write"}, {"value": "read", "description": "again"}],
        )

    assert fields(raised) == ["scopes[2].value"]


def test_all_invalid_api_fields_are_reported_together(p: Provisioning) -> None:
    with pytest.raises(ValidationFailed) as raised:
        p.create_api(name=" ", identifier="has space#frag", scopes=[{"value": "a", "x": 1}],
                     token_lifetime=59)

    assert set(fields(raised)) == {"name", "identifier", "scopes[0]", "token_lifetime"}
    assert p.create_api(name="Orders", identifier=AUDIENCE, scopes=[]).identifier == AUDIENCE


@pytest.mark.parametrize("lifetime", [59, 86401, 0, -1, True, 600.5, 59.0, "600"])
def test_token_lifetime_outside_60_to_86400_seconds_is_rejected(
    p: Provisioning, lifetime: Any
) -> None:
    with pytest.raises(ValidationFailed) as api_raised:
        p.create_api(name="Orders", identifier=AUDIENCE, scopes=[], token_lifetime=lifetime)
    with pytest.raises(ValidationFailed) as app_raised:
        p.create_app(name="Billing", token_lifetime=lifetime)

    assert fields(api_raised) == fields(app_raised) == ["token_lifetime"]


@pytest.mark.parametrize("lifetime", [60, 86400])
def test_token_lifetime_bounds_are_inclusive(p: Provisioning, lifetime: int) -> None:
    api = p.create_api(name="Orders", identifier=AUDIENCE, scopes=[], token_lifetime=lifetime)
    app, _ = p.create_app(name="Billing", token_lifetime=lifetime)

    assert api.token_lifetime == app.token_lifetime == lifetime


def test_duplicate_api_identifier_is_conflict(
    p: Provisioning, memory_services: Services
) -> None:
    first = p.create_api(name="Orders", identifier=AUDIENCE, scopes=["read"])

    with pytest.raises(Conflict):
        p.create_api(name="Orders again", identifier=AUDIENCE, scopes=["write"])

    assert memory_services.store.find_api(AUDIENCE) == first


# -- apps -------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["sub", "aud", "iss", "exp", "jti", "client_id", "scope", "scp",
                                  "cnf", "roles", "active"])
def test_reserved_claim_names_are_rejected(p: Provisioning, name: str) -> None:
    with pytest.raises(ValidationFailed) as raised:
        p.create_app(name="Billing", claims={"tenant": "acme", name: "x"})

    assert fields(raised) == [f"claims.{name}"]


@pytest.mark.parametrize(
    "value",
    [float("nan"), float("inf"), {"a": {"b": {"c": {"d": {"e": {"f": 1}}}}}}, {"k": {1: "v"}}],
    ids=["NaN", "Infinity", "nested-6-deep", "non-string-key"],
)
def test_claim_values_that_are_not_plain_json_are_rejected(p: Provisioning, value: Any) -> None:
    with pytest.raises(ValidationFailed) as raised:
        p.create_app(name="Billing", claims={"tenant": "acme", "x": value})

    assert fields(raised) == ["claims.x"]


def test_plain_json_claims_nested_five_deep_are_accepted(p: Provisioning) -> None:
    claims = {"x": {"a": {"b": {"c": {"d": [1, 2.5, True, None, "é"]}}}}}

    app, _ = p.create_app(name="Billing", claims=claims)

    assert app.claims == claims


@pytest.mark.parametrize("value", [b"bytes", {"a", "b"}, object()], ids=["bytes", "set", "object"])
def test_claim_values_of_non_json_types_are_rejected_not_a_crash(
    p: Provisioning, value: Any
) -> None:
    with pytest.raises(ValidationFailed) as raised:
        p.create_app(name="Billing", claims={"x": value})

    assert fields(raised) == ["claims.x"]


def test_non_string_claim_names_are_rejected(p: Provisioning) -> None:
    with pytest.raises(ValidationFailed):
        p.create_app(name="Billing", claims={1: "x"})  # type: ignore[dict-item]


def test_claims_over_2_kib_are_rejected(p: Provisioning) -> None:
    p.create_app(name="Billing", claims={"p": "x" * 2040})  # {"p":"…"} is 2,048 bytes

    with pytest.raises(ValidationFailed) as raised:
        p.create_app(name="Billing", claims={"p": "x" * 2041})

    assert fields(raised) == ["claims"]


@pytest.mark.parametrize("permissions", [["admin"], ["introspect", "write"]])
def test_unknown_permissions_are_rejected(p: Provisioning, permissions: list[str]) -> None:
    with pytest.raises(ValidationFailed) as raised:
        p.create_app(name="Billing", permissions=permissions)

    assert fields(raised) == ["permissions"]
    app, _ = p.create_app(name="Billing", permissions=["introspect"])
    assert app.permissions == frozenset({"introspect"})


# -- grants -----------------------------------------------------------------------------


def test_grant_with_a_scope_the_api_lacks_is_rejected(p: Provisioning) -> None:
    api = p.create_api(name="Orders", identifier=AUDIENCE, scopes=["read", "write"])
    app, _ = p.create_app(name="Billing")

    with pytest.raises(ValidationFailed) as raised:
        p.set_grant(app.client_id, api.api_id, ["read", "delete", "write", "admin"])

    assert fields(raised) == ["scopes[1]", "scopes[3]"]


def test_grant_whose_tokens_would_exceed_the_kms_signing_limit_is_rejected(
    p: Provisioning, memory_services: Services
) -> None:
    # GIVEN an app with claims near the 2 KiB cap and an API with ten 60-character scopes
    scopes = [f"scope:{i:02d}:" + "s" * 50 for i in range(10)]
    api = p.create_api(name="Orders", identifier=AUDIENCE, scopes=scopes)
    app, _ = p.create_app(name="Billing", claims={"profile": "x" * 2030})
    p.set_grant(app.client_id, api.api_id, scopes[:1])  # one scope still fits

    with pytest.raises(ValidationFailed) as raised:
        p.set_grant(app.client_id, api.api_id, scopes)

    assert fields(raised) == ["scopes"]
    credentials = memory_services.store.get_credentials(app.client_id)
    assert credentials is not None
    assert credentials.grants[0].scopes == tuple(scopes[:1])


# -- secrets ----------------------------------------------------------------------------


def test_at_most_three_active_secrets_per_app(memory_services: Services) -> None:
    demo = seed_demo(memory_services)
    p = memory_services.provisioning
    for _ in range(MAX_ACTIVE_SECRETS - 1):
        p.add_secret(demo.client_id)

    with pytest.raises(Conflict):
        p.add_secret(demo.client_id)


def test_expired_secrets_do_not_count_towards_the_limit(
    memory_services: Services, clock: FakeClock
) -> None:
    demo = seed_demo(memory_services)
    p = memory_services.provisioning
    p.add_secret(demo.client_id, expires_in=60)
    p.add_secret(demo.client_id)

    clock.advance(60)

    assert p.add_secret(demo.client_id).client_id == demo.client_id


@pytest.mark.parametrize("expires_in", [59, 315_360_001, True, "60"])
def test_secret_expiry_outside_bounds_is_rejected(
    memory_services: Services, expires_in: Any
) -> None:
    demo = seed_demo(memory_services)

    with pytest.raises(ValidationFailed) as raised:
        memory_services.provisioning.add_secret(demo.client_id, expires_in=expires_in)

    assert fields(raised) == ["expires_in"]


def test_integral_float_token_lifetime_is_an_integer(p: Provisioning) -> None:
    # JSON Schema (and the OpenAPI document) calls 600.0 an integer
    api = p.create_api(name="Orders", identifier=AUDIENCE, scopes=[], token_lifetime=600.0)
    app, _ = p.create_app(name="Billing", token_lifetime=600.0)
    assert api.token_lifetime == app.token_lifetime == 600
    assert type(api.token_lifetime) is type(app.token_lifetime) is int
