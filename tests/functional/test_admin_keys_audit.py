"""Admin API for signing keys and the audit trail (docs/admin-contract.md): keys are
registered as `next` and published; every admin change leaves exactly one audit record,
with the caller's IAM ARN and request id, and never a secret or a hash."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from chalice.test import Client

from chalicelib import runtime
from chalicelib.aws.kms_signer import KmsSigner
from chalicelib.store.dynamodb import DynamoDBStore
from chalicelib.store.records import KeyState
from tests.conftest import AUDIENCE, TABLE, AwsBackend, Demo, make_settings
from tests.fakes import FakeClock
from tests.functional.admin_helpers import (
    ADMIN_ARN,
    HASH_PREFIX,
    audit_log,
    caller_identity,
    error_fields,
    expect,
    new_api,
    new_app,
    new_audit_records,
    problem,
    send,
)
from tests.functional.conftest import body_json

KEY_FIELDS = {"kid", "alg", "kms_key_arn", "state", "created_at", "activated_at",
              "deactivated_at", "retired_at", "version"}
AUDIT_FIELDS = {"id", "time", "actor", "action", "target", "changes", "request_id"}


def _rsa_key(aws: AwsBackend) -> str:
    arn: str = aws.kms.create_key(KeySpec="RSA_2048", KeyUsage="SIGN_VERIFY")["KeyMetadata"][
        "Arn"]
    return arn


def _jwks_kids(http: Any) -> list[str]:
    return [k["kid"] for k in expect(http.get("/.well-known/jwks.json"))["keys"]]


# ---- signing keys --------------------------------------------------------------


def test_list_keys_shows_the_current_key(http: Any, aws: AwsBackend) -> None:
    [key] = expect(http.get("/admin/keys"))["items"]

    assert set(key) == KEY_FIELDS
    assert key["alg"] == "RS256" and key["state"] == "current"
    assert key["kms_key_arn"] == aws.key_arn
    assert key["kid"] in _jwks_kids(http)
    assert key["created_at"].endswith("Z") and key["activated_at"] is not None
    assert key["deactivated_at"] is None and key["retired_at"] is None


def test_add_key_registers_it_as_next_and_publishes_it(http: Any, aws: AwsBackend) -> None:
    [current] = expect(http.get("/admin/keys"))["items"]
    assert _jwks_kids(http) == [current["kid"]]  # JWKS read (and cached) before the change
    arn = _rsa_key(aws)

    response = send(http, "POST", "/admin/keys", {"kms_key_id": arn})

    key = expect(response, 201)
    assert set(key) == KEY_FIELDS
    assert (key["state"], key["alg"], key["kms_key_arn"]) == ("next", "RS256", arn)
    assert key["activated_at"] is None
    assert sorted(_jwks_kids(http)) == sorted([current["kid"], key["kid"]])
    listed = expect(http.get("/admin/keys"))["items"]
    assert [(k["kid"], k["state"]) for k in listed] == [
        (key["kid"], "next"), (current["kid"], "current")]


def test_add_key_by_alias_records_the_key_arn(http: Any, aws: AwsBackend) -> None:
    arn = _rsa_key(aws)
    aws.kms.create_alias(AliasName="alias/m2m-next", TargetKeyId=arn)

    key = expect(send(http, "POST", "/admin/keys", {"kms_key_id": "alias/m2m-next"}), 201)

    assert key["kms_key_arn"] == arn and key["state"] == "next"


def test_add_key_accepts_an_ec_key_for_es256(http: Any, aws: AwsBackend) -> None:
    arn = aws.kms.create_key(KeySpec="ECC_NIST_P256", KeyUsage="SIGN_VERIFY")["KeyMetadata"][
        "Arn"]

    key = expect(send(http, "POST", "/admin/keys", {"kms_key_id": arn, "alg": "ES256"}), 201)

    assert key["alg"] == "ES256" and key["kid"] in _jwks_kids(http)


def test_add_key_refuses_a_symmetric_key(http: Any, aws: AwsBackend) -> None:
    arn = aws.kms.create_key(KeyUsage="ENCRYPT_DECRYPT")["KeyMetadata"]["Arn"]

    body = problem(send(http, "POST", "/admin/keys", {"kms_key_id": arn}), 400, "validation")

    assert error_fields(body) == ["kms_key_id"]
    assert len(expect(http.get("/admin/keys"))["items"]) == 1


def test_add_key_refuses_an_rsa_key_for_es256(http: Any, aws: AwsBackend) -> None:
    response = send(http, "POST", "/admin/keys", {"kms_key_id": _rsa_key(aws), "alg": "ES256"})

    assert error_fields(problem(response, 400, "validation")) == ["kms_key_id"]


def test_add_key_refuses_an_unknown_kms_key(http: Any) -> None:
    for key_id in [
        "arn:aws:kms:us-east-1:123456789012:key/00000000-0000-0000-0000-000000000000",
        "alias/does-not-exist",
    ]:
        body = problem(send(http, "POST", "/admin/keys", {"kms_key_id": key_id}),
                       400, "validation")

        assert error_fields(body) == ["kms_key_id"], key_id


def test_registering_the_same_key_twice_is_a_conflict(http: Any, aws: AwsBackend) -> None:
    arn = _rsa_key(aws)
    expect(send(http, "POST", "/admin/keys", {"kms_key_id": arn}), 201)

    problem(send(http, "POST", "/admin/keys", {"kms_key_id": arn}), 409, "conflict")
    problem(send(http, "POST", "/admin/keys", {"kms_key_id": aws.key_arn}), 409, "conflict")
    assert len(expect(http.get("/admin/keys"))["items"]) == 2


def test_add_key_refuses_an_unsupported_alg(http: Any, aws: AwsBackend) -> None:
    arn = _rsa_key(aws)

    for alg in ["HS256", "PS256", "none", None]:
        response = send(http, "POST", "/admin/keys", {"kms_key_id": arn, "alg": alg})

        assert error_fields(problem(response, 400, "validation")) == ["alg"], alg
    assert len(expect(http.get("/admin/keys"))["items"]) == 1


def test_add_key_validates_its_body(http: Any) -> None:
    for body, fields in [
        ({}, ["kms_key_id"]),
        ({"kms_key_id": 42}, ["kms_key_id"]),
        ({"kms_key_id": ""}, ["kms_key_id"]),
        ({"kms_key_id": "alias/x", "state": "current"}, ["state"]),
    ]:
        response = send(http, "POST", "/admin/keys", body)

        assert error_fields(problem(response, 400, "validation")) == fields, body


def test_list_keys_rejects_bad_query_parameters(http: Any) -> None:
    for query, slug in [
        ("bogus=1", "bad-request"), ("limit=0", "validation"), ("limit=201", "validation"),
    ]:
        problem(http.get(f"/admin/keys?{query}"), 400, slug)


def test_list_keys_pages_with_limit_and_next(http: Any, aws: AwsBackend) -> None:
    expect(send(http, "POST", "/admin/keys", {"kms_key_id": _rsa_key(aws)}), 201)
    everything = expect(http.get("/admin/keys"))["items"]

    first = expect(http.get("/admin/keys?limit=1"))
    second = expect(http.get(f"/admin/keys?limit=1&next={first['next']}"))

    assert first["items"] + second["items"] == everything
    assert [k["state"] for k in everything] == ["next", "current"]
    assert second["next"] is None


def test_rotate_without_a_next_key_is_a_conflict(http: Any) -> None:
    problem(send(http, "POST", "/admin/keys/rotate"), 409, "conflict")

    [key] = expect(http.get("/admin/keys"))["items"]
    assert key["state"] == "current"


def test_rotate_takes_no_fields(http: Any) -> None:
    response = send(http, "POST", "/admin/keys/rotate", {"force": True})

    assert error_fields(problem(response, 400, "validation")) == ["force"]


# ---- audit trail ---------------------------------------------------------------


def test_audit_lists_changes_newest_first_with_every_field(http: Any) -> None:
    api = new_api(http)
    expect(send(http, "PATCH", f"/admin/apis/{api['id']}", {"name": "Stock"}))
    assert http.delete(f"/admin/apis/{api['id']}").status_code == 204

    records = audit_log(http)

    assert [r["action"] for r in records] == ["api.delete", "api.update", "api.create"]
    assert all(set(r) == AUDIT_FIELDS for r in records)
    assert all(r["target"] == f"api/{api['id']}" for r in records)
    assert [r["time"] for r in records] == sorted((r["time"] for r in records), reverse=True)
    assert records[1]["changes"]["name"] == "Stock"
    assert records[2]["changes"]["identifier"] == api["identifier"]


def test_audit_pages_with_limit_and_next(http: Any) -> None:
    for n in range(3):
        new_api(http, f"https://api.example.com/{n}")
    everything = audit_log(http)

    first = expect(http.get("/admin/audit?limit=1"))
    second = expect(http.get(f"/admin/audit?limit=1&next={first['next']}"))

    assert first["items"] == everything[:1] and second["items"] == everything[1:2]
    assert isinstance(second["next"], str)
    third = expect(http.get(f"/admin/audit?limit=1&next={second['next']}"))
    assert third["items"] == everything[2:3]


def test_audit_rejects_bad_query_parameters(http: Any) -> None:
    for query, slug in [
        ("limit=0", "validation"), ("limit=201", "validation"), ("limit=abc", "validation"),
        ("since=yesterday", "bad-request"), ("next=bm90LWpzb24", "bad-request"),
        ("next=%C3%A9", "bad-request"),
    ]:
        problem(http.get(f"/admin/audit?{query}"), 400, slug)


def test_audit_never_holds_a_secret_or_a_hash(http: Any) -> None:
    app = new_app(http, claims={"tier": "gold"})
    added = expect(send(http, "POST", f"/admin/apps/{app['client_id']}/secrets",
                        {"expires_in": 3600}), 201)
    expect(send(http, "PATCH", f"/admin/apps/{app['client_id']}", {"name": "Renamed"}))
    assert http.delete(
        f"/admin/apps/{app['client_id']}/secrets/{app['secret_id']}").status_code == 204

    raw = http.get("/admin/audit").body.decode()

    assert [r["action"] for r in body_json(http.get("/admin/audit"))["items"]] == [
        "secret.revoke", "app.update", "secret.create", "app.create"]
    assert app["client_secret"] not in raw and added["client_secret"] not in raw
    assert HASH_PREFIX not in raw
    assert "secret_hash" not in raw and '"client_secret"' not in raw
    assert app["secret_id"] in raw and added["secret_id"] in raw  # ids are not secrets


def test_audit_actor_is_the_callers_iam_arn_with_the_request_id(http: Any) -> None:
    with caller_identity(ADMIN_ARN, "req-1"):
        api = new_api(http)

    [record] = audit_log(http)
    assert (record["actor"], record["request_id"]) == (ADMIN_ARN, "req-1")
    assert record["target"] == f"api/{api['id']}"


def test_audit_actor_is_unknown_without_an_identity_outside_local_mode(http: Any) -> None:
    new_api(http)

    [record] = audit_log(http)
    assert record["actor"] == "unknown" and record["request_id"] is None


@pytest.fixture
def local_http(aws: AwsBackend, clock: FakeClock) -> Iterator[Any]:
    """The app with M2M_LOCAL_MODE=1 (IAM is not enforced by `chalice local`)."""
    import app as chalice_app

    services = runtime.build_services(
        make_settings(M2M_LOCAL_MODE="1"), DynamoDBStore(aws.dynamodb, TABLE),
        KmsSigner(aws.kms), clock,
    )
    services.keyring.register(aws.key_arn, "RS256", KeyState.CURRENT)
    runtime.install(services)
    with Client(chalice_app.app) as client:
        yield client.http


def test_audit_actor_is_local_in_local_mode(local_http: Any) -> None:
    new_api(local_http)

    [record] = audit_log(local_http)
    assert record["actor"] == "local"


def test_in_local_mode_an_iam_identity_still_wins(local_http: Any) -> None:
    with caller_identity(ADMIN_ARN, "req-2"):
        new_api(local_http)

    [record] = audit_log(local_http)
    assert (record["actor"], record["request_id"]) == (ADMIN_ARN, "req-2")


# ---- one audit record per change --------------------------------------------------

Change = Callable[[Any, Demo, AwsBackend], tuple[Callable[[], Any], str, str]]


def _api_create(http: Any, demo: Demo, aws: AwsBackend) -> tuple[Callable[[], Any], str, str]:
    return (lambda: send(http, "POST", "/admin/apis",
                         {"name": "Inventory", "identifier": "https://inv.example"}),
            "api.create", "api/")


def _api_update(http: Any, demo: Demo, aws: AwsBackend) -> tuple[Callable[[], Any], str, str]:
    return (lambda: send(http, "PATCH", f"/admin/apis/{demo.api_id}", {"name": "Orders 2"}),
            "api.update", f"api/{demo.api_id}")


def _api_delete(http: Any, demo: Demo, aws: AwsBackend) -> tuple[Callable[[], Any], str, str]:
    return lambda: http.delete(f"/admin/apis/{demo.api_id}"), "api.delete", f"api/{demo.api_id}"


def _app_create(http: Any, demo: Demo, aws: AwsBackend) -> tuple[Callable[[], Any], str, str]:
    return lambda: send(http, "POST", "/admin/apps", {"name": "New"}), "app.create", "app/"


def _app_update(http: Any, demo: Demo, aws: AwsBackend) -> tuple[Callable[[], Any], str, str]:
    return (lambda: send(http, "PATCH", f"/admin/apps/{demo.client_id}", {"name": "Renamed"}),
            "app.update", f"app/{demo.client_id}")


def _app_block(http: Any, demo: Demo, aws: AwsBackend) -> tuple[Callable[[], Any], str, str]:
    return (lambda: send(http, "PATCH", f"/admin/apps/{demo.client_id}", {"enabled": False}),
            "app.block", f"app/{demo.client_id}")


def _app_unblock(http: Any, demo: Demo, aws: AwsBackend) -> tuple[Callable[[], Any], str, str]:
    expect(send(http, "PATCH", f"/admin/apps/{demo.client_id}", {"enabled": False}))
    return (lambda: send(http, "PATCH", f"/admin/apps/{demo.client_id}", {"enabled": True}),
            "app.unblock", f"app/{demo.client_id}")


def _app_delete(http: Any, demo: Demo, aws: AwsBackend) -> tuple[Callable[[], Any], str, str]:
    return (lambda: http.delete(f"/admin/apps/{demo.client_id}"),
            "app.delete", f"app/{demo.client_id}")


def _revoke_tokens(http: Any, demo: Demo, aws: AwsBackend) -> tuple[Callable[[], Any], str, str]:
    return (lambda: send(http, "POST", f"/admin/apps/{demo.client_id}/revoke-tokens"),
            "app.revoke_tokens", f"app/{demo.client_id}")


def _grant_set(http: Any, demo: Demo, aws: AwsBackend) -> tuple[Callable[[], Any], str, str]:
    path = f"/admin/apps/{demo.client_id}/grants/{demo.api_id}"
    return (lambda: send(http, "PUT", path, {"scopes": ["orders:write"]}),
            "grant.set", f"app/{demo.client_id}/grants/{demo.api_id}")


def _grant_remove(http: Any, demo: Demo, aws: AwsBackend) -> tuple[Callable[[], Any], str, str]:
    return (lambda: http.delete(f"/admin/apps/{demo.client_id}/grants/{demo.api_id}"),
            "grant.remove", f"app/{demo.client_id}/grants/{demo.api_id}")


def _secret_create(http: Any, demo: Demo, aws: AwsBackend) -> tuple[Callable[[], Any], str, str]:
    return (lambda: send(http, "POST", f"/admin/apps/{demo.client_id}/secrets"),
            "secret.create", f"app/{demo.client_id}/secrets/")


def _secret_revoke(http: Any, demo: Demo, aws: AwsBackend) -> tuple[Callable[[], Any], str, str]:
    return (lambda: http.delete(f"/admin/apps/{demo.client_id}/secrets/{demo.secret_id}"),
            "secret.revoke", f"app/{demo.client_id}/secrets/{demo.secret_id}")


def _key_add(http: Any, demo: Demo, aws: AwsBackend) -> tuple[Callable[[], Any], str, str]:
    arn = _rsa_key(aws)
    return lambda: send(http, "POST", "/admin/keys", {"kms_key_id": arn}), "key.add", "keys/"


def _key_rotate(http: Any, demo: Demo, aws: AwsBackend) -> tuple[Callable[[], Any], str, str]:
    expect(send(http, "POST", "/admin/keys", {"kms_key_id": _rsa_key(aws)}), 201)
    return lambda: send(http, "POST", "/admin/keys/rotate"), "key.rotate", "keys"


CHANGES = [
    pytest.param(_api_create, id="api.create"),
    pytest.param(_api_update, id="api.update"),
    pytest.param(_api_delete, id="api.delete"),
    pytest.param(_app_create, id="app.create"),
    pytest.param(_app_update, id="app.update"),
    pytest.param(_app_block, id="app.block"),
    pytest.param(_app_unblock, id="app.unblock"),
    pytest.param(_app_delete, id="app.delete"),
    pytest.param(_revoke_tokens, id="app.revoke_tokens"),
    pytest.param(_grant_set, id="grant.set"),
    pytest.param(_grant_remove, id="grant.remove"),
    pytest.param(_secret_create, id="secret.create"),
    pytest.param(_secret_revoke, id="secret.revoke"),
    pytest.param(_key_add, id="key.add"),
    pytest.param(_key_rotate, id="key.rotate"),
]


@pytest.mark.parametrize("change", CHANGES)
def test_each_change_writes_exactly_one_audit_record(
    http: Any, demo: Demo, aws: AwsBackend, change: Change
) -> None:
    # GIVEN the demo API, app and grant, and whatever the change needs first
    act, action, target = change(http, demo, aws)
    before = audit_log(http)

    # WHEN the change is made by an identified admin
    with caller_identity(ADMIN_ARN, "req-1"):
        response = act()

    # THEN it succeeded and left exactly one record describing it
    assert response.status_code in (200, 201, 204), response.body
    [record] = new_audit_records(http, before)
    assert record["action"] == action
    assert record["target"].startswith(target)
    assert (record["actor"], record["request_id"]) == (ADMIN_ARN, "req-1")
    assert record == audit_log(http)[0]


def test_refused_changes_write_no_audit_record(http: Any, demo: Demo) -> None:
    before = audit_log(http)

    with caller_identity(ADMIN_ARN, "req-1"):
        problem(send(http, "PATCH", f"/admin/apis/{demo.api_id}", {"name": "x"},
                     {"If-Match": '"999"'}), 412, "precondition-failed")
        problem(send(http, "PUT", f"/admin/apps/{demo.client_id}/grants/{demo.api_id}",
                     {"scopes": ["orders:delete"]}), 400, "validation")
        problem(http.delete(f"/admin/apps/{demo.client_id}/secrets/s_unknown"),
                404, "not-found")
        problem(send(http, "POST", "/admin/apis",
                     {"name": "Orders again", "identifier": AUDIENCE}), 409, "conflict")
        problem(send(http, "POST", "/admin/keys/rotate"), 409, "conflict")

    assert new_audit_records(http, before) == []


def test_audit_changes_describe_the_fields_changed(http: Any, demo: Demo) -> None:
    expect(send(http, "PATCH", f"/admin/apps/{demo.client_id}",
                {"description": "Bills", "token_lifetime": 300}))

    [record] = audit_log(http)[:1]
    assert record["changes"] == {"description": "Bills", "token_lifetime": 300}
    assert json.dumps(record)  # plain JSON
