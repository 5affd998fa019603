"""A key the rotation has just created may be refused for a while (AccessDenied or
NotFound) while KMS propagates it and its key policy: the rotation reads it again with
a bounded exponential backoff, and a key it cannot use in time is scheduled for
deletion, never left behind. botocore Stubber plays KMS; the sleeps are recorded, not
slept."""

from __future__ import annotations

import logging
from contextlib import ExitStack
from dataclasses import dataclass, field
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from chalicelib import runtime
from chalicelib.admin.keys import KeyCreationFailed
from chalicelib.aws.kms_keys import KmsKeyFactory
from chalicelib.aws.kms_signer import KmsSigner
from chalicelib.aws.propagation import DISCARD, PROPAGATION, Backoff
from chalicelib.store.memory import MemoryStore
from chalicelib.store.records import KeyState, SigningKeyRecord
from tests.conftest import make_settings
from tests.fakes import FakeClock

DAY = 86400
STACK = "m2m-auth-dev"
HOME, OTHER = "us-east-1", "eu-west-1"
SIGNER_ROLE = "arn:aws:iam::123456789012:role/m2m-auth-dev-ApiHandlerRole-A1"
ROTATION_ROLE = "arn:aws:iam::123456789012:role/m2m-auth-dev-RotateSigningKeysRole-B2"
KEY_ID = "mrk-1234abcd12ab34cd56ef1234567890ab"
NEW_KEY = f"arn:aws:kms:{HOME}:123456789012:key/{KEY_ID}"
FIRST_KEY = f"arn:aws:kms:{HOME}:123456789012:key/first"
BACKOFF = Backoff(first=1, factor=2, cap=8, budget=20)
"""Waits 1, 2, 4, 8 and 5 seconds: six attempts in all."""
ATTEMPTS = 6


@dataclass
class Waits:
    """The injected clock and sleep: sleeping moves the clock, nothing waits."""

    now: float = 0.0
    slept: list[float] = field(default_factory=list)

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


@pytest.fixture(scope="module")
def public_der() -> bytes:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.public_key().public_bytes(serialization.Encoding.DER,
                                         serialization.PublicFormat.SubjectPublicKeyInfo)


@pytest.fixture
def waits() -> Waits:
    return Waits()


def _client(region: str = HOME) -> tuple[Any, Stubber]:
    client = boto3.client("kms", region_name=region)
    return client, Stubber(client)


def _factory(client: Any, waits: Waits, **extra: Any) -> KmsKeyFactory:
    return KmsKeyFactory(client, STACK, SIGNER_ROLE, ROTATION_ROLE, backoff=BACKOFF,
                         discard_backoff=BACKOFF, sleep=waits.sleep, clock=waits.clock,
                         **extra)


def _created(stub: Stubber) -> None:
    stub.add_response("create_key", {"KeyMetadata": {"KeyId": KEY_ID, "Arn": NEW_KEY}})


def _readable(stub: Stubber, der: bytes) -> None:
    """GetPublicKey and DescribeKey answer: the readiness check, or add_next's."""
    stub.add_response("get_public_key", {
        "KeyId": NEW_KEY, "PublicKey": der, "KeySpec": "RSA_2048", "KeyUsage": "SIGN_VERIFY",
        "SigningAlgorithms": ["RSASSA_PKCS1_V1_5_SHA_256"]}, {"KeyId": NEW_KEY})
    stub.add_response("describe_key", {"KeyMetadata": {
        "KeyId": KEY_ID, "Arn": NEW_KEY, "KeyState": "Enabled"}}, {"KeyId": NEW_KEY})


def _refused(stub: Stubber, operation: str, times: int,
             code: str = "AccessDeniedException") -> None:
    for _ in range(times):
        stub.add_client_error(operation, code, http_status_code=400)


def _scheduled(stub: Stubber) -> None:
    stub.add_response("schedule_key_deletion", {"KeyId": NEW_KEY},
                      {"KeyId": KEY_ID, "PendingWindowInDays": 30})


