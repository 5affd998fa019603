"""The KMS adapter and the key ring on moto; failure modes moto cannot produce
(key state, throttling, access) through botocore's Stubber."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.exceptions import ConnectTimeoutError
from botocore.stub import Stubber
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from cryptography.hazmat.primitives.serialization import load_der_public_key

from chalicelib.aws.kms_signer import KmsSigner
from chalicelib.errors import SigningFailed, SigningThrottled
from chalicelib.store.dynamodb import DynamoDBStore
from chalicelib.store.records import KeyState
from chalicelib.tokens.jwk import public_jwk, thumbprint
from chalicelib.tokens.keyring import KeyRejected, KeyRing
from chalicelib.tokens.signer import KMS_MAX_RAW_MESSAGE
from tests.conftest import TABLE, AwsBackend
from tests.fakes import FakeClock

MESSAGE = b"eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0"
KEY_ID = "arn:aws:kms:us-east-1:123456789012:key/00000000-0000-0000-0000-000000000000"


def create_key(aws: AwsBackend, spec: str, usage: str = "SIGN_VERIFY") -> str:
    return str(aws.kms.create_key(KeySpec=spec, KeyUsage=usage)["KeyMetadata"]["Arn"])


def public_key_of(aws: AwsBackend, key_id: str) -> Any:
    return load_der_public_key(aws.kms.get_public_key(KeyId=key_id)["PublicKey"])


def capture_sign_params(aws: AwsBackend) -> list[dict[str, Any]]:
    captured: list[dict[str, Any]] = []
    aws.kms.meta.events.register(
        "provide-client-params.kms.Sign", lambda params, **_: captured.append(dict(params))
    )
    return captured


@pytest.fixture
def stubbed_kms() -> Iterator[tuple[KmsSigner, Stubber]]:
    client = boto3.client("kms", region_name="us-east-1")
    with Stubber(client) as stubber:
        yield KmsSigner(client), stubber


# -- signing on moto ------------------------------------------------------------


def test_rs256_signature_verifies_with_the_kms_public_key(aws: AwsBackend) -> None:
    captured = capture_sign_params(aws)

    signature = KmsSigner(aws.kms).sign(aws.key_arn, "RS256", MESSAGE)

    public_key = public_key_of(aws, aws.key_arn)
    assert isinstance(public_key, rsa.RSAPublicKey)
    public_key.verify(signature, MESSAGE, padding.PKCS1v15(), hashes.SHA256())
    assert [(p["MessageType"], p["SigningAlgorithm"]) for p in captured] == [
        ("RAW", "RSASSA_PKCS1_V1_5_SHA_256")
    ]


def test_es256_signature_is_raw_r_and_s_and_verifies(aws: AwsBackend) -> None:
    key_arn = create_key(aws, "ECC_NIST_P256")
    captured = capture_sign_params(aws)

    signature = KmsSigner(aws.kms).sign(key_arn, "ES256", MESSAGE)

    assert len(signature) == 64
    der = encode_dss_signature(
        int.from_bytes(signature[:32], "big"), int.from_bytes(signature[32:], "big")
    )
    public_key = public_key_of(aws, key_arn)
    assert isinstance(public_key, ec.EllipticCurvePublicKey)
    public_key.verify(der, MESSAGE, ec.ECDSA(hashes.SHA256()))
    assert [(p["MessageType"], p["SigningAlgorithm"]) for p in captured] == [
        ("RAW", "ECDSA_SHA_256")
    ]


def test_message_over_kms_limit_is_refused_without_calling_kms(aws: AwsBackend) -> None:
    signer = KmsSigner(aws.kms)
    aws.counter.reset()

    with pytest.raises(SigningFailed):
        signer.sign(aws.key_arn, "RS256", b"x" * (KMS_MAX_RAW_MESSAGE + 1))

    assert aws.counter.count("kms") == 0
    signer.sign(aws.key_arn, "RS256", b"x" * KMS_MAX_RAW_MESSAGE)  # the limit itself is fine
    assert aws.counter.count("kms") == 1


def test_unsupported_alg_is_refused_without_calling_kms(aws: AwsBackend) -> None:
    aws.counter.reset()
    with pytest.raises(SigningFailed):
        KmsSigner(aws.kms).sign(aws.key_arn, "PS256", MESSAGE)
    assert aws.counter.count("kms") == 0


# -- KMS failures (Stubber) --------------------------------------------------------


def test_sign_request_uses_message_type_raw(stubbed_kms: tuple[KmsSigner, Stubber]) -> None:
    signer, stubber = stubbed_kms
    stubber.add_response(
        "sign",
        {"KeyId": KEY_ID, "Signature": b"sig", "SigningAlgorithm": "RSASSA_PKCS1_V1_5_SHA_256"},
        expected_params={
            "KeyId": KEY_ID, "Message": MESSAGE, "MessageType": "RAW",
            "SigningAlgorithm": "RSASSA_PKCS1_V1_5_SHA_256",
        },
    )

    assert signer.sign(KEY_ID, "RS256", MESSAGE) == b"sig"
    stubber.assert_no_pending_responses()


@pytest.mark.parametrize(
    "code", ["DisabledException", "KMSInvalidStateException", "AccessDeniedException"]
)
def test_sign_refused_by_kms_raises_signing_failed_not_throttled(
    stubbed_kms: tuple[KmsSigner, Stubber], code: str
) -> None:
    signer, stubber = stubbed_kms
    stubber.add_client_error("sign", code)

    with pytest.raises(SigningFailed) as raised:
        signer.sign(KEY_ID, "RS256", MESSAGE)

    assert not isinstance(raised.value, SigningThrottled)


def test_sign_throttled_by_kms_raises_signing_throttled(
    stubbed_kms: tuple[KmsSigner, Stubber],
) -> None:
    signer, stubber = stubbed_kms
    stubber.add_client_error("sign", "ThrottlingException")

    with pytest.raises(SigningThrottled):
        signer.sign(KEY_ID, "RS256", MESSAGE)


def test_sign_connection_timeout_raises_signing_failed(aws: AwsBackend) -> None:
    def time_out(**_: object) -> None:
        raise ConnectTimeoutError(endpoint_url="https://kms.us-east-1.amazonaws.com")

    aws.kms.meta.events.register("before-send.kms.Sign", time_out)

    with pytest.raises(SigningFailed):
        KmsSigner(aws.kms).sign(aws.key_arn, "RS256", MESSAGE)


def test_get_public_key_failure_raises_signing_failed(
    stubbed_kms: tuple[KmsSigner, Stubber],
) -> None:
    signer, stubber = stubbed_kms
    stubber.add_client_error("get_public_key", "NotFoundException")

    with pytest.raises(SigningFailed):
        signer.public_key(KEY_ID)


# -- key ring: registering ------------------------------------------------------------


def keyring(aws: AwsBackend, clock: FakeClock, **kwargs: Any) -> KeyRing:
    return KeyRing(
        DynamoDBStore(aws.dynamodb, TABLE), KmsSigner(aws.kms), clock,
        kwargs.pop("cache_seconds", 300), **kwargs,
    )


@pytest.mark.parametrize(
    ("spec", "usage"), [("SYMMETRIC_DEFAULT", "ENCRYPT_DECRYPT"), ("RSA_2048", "ENCRYPT_DECRYPT")]
)
def test_register_rejects_an_encryption_key(
    aws: AwsBackend, clock: FakeClock, spec: str, usage: str
) -> None:
    ring = keyring(aws, clock)
    key_arn = create_key(aws, spec, usage)

    with pytest.raises(KeyRejected):
        ring.register(key_arn, "RS256", KeyState.CURRENT)

    assert ring.records() == []


@pytest.mark.parametrize(("spec", "alg"), [("ECC_NIST_P256", "RS256"), ("RSA_2048", "ES256")])
def test_register_rejects_an_alg_the_key_cannot_produce(
    aws: AwsBackend, clock: FakeClock, spec: str, alg: str
) -> None:
    ring = keyring(aws, clock)
    key_arn = create_key(aws, spec)

    with pytest.raises(KeyRejected):
        ring.describe(key_arn, alg)
    with pytest.raises(KeyRejected):
        ring.register(key_arn, alg, KeyState.CURRENT)

    assert ring.records() == []


def test_register_records_the_key_under_its_rfc7638_thumbprint(
    aws: AwsBackend, clock: FakeClock
) -> None:
    ring = keyring(aws, clock)

    record = ring.register(aws.key_arn, "RS256", KeyState.CURRENT)

    assert record.kid == thumbprint(public_jwk(public_key_of(aws, aws.key_arn)))
    assert ring.current() == record


# -- key ring: caching ------------------------------------------------------------------


def test_public_key_is_fetched_from_kms_once_per_key(aws: AwsBackend, clock: FakeClock) -> None:
    ring = keyring(aws, clock)
    rsa_record = ring.register(aws.key_arn, "RS256", KeyState.CURRENT)
    ec_record = ring.register(create_key(aws, "ECC_NIST_P256"), "ES256", KeyState.NEXT)
    aws.counter.reset()

    for _ in range(5):
        assert {k.record.kid for k in ring.published()} == {rsa_record.kid, ec_record.kid}
        assert ring.verification_key(rsa_record.kid) is not None
        assert ring.verification_key(ec_record.kid) is not None
        clock.advance(301)  # records are re-read; public keys are not

    assert aws.counter.calls["kms:GetPublicKey"] == 2


def test_key_records_are_cached_for_key_cache_seconds(aws: AwsBackend, clock: FakeClock) -> None:
    ring = keyring(aws, clock, cache_seconds=300)
    ring.register(aws.key_arn, "RS256", KeyState.CURRENT)
    aws.counter.reset()

    ring.current()
    ring.current()
    clock.advance(299)
    ring.current()
    assert aws.counter.calls["dynamodb:Query"] == 1

    clock.advance(1)
    ring.current()
    assert aws.counter.calls["dynamodb:Query"] == 2


def test_bootstraps_the_configured_key_once_when_the_table_has_none(
    aws: AwsBackend, clock: FakeClock
) -> None:
    first = keyring(aws, clock, bootstrap=(aws.key_arn, "RS256"))

    current = first.current()

    assert current.state is KeyState.CURRENT
    assert current.alg == "RS256"
    assert current.kid == thumbprint(public_jwk(public_key_of(aws, aws.key_arn)))

    # GIVEN another container starting on the same table THEN no second record
    second = keyring(aws, clock, bootstrap=(aws.key_arn, "RS256"))
    assert second.current() == current
    assert DynamoDBStore(aws.dynamodb, TABLE).list_keys() == [current]


class StaleFirstRead(DynamoDBStore):
    """A container that read the empty table just before another one bootstrapped."""

    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        self.stale = True

    def list_keys(self) -> list[Any]:
        if self.stale:
            self.stale = False
            return []
        return super().list_keys()


def test_bootstrap_race_with_another_container_keeps_a_single_record(
    aws: AwsBackend, clock: FakeClock
) -> None:
    winner = keyring(aws, clock, bootstrap=(aws.key_arn, "RS256")).current()
    loser = KeyRing(
        StaleFirstRead(aws.dynamodb, TABLE), KmsSigner(aws.kms), clock, 300,
        bootstrap=(aws.key_arn, "RS256"),
    )

    assert loser.current() == winner
    assert DynamoDBStore(aws.dynamodb, TABLE).list_keys() == [winner]
