"""Retired signing keys are scheduled for deletion by the daily rotation: once,
after a grace period, with KMS's 30-day window, and only keys this stack's rotation
created. moto for the happy path; botocore Stubber for KMS's refusals."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import boto3
import pytest
from botocore.stub import ANY, Stubber

from chalicelib import runtime
from chalicelib.admin.keys import KeyDeletionFailed
from chalicelib.aws.kms_keys import KmsKeyFactory
from chalicelib.aws.kms_signer import KmsSigner
from chalicelib.errors import SigningFailed
from chalicelib.store.dynamodb import DynamoDBStore
from chalicelib.store.memory import MemoryStore
from chalicelib.store.records import KeyState, SigningKeyRecord
from chalicelib.tokens.key_factory import Deletion
from chalicelib.tokens.key_policy import rotated_key_policy
from tests.conftest import TABLE, AwsBackend, make_settings
from tests.fakes import FakeClock

DAY = 86400
STACK = "m2m-auth-dev"
SIGNER_ROLE = "arn:aws:iam::123456789012:role/m2m-auth-dev-ApiHandlerRole-A1"
ROTATION_ROLE = "arn:aws:iam::123456789012:role/m2m-auth-dev-RotateSigningKeysRole-B2"
KEY_ARN = "arn:aws:kms:us-east-1:123456789012:key/11111111-2222-3333-4444-555555555555"


def _factory(kms: Any, stack: str = STACK) -> KmsKeyFactory:
    return KmsKeyFactory(kms, stack, SIGNER_ROLE, ROTATION_ROLE)


@pytest.fixture
def services(aws: AwsBackend, clock: FakeClock) -> runtime.Services:
    built = runtime.build_services(
        make_settings(SIGNING_KEY_ID=aws.key_arn, M2M_STACK=STACK, KEY_DELETION_GRACE_DAYS="30"),
        DynamoDBStore(aws.dynamodb, TABLE), KmsSigner(aws.kms), clock,
        key_factory=_factory(aws.kms),
    )
    built.keyring.register(aws.key_arn, "RS256", KeyState.CURRENT)
    return built


def _retire(services: runtime.Services, arn: str, kid: str, when: float) -> None:
    services.store.add_key(SigningKeyRecord(
        kid=kid, kms_key_id=arn, alg="RS256", state=KeyState.RETIRED,
        created_at=int(when) - 200 * DAY, retired_at=int(when),
    ))


def _record(services: runtime.Services, kid: str) -> SigningKeyRecord:
    return next(k for k in services.keys.list_keys() if k.kid == kid)


def _run(services: runtime.Services) -> str:
    assert services.rotation is not None
    return services.rotation.run()


def test_a_retired_rotated_key_is_scheduled_for_deletion_once_after_the_grace_period(
    services: runtime.Services, aws: AwsBackend, clock: FakeClock
) -> None:
    # GIVEN a key the rotation created, retired today
    arn = _factory(aws.kms).create("RS256", "rotation")
    _retire(services, arn, "kid-old", clock())
    aws.counter.reset()

    # WHEN the rotation runs within the grace period THEN the key is kept
    _run(services)
    assert aws.counter.calls["kms:ScheduleKeyDeletion"] == 0
    assert _record(services, "kid-old").deletion_scheduled_at is None

    # WHEN it runs once the grace period is over THEN KMS deletes it in 30 days
    clock.advance(30 * DAY)
    assert "deletion scheduled for kid-old" in _run(services)
    metadata = aws.kms.describe_key(KeyId=arn)["KeyMetadata"]
    assert metadata["KeyState"] == "PendingDeletion"
    days = (metadata["DeletionDate"] - datetime.now(UTC)).days  # moto uses the real time
    assert 29 <= days <= 30
    assert _record(services, "kid-old").deletion_scheduled_at == int(clock())
    [audit] = [a for a in services.store.list_audit(10, None).items
               if a.action == "key.schedule-deletion"]
    assert audit.target == "keys/kid-old" and audit.actor == "scheduled-rotation"

    # AND only once
    clock.advance(DAY)
    _run(services)
    assert aws.counter.calls["kms:ScheduleKeyDeletion"] == 1


def test_the_first_key_that_cloudformation_created_is_never_scheduled(
    services: runtime.Services, aws: AwsBackend, clock: FakeClock
) -> None:
    # The template's key is protected by name (SIGNING_KEY_ID) and by its tags.
    _retire(services, aws.key_arn, "kid-first", clock())
    clock.advance(400 * DAY)
    aws.counter.reset()

    _run(services)

    assert aws.counter.calls["kms:ScheduleKeyDeletion"] == 0
    assert aws.kms.describe_key(KeyId=aws.key_arn)["KeyMetadata"]["KeyState"] == "Enabled"


def test_a_key_of_another_stack_is_kept_and_not_marked(
    services: runtime.Services, aws: AwsBackend, clock: FakeClock
) -> None:
    other = _factory(aws.kms, stack="m2m-auth-prod").create("RS256", "prod's key")
    untagged = aws.kms.create_key(KeySpec="RSA_2048", KeyUsage="SIGN_VERIFY")["KeyMetadata"]
    _retire(services, other, "kid-prod", clock())
    _retire(services, untagged["Arn"], "kid-untagged", clock())
    clock.advance(31 * DAY)

    _run(services)

    for arn in (other, untagged["Arn"]):
        assert aws.kms.describe_key(KeyId=arn)["KeyMetadata"]["KeyState"] == "Enabled"
    assert _record(services, "kid-prod").deletion_scheduled_at is None
    assert _record(services, "kid-untagged").deletion_scheduled_at is None


def test_keys_the_rotation_creates_carry_the_explicit_key_policy(aws: AwsBackend) -> None:
    arn = _factory(aws.kms).create("RS256", "rotation")
    policy = json.loads(aws.kms.get_key_policy(KeyId=arn, PolicyName="default")["Policy"])
    assert policy == rotated_key_policy(SIGNER_ROLE, ROTATION_ROLE, STACK)


def test_without_role_arns_keys_get_kms_default_policy(aws: AwsBackend) -> None:
    # Local mode and tests: no roles to name, so no Policy parameter at all.
    arn = KmsKeyFactory(aws.kms, STACK).create("RS256", "local")
    policy = json.loads(aws.kms.get_key_policy(KeyId=arn, PolicyName="default")["Policy"])
    assert "RotationFunctionSchedulesDeletionOfItsOwnKey" not in json.dumps(policy)


def test_the_key_policy_is_set_at_creation_without_letting_the_rotation_rewrite_it() -> None:
    # KMS's lockout check would refuse a policy the caller cannot later change; the
    # rotation role is deliberately unable to, so it passes the documented bypass flag.
    client = boto3.client("kms", region_name="us-east-1")
    stub = Stubber(client)
    expected = {
        "KeySpec": "RSA_2048", "KeyUsage": "SIGN_VERIFY", "Description": "rotation",
        "Tags": ANY, "BypassPolicyLockoutSafetyCheck": True,
        "Policy": json.dumps(rotated_key_policy(SIGNER_ROLE, ROTATION_ROLE, STACK)),
    }
    stub.add_response("create_key", {"KeyMetadata": {"KeyId": "k", "Arn": KEY_ARN}}, expected)
    # create() then reads the new key (KMS may take a while to propagate it)
    stub.add_response("get_public_key", {"KeyId": KEY_ARN, "PublicKey": b"der"})
    stub.add_response("describe_key", {"KeyMetadata": {"KeyId": "k", "Arn": KEY_ARN}})
    with stub:
        assert _factory(client).create("RS256", "rotation") == KEY_ARN
    policy = rotated_key_policy(SIGNER_ROLE, ROTATION_ROLE, STACK)
    rotation_actions = {a for s in policy["Statement"]
                        if s["Principal"] == {"AWS": ROTATION_ROLE}
                        for a in (s["Action"] if isinstance(s["Action"], list)
                                  else [s["Action"]])}
    assert "kms:ScheduleKeyDeletion" in rotation_actions  # the scan found its statements
    assert "kms:PutKeyPolicy" not in rotation_actions


# -- KMS refusals (botocore Stubber) ----------------------------------------------------


OUR_TAGS = {"Tags": [
    {"TagKey": "m2m-auth", "TagValue": "signing-key"},
    {"TagKey": "m2m-auth:created-by", "TagValue": "rotator"},
    {"TagKey": "m2m-auth:stack", "TagValue": STACK},
]}


@pytest.fixture
def stubbed() -> tuple[Any, Stubber]:
    client = boto3.client("kms", region_name="us-east-1")
    return client, Stubber(client)


def test_a_key_already_gone_counts_as_deleted(stubbed: tuple[Any, Stubber]) -> None:
    client, stub = stubbed
    stub.add_response("list_resource_tags", OUR_TAGS, {"KeyId": KEY_ARN})
    stub.add_client_error("schedule_key_deletion", "NotFoundException", http_status_code=400)
    with stub:
        assert _factory(client).schedule_deletion(KEY_ARN) is Deletion.GONE
    stub.assert_no_pending_responses()


def test_a_key_already_pending_deletion_counts_as_scheduled(
    stubbed: tuple[Any, Stubber],
) -> None:
    client, stub = stubbed
    stub.add_response("list_resource_tags", OUR_TAGS, {"KeyId": KEY_ARN})
    stub.add_client_error("schedule_key_deletion", "KMSInvalidStateException",
                          http_status_code=400)
    stub.add_response("describe_key", {"KeyMetadata": {
        "KeyId": KEY_ARN, "Arn": KEY_ARN, "KeyState": "PendingDeletion"}}, {"KeyId": KEY_ARN})
    with stub:
        assert _factory(client).schedule_deletion(KEY_ARN) is Deletion.ALREADY_PENDING


def test_a_key_disabled_rather_than_pending_is_a_failure(stubbed: tuple[Any, Stubber]) -> None:
    client, stub = stubbed
    stub.add_response("list_resource_tags", OUR_TAGS, {"KeyId": KEY_ARN})
    stub.add_client_error("schedule_key_deletion", "KMSInvalidStateException",
                          http_status_code=400)
    stub.add_response("describe_key", {"KeyMetadata": {
        "KeyId": KEY_ARN, "Arn": KEY_ARN, "KeyState": "PendingImport"}}, {"KeyId": KEY_ARN})
    with stub, pytest.raises(SigningFailed, match="KMSInvalidStateException"):
        _factory(client).schedule_deletion(KEY_ARN)


def test_access_denied_to_the_deletion_is_a_failure_never_a_mark(
    stubbed: tuple[Any, Stubber],
) -> None:
    client, stub = stubbed
    stub.add_response("list_resource_tags", OUR_TAGS, {"KeyId": KEY_ARN})
    stub.add_client_error("schedule_key_deletion", "AccessDeniedException",
                          http_status_code=400)
    with stub, pytest.raises(SigningFailed, match="AccessDeniedException"):
        _factory(client).schedule_deletion(KEY_ARN)


def test_a_key_whose_tags_the_rotation_may_not_read_is_not_ours_and_kept(
    stubbed: tuple[Any, Stubber],
) -> None:
    # A key an operator registered: its key policy does not name the rotation role, and
    # no IAM statement lets the role read a key by its tags any more.
    client, stub = stubbed
    stub.add_client_error("list_resource_tags", "AccessDeniedException", http_status_code=400)
    with stub:
        assert _factory(client).schedule_deletion(KEY_ARN) is Deletion.NOT_OURS
    stub.assert_no_pending_responses()


def test_other_refusals_to_read_the_tags_are_failures(stubbed: tuple[Any, Stubber]) -> None:
    client, stub = stubbed
    stub.add_client_error("list_resource_tags", "KMSInternalException", http_status_code=500)
    with stub, pytest.raises(SigningFailed, match="KMSInternalException"):
        _factory(client).schedule_deletion(KEY_ARN)


def test_the_deletion_asks_for_the_30_day_window(stubbed: tuple[Any, Stubber]) -> None:
    client, stub = stubbed
    stub.add_response("list_resource_tags", OUR_TAGS, {"KeyId": KEY_ARN})
    stub.add_response("schedule_key_deletion", {"KeyId": KEY_ARN},
                      {"KeyId": KEY_ARN.rsplit("/", 1)[-1], "PendingWindowInDays": 30})
    with stub:
        assert _factory(client).schedule_deletion(KEY_ARN) is Deletion.SCHEDULED


def test_a_refused_deletion_fails_the_run_after_the_other_keys_are_done(
    clock: FakeClock, stubbed: tuple[Any, Stubber]
) -> None:
    # GIVEN two retired keys, the first of which KMS refuses to schedule
    client, stub = stubbed
    store = MemoryStore()
    services = runtime.build_services(
        make_settings(M2M_STACK=STACK), store, KmsSigner(client), clock,
        key_factory=_factory(client),
    )
    refused, accepted = (f"{KEY_ARN[:-1]}{n}" for n in (1, 2))
    for kid, arn in (("kid-a", refused), ("kid-b", accepted)):
        store.add_key(SigningKeyRecord(kid=kid, kms_key_id=arn, alg="RS256",
                                       state=KeyState.RETIRED, created_at=0,
                                       retired_at=int(clock())))
    clock.advance(31 * DAY)
    stub.add_response("list_resource_tags", OUR_TAGS, {"KeyId": refused})
    stub.add_client_error("schedule_key_deletion", "AccessDeniedException",
                          http_status_code=400)
    stub.add_response("list_resource_tags", OUR_TAGS, {"KeyId": accepted})
    stub.add_response("schedule_key_deletion", {"KeyId": accepted},
                      {"KeyId": accepted.rsplit("/", 1)[-1], "PendingWindowInDays": 30})

    # WHEN the rotation runs THEN it fails (the rotation-errors alarm fires) ...
    with stub, pytest.raises(KeyDeletionFailed, match="kid-a"):
        _run(services)
    # ... having marked only the key KMS accepted
    marked = {k.kid: k.deletion_scheduled_at for k in store.list_keys()}
    assert marked == {"kid-a": None, "kid-b": int(clock())}
    assert replace(store.list_keys()[0]).state is KeyState.RETIRED