def _rotation_due(client: Any, factory: KmsKeyFactory, clock: FakeClock) -> runtime.Services:
    """A stack whose current key is old enough for the rotation to create a next one."""
    store = MemoryStore()
    store.add_key(SigningKeyRecord(
        kid="kid-first", kms_key_id=FIRST_KEY, alg="RS256", state=KeyState.CURRENT,
        created_at=int(clock()) - 100 * DAY, activated_at=int(clock()) - 84 * DAY))
    return runtime.build_services(make_settings(M2M_STACK=STACK), store, KmsSigner(client),
                                  clock, key_factory=factory)


def _next_keys(services: runtime.Services) -> list[SigningKeyRecord]:
    return [k for k in services.keys.list_keys() if k.state is KeyState.NEXT]


def _failing_run(client: Any, stubs: list[Stubber], factory: KmsKeyFactory,
                 clock: FakeClock) -> str:
    """Run a due rotation that must fail: every stubbed answer used, no next key
    registered; the error's message."""
    services = _rotation_due(client, factory, clock)
    assert services.rotation is not None
    with ExitStack() as active, pytest.raises(KeyCreationFailed) as failed:
        for stub in stubs:
            active.enter_context(stub)
        services.rotation.run()
    for stub in stubs:
        stub.assert_no_pending_responses()
    assert _next_keys(services) == []
    return str(failed.value)


def test_a_new_key_refused_at_first_is_read_again_after_a_backoff_and_registered(
    clock: FakeClock, waits: Waits, public_der: bytes, caplog: pytest.LogCaptureFixture,
) -> None:
    # GIVEN KMS refuses the first read of the key it has just created
    client, stub = _client()
    _created(stub)
    _refused(stub, "get_public_key", 1)
    _readable(stub, public_der)  # the retry
    _readable(stub, public_der)  # add_next registers it
    services = _rotation_due(client, _factory(client, waits), clock)
    assert services.rotation is not None
    # WHEN the rotation runs
    with stub, caplog.at_level(logging.INFO):
        outcome = services.rotation.run()
    # THEN it waited once, read the key again and registered it as next
    stub.assert_no_pending_responses()
    assert outcome.startswith("created next key")
    assert waits.slept == [1.0]
    assert [k.kms_key_id for k in _next_keys(services)] == [NEW_KEY]
    lines = [r.getMessage() for r in caplog.records if NEW_KEY in r.getMessage()]
    assert any("AccessDeniedException" in line and "attempt 1" in line for line in lines)
    assert any("after 2 attempts" in line for line in lines)


@pytest.mark.parametrize("code", ["AccessDeniedException", "NotFoundException"])
def test_a_new_key_never_readable_is_scheduled_for_deletion_and_the_run_fails(
    clock: FakeClock, waits: Waits, caplog: pytest.LogCaptureFixture, code: str,
) -> None:
    # GIVEN KMS refuses every read of the new key for longer than the backoff's budget
    client, stub = _client()
    _created(stub)
    _refused(stub, "get_public_key", ATTEMPTS, code)
    _scheduled(stub)  # THEN its deletion is scheduled (30-day window) ...
    # ... and the run fails, naming the key and what became of it
    with caplog.at_level(logging.INFO):
        message = _failing_run(client, [stub], _factory(client, waits), clock)
    assert NEW_KEY in message and "scheduled for deletion" in message
    assert sum(waits.slept) == BACKOFF.budget
    assert waits.slept == [1.0, 2.0, 4.0, 8.0, 5.0]
    errors = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert any(NEW_KEY in e and f"{ATTEMPTS} attempts" in e and code in e for e in errors)


