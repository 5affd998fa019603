"""Server-side token reuse (issue 9 §1), through the app on moto: a repeated request
gets the token already issued, while it is good, for one DynamoDB Query and no KMS
call; anything the token was issued under that changes stops reuse at once."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from typing import Any

import jwt
import pytest
from chalice.test import Client

from chalicelib import runtime
from chalicelib.aws.kms_signer import KmsSigner
from chalicelib.store.dynamodb import DynamoDBStore
from chalicelib.store.records import KeyState
from tests.conftest import AUDIENCE, TABLE, AwsBackend, Demo, make_settings, seed_demo
from tests.fakes import FakeClock
from tests.functional.conftest import FORM, basic, body_json, form, token_request

JSON = {"Content-Type": "application/json"}
OTHER_AUDIENCE = "https://api.example.com/inventory"


def admin(http: Any, method: str, path: str, body: Any = None) -> Any:
    data = json.dumps(body) if body is not None else ""
    response = http.request(method, "/admin" + path, headers=JSON, body=data)
    assert response.status_code < 300, response.body
    return response


def token(http: Any, demo: Demo, **extra: str) -> dict[str, Any]:
    response = token_request(http, demo, **extra)
    assert response.status_code == 200, response.body
    return dict(body_json(response))


def active(http: Any, demo: Demo, access_token: str) -> bool:
    response = http.post("/oauth/introspect", headers={**FORM, **basic(demo.client_id,
                         demo.client_secret)}, body=form(token=access_token))
    return bool(body_json(response)["active"])


@pytest.fixture
def wide(moto_services: runtime.Services) -> Demo:
    """An app granted both scopes of the demo API."""
    return seed_demo(moto_services, scopes=("orders:read", "orders:write"))


# ---- reuse -----------------------------------------------------------------------


def test_second_identical_request_returns_the_same_token_with_less_time_and_no_kms_call(
    http: Any, demo: Demo, aws: AwsBackend, clock: FakeClock
) -> None:
    first = token(http, demo)
    clock.advance(100)
    aws.counter.reset()

    second = token(http, demo)

    assert second["access_token"] == first["access_token"]
    assert second["expires_in"] == first["expires_in"] - 100
    assert second["scope"] == first["scope"] and second["token_type"] == "Bearer"
    assert aws.counter.calls == {"dynamodb:Query": 1}


def test_a_fresh_token_costs_one_query_one_counter_update_and_one_sign(
    http: Any, demo: Demo, aws: AwsBackend
) -> None:
    # GIVEN a warm container (key ring loaded, last_used recorded) whose cached token
    # no longer applies
    first = token(http, demo)["access_token"]
    admin(http, "POST", f"/apps/{demo.client_id}/revoke-tokens", {})
    aws.counter.reset()

    assert token(http, demo)["access_token"] != first
    assert aws.counter.calls == {"dynamodb:Query": 1, "dynamodb:UpdateItem": 1, "kms:Sign": 1}


def test_a_different_scope_subset_gets_a_different_token(http: Any, wide: Demo) -> None:
    everything = token(http, wide)["access_token"]
    read = token(http, wide, scope="orders:read")["access_token"]

    assert read != everything
    assert token(http, wide, scope="orders:read orders:write")["access_token"] == everything
    assert token(http, wide, scope="orders:write orders:read")["access_token"] == everything
    assert token(http, wide, scope="orders:read")["access_token"] == read


def test_a_different_audience_gets_a_different_token(
    http: Any, demo: Demo, moto_services: runtime.Services
) -> None:
    p = moto_services.provisioning
    other = p.create_api(name="Inventory", identifier=OTHER_AUDIENCE,
                         scopes=[{"value": "inventory:read", "description": ""}])
    p.set_grant(demo.client_id, other.api_id, ["inventory:read"])

    orders = token(http, demo)["access_token"]
    inventory = token(http, demo, audience=OTHER_AUDIENCE)["access_token"]

    assert inventory != orders
    assert jwt.decode(inventory, options={"verify_signature": False})["aud"] == OTHER_AUDIENCE
    assert token(http, demo)["access_token"] == orders


def test_a_different_app_gets_a_different_token(
    http: Any, demo: Demo, moto_services: runtime.Services
) -> None:
    p = moto_services.provisioning
    app, secret = p.create_app(name="Other")
    p.set_grant(app.client_id, demo.api_id, ["orders:read"])
    other = Demo(demo.api_id, app.client_id, secret.client_secret, secret.secret_id)

    assert token(http, other)["access_token"] != token(http, demo)["access_token"]


def test_below_the_remaining_lifetime_threshold_a_new_token_is_signed(
    http: Any, demo: Demo, aws: AwsBackend, clock: FakeClock
) -> None:
    first = token(http, demo)  # 3600 s, token_reuse 0.5: reusable while >= 1800 s are left
    clock.advance(1800)
    assert token(http, demo)["access_token"] == first["access_token"]
    clock.advance(1)
    aws.counter.reset()

    renewed = token(http, demo)

    assert renewed["access_token"] != first["access_token"]
    assert renewed["expires_in"] == 3600
    assert aws.counter.calls["kms:Sign"] == 1


def test_the_apis_token_reuse_fraction_sets_the_threshold(
    http: Any, demo: Demo, clock: FakeClock
) -> None:
    admin(http, "PATCH", f"/apis/{demo.api_id}", {"token_reuse": 0.9})
    first = token(http, demo)["access_token"]
    clock.advance(360)  # 3240 s left: exactly 0.9
    assert token(http, demo)["access_token"] == first
    clock.advance(1)
    assert token(http, demo)["access_token"] != first


def test_token_reuse_null_signs_every_request(
    http: Any, demo: Demo, aws: AwsBackend
) -> None:
    admin(http, "PATCH", f"/apis/{demo.api_id}", {"token_reuse": None})
    first = token(http, demo)["access_token"]
    aws.counter.reset()

    assert token(http, demo)["access_token"] != first
    assert aws.counter.calls["kms:Sign"] == 1


# ---- everything that invalidates -------------------------------------------------------


def test_after_oauth_revoke_of_the_token_the_next_request_gets_a_new_token(
    http: Any, demo: Demo
) -> None:
    first = token(http, demo)["access_token"]
    revoked = http.post("/oauth/revoke", headers={**FORM, **basic(demo.client_id,
                        demo.client_secret)}, body=form(token=first))
    assert revoked.status_code == 200

    second = token(http, demo)["access_token"]

    assert second != first
    assert active(http, demo, second) and not active(http, demo, first)


def test_after_admin_revoke_tokens_the_next_request_gets_a_new_active_token(
    http: Any, demo: Demo
) -> None:
    first = token(http, demo)["access_token"]
    admin(http, "POST", f"/apps/{demo.client_id}/revoke-tokens", {})

    second = token(http, demo)["access_token"]

    assert second != first
    assert active(http, demo, second) and not active(http, demo, first)


def test_after_blocking_the_app_is_refused_and_after_unblocking_gets_a_new_token(
    http: Any, demo: Demo
) -> None:
    first = token(http, demo)["access_token"]
    admin(http, "PATCH", f"/apps/{demo.client_id}", {"enabled": False})
    blocked = token_request(http, demo)
    assert blocked.status_code == 401 and body_json(blocked)["error"] == "invalid_client"

    admin(http, "PATCH", f"/apps/{demo.client_id}", {"enabled": True})

    assert token(http, demo)["access_token"] != first


def test_after_a_grant_change_the_next_request_gets_a_new_token(
    http: Any, demo: Demo
) -> None:
    first = token(http, demo)
    admin(http, "PUT", f"/apps/{demo.client_id}/grants/{demo.api_id}",
          {"scopes": ["orders:read", "orders:write"]})

    second = token(http, demo)

    assert second["access_token"] != first["access_token"]
    assert second["scope"] == "orders:read orders:write"


def test_after_a_secret_revocation_the_next_request_gets_a_new_token(
    http: Any, demo: Demo
) -> None:
    extra = body_json(admin(http, "POST", f"/apps/{demo.client_id}/secrets", {}))
    with_extra = Demo(demo.api_id, demo.client_id, extra["client_secret"], extra["secret_id"])
    first = token(http, with_extra)["access_token"]
    assert token(http, with_extra)["access_token"] == first

    admin(http, "DELETE", f"/apps/{demo.client_id}/secrets/{demo.secret_id}")

    assert token(http, with_extra)["access_token"] != first
    assert token_request(http, demo).status_code == 401


def test_after_a_claims_change_the_next_request_gets_a_new_token(
    http: Any, demo: Demo
) -> None:
    first = token(http, demo)["access_token"]
    admin(http, "PATCH", f"/apps/{demo.client_id}", {"claims": {"tenant": "acme"}})

    second = token(http, demo)["access_token"]

    assert second != first
    assert jwt.decode(second, options={"verify_signature": False})["tenant"] == "acme"


def test_after_a_lifetime_change_the_next_request_gets_a_new_token(
    http: Any, demo: Demo
) -> None:
    first = token(http, demo)["access_token"]
    admin(http, "PATCH", f"/apps/{demo.client_id}", {"token_lifetime": 600})

    second = token(http, demo)

    assert second["access_token"] != first and second["expires_in"] == 600


def test_after_an_api_lifetime_change_the_next_request_gets_a_new_token(
    http: Any, demo: Demo
) -> None:
    first = token(http, demo)["access_token"]
    admin(http, "PATCH", f"/apis/{demo.api_id}", {"token_lifetime": 900})

    second = token(http, demo)

    assert second["access_token"] != first and second["expires_in"] == 900


def test_after_a_key_rotation_the_next_request_gets_a_token_signed_by_the_new_key(
    http: Any, demo: Demo, aws: AwsBackend
) -> None:
    first = token(http, demo)["access_token"]
    arn = aws.kms.create_key(KeySpec="RSA_2048", KeyUsage="SIGN_VERIFY")["KeyMetadata"]["Arn"]
    new_kid = body_json(admin(http, "POST", "/keys", {"kms_key_id": arn}))["kid"]
    admin(http, "POST", "/keys/rotate", {})

    second = token(http, demo)["access_token"]

    assert second != first
    assert jwt.get_unverified_header(second)["kid"] == new_kid


def test_every_token_response_is_logged_with_reused_true_or_false(
    http: Any, demo: Demo, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="chalicelib"):
        first = token(http, demo)["access_token"]
        token(http, demo)
    lines = [r.getMessage() for r in caplog.records if r.getMessage().startswith("token issued")]
    assert [line.rsplit(" ", 1)[-1] for line in lines] == ["reused=false", "reused=true"]
    assert all(first not in line for line in caplog.messages)


# ---- two containers -------------------------------------------------------------------


@pytest.fixture
def second_container(
    aws: AwsBackend, clock: FakeClock, moto_services: runtime.Services
) -> runtime.Services:
    """Another service instance (its own token cache and key ring) on the same table."""
    services = runtime.build_services(
        make_settings(), DynamoDBStore(aws.dynamodb, TABLE), KmsSigner(aws.kms), clock
    )
    assert services.keyring.current().kid == moto_services.keyring.current().kid
    return services


@pytest.fixture
def containers(
    moto_services: runtime.Services, second_container: runtime.Services
) -> Iterator[tuple[Any, runtime.Services, runtime.Services]]:
    import app as chalice_app

    with Client(chalice_app.app) as client:
        yield client.http, moto_services, second_container


def test_a_container_never_reuses_a_token_the_other_saw_revoked(
    containers: tuple[Any, runtime.Services, runtime.Services], demo: Demo
) -> None:
    http, a, b = containers
    # GIVEN container A issued and cached a token, and container B reuses its own
    runtime.install(a)
    first = token(http, demo)["access_token"]
    assert token(http, demo)["access_token"] == first
    runtime.install(b)
    from_b = token(http, demo)["access_token"]
    assert token(http, demo)["access_token"] == from_b

    # WHEN the client revokes A's token through container B
    http.post("/oauth/revoke", headers={**FORM, **basic(demo.client_id, demo.client_secret)},
              body=form(token=first))

    # THEN neither container hands out a token it held before the revocation
    runtime.install(a)
    after_a = token(http, demo)["access_token"]
    assert after_a not in (first, from_b)
    runtime.install(b)
    assert token(http, demo)["access_token"] not in (first, from_b)
    assert active(http, demo, after_a) and not active(http, demo, first)


def test_a_container_never_reuses_a_token_after_revoke_tokens_through_the_other(
    containers: tuple[Any, runtime.Services, runtime.Services], demo: Demo
) -> None:
    http, a, b = containers
    runtime.install(a)
    first = token(http, demo)["access_token"]

    runtime.install(b)
    admin(http, "POST", f"/apps/{demo.client_id}/revoke-tokens", {})

    runtime.install(a)
    second = token(http, demo)["access_token"]
    assert second != first
    assert active(http, demo, second) and not active(http, demo, first)


def test_reuse_is_per_container_and_never_needs_a_second_read(
    containers: tuple[Any, runtime.Services, runtime.Services], demo: Demo, aws: AwsBackend
) -> None:
    http, a, b = containers
    runtime.install(a)
    token(http, demo)
    runtime.install(b)
    token(http, demo)  # B signs its own: tokens live only in each container's memory
    aws.counter.reset()
    token(http, demo)
    assert aws.counter.calls == {"dynamodb:Query": 1}
    assert AUDIENCE  # the demo API


def test_key_state_is_shared_by_both_containers(
    containers: tuple[Any, runtime.Services, runtime.Services],
) -> None:
    _, a, b = containers
    assert {k.kid for k in a.keyring.records() if k.state is KeyState.CURRENT} == {
        k.kid for k in b.keyring.records() if k.state is KeyState.CURRENT
    }


# ---- the token_reuse setting ---------------------------------------------------------


def test_token_reuse_defaults_to_one_half_and_is_shown_and_settable(http: Any) -> None:
    created = body_json(admin(http, "POST", "/apis", {
        "name": "Inventory", "identifier": OTHER_AUDIENCE, "token_reuse": 0.75}))
    assert created["token_reuse"] == 0.75
    updated = body_json(admin(http, "PATCH", f"/apis/{created['id']}", {"token_reuse": None}))
    assert updated["token_reuse"] is None
    default = body_json(admin(http, "POST", "/apis", {
        "name": "Billing", "identifier": "urn:example:billing"}))
    assert default["token_reuse"] == 0.5


@pytest.mark.parametrize("value", [0, 1, 0.0, 1.0, -0.5, 1.5, "0.5", True, [0.5], {"f": 1}])
def test_rejects_a_token_reuse_outside_zero_to_one_with_a_problem(
    http: Any, demo: Demo, value: Any
) -> None:
    from tests.functional.admin_helpers import error_fields, problem, send

    created = send(http, "POST", "/admin/apis", {
        "name": "Inventory", "identifier": OTHER_AUDIENCE, "token_reuse": value})
    assert error_fields(problem(created, 400, "validation")) == ["token_reuse"]
    updated = send(http, "PATCH", f"/admin/apis/{demo.api_id}", {"token_reuse": value})
    assert error_fields(problem(updated, 400, "validation")) == ["token_reuse"]


def test_the_audit_record_shows_the_token_reuse_setting(http: Any) -> None:
    created = body_json(admin(http, "POST", "/apis", {
        "name": "Inventory", "identifier": OTHER_AUDIENCE, "token_reuse": 0.75}))
    audit = body_json(admin(http, "GET", "/audit"))["items"]
    entry = next(a for a in audit if a["target"] == f"api/{created['id']}")
    assert entry["changes"]["token_reuse"] == 0.75


@pytest.mark.parametrize("kind", ["keys", "aws-principals"])
def test_after_removing_another_credential_of_the_app_the_next_request_gets_a_new_token(
    http: Any, demo: Demo, kind: str
) -> None:
    # GIVEN the app also lists a client key (private_key_jwt) or an AWS principal
    from tests.assertion_keys import new_key_pair

    body = ({"jwk": new_key_pair("ES256").public_jwk} if kind == "keys"
            else {"arn": "arn:aws:iam::123456789012:role/billing"})
    added = body_json(admin(http, "POST", f"/apps/{demo.client_id}/{kind}", body))
    first = token(http, demo)["access_token"]
    assert token(http, demo)["access_token"] == first

    # WHEN that credential is removed
    item = added.get("kid") or added["id"]
    admin(http, "DELETE", f"/apps/{demo.client_id}/{kind}/{item}")

    # THEN nothing issued while it was listed is reused
    assert token(http, demo)["access_token"] != first
