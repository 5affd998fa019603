"""Admin changes take effect on the very next token request; concurrent changes never
overwrite each other; signing keys walk next → current → previous → retired."""

from __future__ import annotations

import json
import threading
from collections import Counter
from collections.abc import Callable
from typing import Any

import jwt
import pytest
from chalice.test import Client

from chalicelib import runtime
from chalicelib.aws.kms_keys import KmsKeyFactory
from chalicelib.aws.kms_signer import KmsSigner
from chalicelib.errors import Conflict, PreconditionFailed
from chalicelib.store.dynamodb import DynamoDBStore
from chalicelib.store.records import KeyState
from tests.conftest import AUDIENCE, ISSUER, TABLE, AwsBackend, Demo, make_settings
from tests.functional.conftest import FORM, basic, body_json, form, token_request

JSON = {"Content-Type": "application/json"}


def admin(http: Any, method: str, path: str, body: Any = None, **headers: str) -> Any:
    data = json.dumps(body) if body is not None else ""
    return http.request(method, "/admin" + path, headers={**JSON, **headers}, body=data)


def error_of(response: Any) -> str:
    return str(body_json(response)["error"])


# ---- changes take effect on the next token request ------------------------------


def test_blocking_an_app_refuses_its_next_token_request_and_unblocking_restores_it(
    http: Any, demo: Demo
) -> None:
    assert token_request(http, demo).status_code == 200
    assert admin(http, "PATCH", f"/apps/{demo.client_id}", {"enabled": False}).status_code == 200
    blocked = token_request(http, demo)
    assert blocked.status_code == 401 and error_of(blocked) == "invalid_client"
    admin(http, "PATCH", f"/apps/{demo.client_id}", {"enabled": True})
    assert token_request(http, demo).status_code == 200


def test_removing_a_grant_refuses_the_next_token_request(http: Any, demo: Demo) -> None:
    assert admin(http, "DELETE", f"/apps/{demo.client_id}/grants/{demo.api_id}").status_code == 204
    assert error_of(token_request(http, demo)) == "invalid_target"


def test_removing_a_scope_from_the_api_removes_it_from_grants(
    http: Any, moto_services: runtime.Services
) -> None:
    from tests.conftest import seed_demo

    demo = seed_demo(moto_services, scopes=("orders:read", "orders:write"))
    response = admin(http, "PATCH", f"/apis/{demo.api_id}",
                     {"scopes": [{"value": "orders:read", "description": "Read"}]})
    assert response.status_code == 200, response.body

    assert body_json(token_request(http, demo))["scope"] == "orders:read"
    assert error_of(token_request(http, demo, scope="orders:write")) == "invalid_scope"
    grants = body_json(admin(http, "GET", f"/apps/{demo.client_id}/grants"))["items"]
    assert grants[0]["scopes"] == ["orders:read"]


def test_removing_every_granted_scope_leaves_no_usable_grant(http: Any, demo: Demo) -> None:
    admin(http, "PATCH", f"/apis/{demo.api_id}",
          {"scopes": [{"value": "orders:write", "description": "Write"}]})
    assert error_of(token_request(http, demo)) == "invalid_target"


def test_revoking_a_secret_refuses_it_on_the_next_request_while_others_work(
    http: Any, demo: Demo
) -> None:
    created = body_json(admin(http, "POST", f"/apps/{demo.client_id}/secrets", {}))
    rotated = Demo(demo.api_id, demo.client_id, created["client_secret"], created["secret_id"])
    assert token_request(http, rotated).status_code == 200  # overlap: both secrets work

    response = admin(http, "DELETE", f"/apps/{demo.client_id}/secrets/{demo.secret_id}")

    assert response.status_code == 204
    assert error_of(token_request(http, demo)) == "invalid_client"
    assert token_request(http, rotated).status_code == 200