def test_a_key_kms_refuses_to_delete_too_is_named_for_an_operator(
    clock: FakeClock, waits: Waits, caplog: pytest.LogCaptureFixture,
) -> None:
    client, stub = _client()
    _created(stub)
    _refused(stub, "get_public_key", ATTEMPTS)
    _refused(stub, "schedule_key_deletion", ATTEMPTS)
    with caplog.at_level(logging.INFO):
        message = _failing_run(client, [stub], _factory(client, waits), clock)
    assert NEW_KEY in message and "schedule its deletion" in message
    assert sum(waits.slept) == 2 * BACKOFF.budget  # each wait within its own budget
    errors = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert any(NEW_KEY in e and "schedule its deletion" in e for e in errors)


def test_a_new_key_refused_when_registered_is_scheduled_for_deletion(
    clock: FakeClock, waits: Waits, public_der: bytes,
) -> None:
    # GIVEN KMS answers the readiness check, then refuses add_next's read (its answers
    # are eventually consistent: another host may not know the key yet)
    client, stub = _client()
    _created(stub)
    _readable(stub, public_der)
    _refused(stub, "get_public_key", 1)
    _scheduled(stub)
    message = _failing_run(client, [stub], _factory(client, waits), clock)
    assert "cannot be registered" in message and "scheduled for deletion" in message


# -- multi-region stages: the replica ------------------------------------------------------


def _multi_region(client: Any, waits: Waits, regional: Any) -> KmsKeyFactory:
    return _factory(client, waits, replica_regions=[OTHER], client_for=lambda _: regional,
                    signer_role_pattern="arn:aws:iam::123456789012:role/m2m-auth-dev-*")


def _replicated(stub: Stubber) -> None:
    stub.add_response("replicate_key", {"ReplicaKeyMetadata": {
        "KeyId": KEY_ID, "Arn": NEW_KEY.replace(HOME, OTHER), "KeyState": "Creating"}})


@pytest.mark.parametrize("code", ["NotFoundException", "AccessDeniedException"])
def test_a_primary_not_yet_known_to_replicate_key_is_replicated_after_a_backoff(
    waits: Waits, public_der: bytes, code: str,
) -> None:
    # GIVEN ReplicateKey, right after CreateKey, does not find (or may not use) the primary
    client, stub = _client()
    regional, _ = _client(OTHER)
    _created(stub)
    _refused(stub, "replicate_key", 1, code)
    _replicated(stub)
    _readable(stub, public_der)
    # WHEN the rotation creates the key THEN it replicates it on the second attempt
    with stub:
        assert _multi_region(client, waits, regional).create("RS256", "rotation") == NEW_KEY
    stub.assert_no_pending_responses()
    assert waits.slept == [1.0]


def test_a_key_that_cannot_be_replicated_in_time_is_deleted_with_its_replicas(
    clock: FakeClock, waits: Waits,
) -> None:
    # GIVEN ReplicateKey keeps refusing the new primary
    client, stub = _client()
    regional, regional_stub = _client(OTHER)
    _created(stub)
    _refused(stub, "replicate_key", ATTEMPTS, "NotFoundException")
    # THEN the replica (none here) and then the primary are scheduled for deletion
    regional_stub.add_client_error("schedule_key_deletion", "NotFoundException",
                                   http_status_code=400)
    _scheduled(stub)
    message = _failing_run(client, [stub, regional_stub],
                           _multi_region(client, waits, regional), clock)
    assert NEW_KEY in message and OTHER in message and "scheduled for deletion" in message


def test_a_key_readable_at_once_costs_no_wait(waits: Waits, public_der: bytes) -> None:
    client, stub = _client()
    _created(stub)
    _readable(stub, public_der)
    with stub:
        assert _factory(client, waits).create("RS256", "rotation") == NEW_KEY
    stub.assert_no_pending_responses()
    assert waits.slept == []


def test_the_default_waits_cover_kms_documented_five_minutes_and_end() -> None:
    delays = list(PROPAGATION.delays())
    assert PROPAGATION.budget >= 300  # KMS: up to five minutes to propagate
    assert sum(delays) == PROPAGATION.budget and max(delays) <= PROPAGATION.cap
    assert DISCARD.budget <= PROPAGATION.budget