def test_api_lifetime_change_applies_to_the_next_token(http: Any, demo: Demo) -> None:
    admin(http, "PATCH", f"/apis/{demo.api_id}", {"token_lifetime": 120})
    assert body_json(token_request(http, demo))["expires_in"] == 120


def test_revoke_tokens_makes_earlier_tokens_inactive(http: Any, demo: Demo, clock: Any) -> None:
    token = body_json(token_request(http, demo))["access_token"]
    clock.advance(1)
    assert admin(http, "POST", f"/apps/{demo.client_id}/revoke-tokens", {}).status_code == 200
    clock.advance(1)
    later = body_json(token_request(http, demo))["access_token"]
    auth = {**FORM, **basic(demo.client_id, demo.client_secret)}

    def active(t: str) -> bool:
        return bool(body_json(http.post("/oauth/introspect", headers=auth,
                                        body=form(token=t)))["active"])

    assert not active(token)
    assert active(later)


def test_token_issued_in_the_same_second_after_revoke_tokens_is_active(
    http: Any, demo: Demo, clock: Any
) -> None:
    """Issue 8 §1.2: whole-second iat cannot order a revocation and a token of the same
    second; the revocation generation in the jti does (DynamoDB adapter on moto)."""
    auth = {**FORM, **basic(demo.client_id, demo.client_secret)}

    def active(t: str) -> bool:
        return bool(body_json(http.post("/oauth/introspect", headers=auth,
                                        body=form(token=t)))["active"])

    # GIVEN a token, then a revocation and a new token, all within the same second
    before = body_json(token_request(http, demo))["access_token"]
    assert admin(http, "POST", f"/apps/{demo.client_id}/revoke-tokens", {}).status_code == 200
    after = body_json(token_request(http, demo))["access_token"]

    # THEN the earlier token is inactive and the later one active, for its whole life
    assert not active(before)
    assert active(after)
    clock.advance(3000)
    assert active(after)
    # AND a second revocation covers the later token too
    assert admin(http, "POST", f"/apps/{demo.client_id}/revoke-tokens", {}).status_code == 200
    assert not active(after)


# ---- no lost updates -----------------------------------------------------------------


@pytest.fixture
def atomic_requests(aws: AwsBackend) -> None:
    """DynamoDB applies each conditional request atomically; moto checks and writes
    without a lock, so concurrent threads could both pass one condition. A lock per
    request models DynamoDB; our read-then-conditional-write still interleaves freely
    between requests, which is the race under test."""
    lock = threading.Lock()
    make_call = aws.dynamodb._make_api_call

    def atomic(operation: str, params: Any) -> Any:
        with lock:
            return make_call(operation, params)

    aws.dynamodb._make_api_call = atomic


def race(n: int, action: Callable[[], object]) -> Counter[str]:
    """Run ``action`` in ``n`` threads released together; count outcomes by type."""
    barrier = threading.Barrier(n)
    outcomes: Counter[str] = Counter()
    lock = threading.Lock()

    def run() -> None:
        barrier.wait()
        try:
            action()
            result = "ok"
        except Exception as exc:
            result = type(exc).__name__
        with lock:
            outcomes[result] += 1

    threads = [threading.Thread(target=run) for _ in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return outcomes


def test_racing_patches_with_the_same_etag_let_exactly_one_win(
    atomic_requests: None,
    moto_services: runtime.Services, demo: Demo
) -> None:
    p = moto_services.provisioning
    version = p.get_api(demo.api_id).version
    names = iter(f"name {i}" for i in range(100))

    outcomes = race(8, lambda: p.update_api(demo.api_id, {"name": next(names)}, if_match=version))

    assert outcomes == Counter({"ok": 1, PreconditionFailed.__name__: 7})
    assert p.get_api(demo.api_id).version == version + 1


def test_racing_app_patches_without_etag_never_silently_overwrite(
    atomic_requests: None,
    moto_services: runtime.Services, demo: Demo
) -> None:
    p = moto_services.provisioning
    before = p.get_app(demo.client_id).app.version

    outcomes = race(6, lambda: p.update_app(demo.client_id, {"description": "x"}))

    winners = outcomes["ok"]
    assert winners >= 1 and winners + outcomes[Conflict.__name__] == 6
    # every success is one version step: nothing was written over a stale read
    assert p.get_app(demo.client_id).app.version == before + winners
    audit = moto_services.store.list_audit(200, None).items
    assert sum(1 for r in audit if r.action == "app.update") == winners


def test_racing_creates_with_one_identifier_create_exactly_one_api(
    atomic_requests: None,
    moto_services: runtime.Services,
) -> None:
    p = moto_services.provisioning
    outcomes = race(8, lambda: p.create_api(name="Twin", identifier="urn:twin", scopes=["a"]))
    assert outcomes == Counter({"ok": 1, Conflict.__name__: 7})
    assert [a.identifier for a in p.list_apis(200, None).items].count("urn:twin") == 1


def test_racing_secret_creations_never_exceed_three_active_secrets(
    atomic_requests: None,
    moto_services: runtime.Services, demo: Demo
) -> None:
    p = moto_services.provisioning
    race(6, lambda: p.add_secret(demo.client_id))
    assert len(p.get_app(demo.client_id).secrets) <= 3


def test_racing_http_creates_with_one_identifier_answer_one_201_and_409s(http: Any) -> None:
    body = {"name": "Twin", "identifier": "urn:http-twin", "scopes": ["a"]}
    statuses = [admin(http, "POST", "/apis", body).status_code for _ in range(3)]
    assert statuses == [201, 409, 409]


# ---- signing-key rotation ----------------------------------------------------------


def _jwks_kids(http: Any) -> set[str]:
    return {k["kid"] for k in body_json(http.get("/.well-known/jwks.json"))["keys"]}


def _verifies(http: Any, token: str) -> bool:
    keys = {k["kid"]: k for k in body_json(http.get("/.well-known/jwks.json"))["keys"]}
    header = jwt.get_unverified_header(token)
    if header["kid"] not in keys:
        return False
    jwk = jwt.PyJWK(keys[header["kid"]])
    jwt.decode(token, jwk.key, algorithms=[header["alg"]], audience=AUDIENCE, issuer=ISSUER,
               options={"verify_exp": False, "verify_iat": False})
    return True


def _new_key(aws: AwsBackend) -> str:
    return str(aws.kms.create_key(KeySpec="RSA_2048", KeyUsage="SIGN_VERIFY")["KeyMetadata"]["Arn"])


def test_keys_walk_next_current_previous_retired(
    http: Any, demo: Demo, aws: AwsBackend, clock: Any
) -> None:
    first = body_json(admin(http, "GET", "/keys"))["items"][0]
    old_token = body_json(token_request(http, demo))["access_token"]

    # GIVEN a next key: published, not yet signing
    added = admin(http, "POST", "/keys", {"kms_key_id": _new_key(aws)})
    assert added.status_code == 201, added.body
    second = body_json(added)
    assert second["state"] == "next"
    assert _jwks_kids(http) == {first["kid"], second["kid"]}
    assert jwt.get_unverified_header(body_json(token_request(http, demo))["access_token"])[
        "kid"] == first["kid"]

    # WHEN rotating: next → current, current → previous (still published)
    states = {k["kid"]: k["state"]
              for k in body_json(admin(http, "POST", "/keys/rotate", {}))["items"]}
    assert states == {first["kid"]: "previous", second["kid"]: "current"}
    new_token = body_json(token_request(http, demo))["access_token"]
    assert jwt.get_unverified_header(new_token)["kid"] == second["kid"]
    assert _verifies(http, old_token) and _verifies(http, new_token)

    # A third key cannot push the previous one out while its tokens may live
    third = body_json(admin(http, "POST", "/keys", {"kms_key_id": _new_key(aws)}))
    refused = admin(http, "POST", "/keys/rotate", {})
    assert refused.status_code == 409
    assert _jwks_kids(http) == {first["kid"], second["kid"], third["kid"]}

    # THEN once every token of the previous key has expired it is retired (unpublished)
    clock.advance(86400 + 300 + 1)
    states = {k["kid"]: k["state"]
              for k in body_json(admin(http, "POST", "/keys/rotate", {}))["items"]}
    assert states == {first["kid"]: "retired", second["kid"]: "previous",
                      third["kid"]: "current"}
    assert _jwks_kids(http) == {second["kid"], third["kid"]}
    assert not _verifies(http, old_token)
    assert _verifies(http, new_token)


def test_rotation_without_a_next_key_is_refused_and_keeps_the_current_key(
    http: Any, demo: Demo
) -> None:
    response = admin(http, "POST", "/keys/rotate", {})
    assert response.status_code == 409
    assert body_json(response)["type"] == "urn:m2m-auth:problem:conflict"
    assert [k["state"] for k in body_json(admin(http, "GET", "/keys"))["items"]] == ["current"]
    assert token_request(http, demo).status_code == 200


# ---- scheduled rotation --------------------------------------------------------------


@pytest.fixture
def scheduled(aws: AwsBackend, clock: Any) -> runtime.Services:
    services = runtime.build_services(
        make_settings(KEY_ROTATION_DAYS="90", KEY_ROTATION_LEAD_DAYS="7"),
        DynamoDBStore(aws.dynamodb, TABLE), KmsSigner(aws.kms), clock,
        key_factory=KmsKeyFactory(aws.kms),
    )
    services.keyring.register(aws.key_arn, "RS256", KeyState.CURRENT)
    return services


def test_scheduled_rotation_creates_the_next_key_ahead_and_promotes_it_later(
    scheduled: runtime.Services, aws: AwsBackend, clock: Any
) -> None:
    import app as chalice_app

    runtime.install(scheduled)
    rotation = scheduled.rotation
    assert rotation is not None
    day = 86400

    assert "nothing to do" in rotation.run()
    clock.advance(83 * day)
    aws.counter.reset()
    with Client(chalice_app.app) as client:  # the Chalice scheduled function itself
        client.lambda_.invoke("rotate_signing_keys", client.events.generate_cw_event(
            source="aws.events", detail_type="Scheduled Event", detail={}, resources=[]))
    assert aws.counter.calls["kms:CreateKey"] == 1
    states = Counter(k.state for k in scheduled.keys.list_keys())
    assert states == Counter({KeyState.CURRENT: 1, KeyState.NEXT: 1})
    [created] = [k for k in scheduled.keys.list_keys() if k.state is KeyState.NEXT]
    tags = aws.kms.list_resource_tags(KeyId=created.kms_key_id)["Tags"]
    assert {"TagKey": "m2m-auth", "TagValue": "signing-key"} in tags

    assert "waiting" in rotation.run()  # published, not promoted before the period ends
    clock.advance(7 * day)
    assert rotation.run().startswith("promoted")
    assert scheduled.keyring.current().kid == created.kid
    audit = scheduled.store.list_audit(10, None).items
    assert audit[0].action == "key.rotate" and audit[0].actor == "scheduled-rotation"


def test_keys_the_rotation_creates_are_tagged_with_their_stack(aws: AwsBackend) -> None:
    arn = KmsKeyFactory(aws.kms, stack="m2m-auth-dev").create("RS256", "rotation")
    tags = aws.kms.list_resource_tags(KeyId=arn)["Tags"]
    assert {"TagKey": "m2m-auth:stack", "TagValue": "m2m-auth-dev"} in tags
    assert {"TagKey": "m2m-auth:created-by", "TagValue": "rotator"} in tags
    spec = aws.kms.describe_key(KeyId=arn)["KeyMetadata"]
    assert spec["KeySpec"] == "RSA_2048" and spec["KeyUsage"] == "SIGN_VERIFY"
