"""The AWS KMS adapter behind :class:`~chalicelib.tokens.signer.Signer` (the private key
never leaves KMS); KMS errors become :mod:`chalicelib.errors` values here."""

from __future__ import annotations

import time
from dataclasses import replace
from typing import TYPE_CHECKING

from ..errors import KeyUnusable, SigningFailed, SigningThrottled
from ..tokens.jws import der_to_raw_ecdsa
from ..tokens.multi_region import in_region
from ..tokens.signer import ALGORITHMS, KMS_MAX_RAW_MESSAGE, PublicKeyInfo
from .metrics import KMS_SIGN_LATENCY, NullRecorder, Recorder

if TYPE_CHECKING:
    from botocore.exceptions import ClientError
    from mypy_boto3_kms import KMSClient

_THROTTLING = {"ThrottlingException", "LimitExceededException", "RequestLimitExceeded"}
_UNUSABLE = {
    "NotFoundException", "DisabledException", "KMSInvalidStateException",
    "UnsupportedOperationException", "InvalidKeyUsageException", "AccessDeniedException",
    "InvalidArnException",
}


def _failure(action: str, exc: ClientError) -> SigningFailed:
    code = exc.response.get("Error", {}).get("Code", "")
    if code in _THROTTLING:
        return SigningThrottled(f"KMS throttled {action}: {code}")
    if code in _UNUSABLE:
        return KeyUnusable(f"KMS {action} failed: {code}")
    return SigningFailed(f"KMS {action} failed: {code}")


class KmsSigner:
    """Signs with ``kms:Sign`` (``MessageType=RAW``); reads public keys with ``GetPublicKey``.

    With ``region`` (multi-region stages), a multi-Region key recorded by its ARN in
    another region is used through its replica in ``region``: same key id and key
    material, so the same signatures verify under the same ``kid``."""

    def __init__(
        self, client: KMSClient, metrics: Recorder | None = None, region: str | None = None
    ) -> None:
        self._client = client
        self._metrics = metrics or NullRecorder()
        self._region = region

    def _local(self, key_id: str) -> str:
        return in_region(key_id, self._region) if self._region else key_id

    def sign(self, key_id: str, alg: str, message: bytes) -> bytes:
        from botocore.exceptions import BotoCoreError, ClientError  # not at cold start

        if alg not in ALGORITHMS:
            raise SigningFailed(f"unsupported alg {alg}")
        if len(message) > KMS_MAX_RAW_MESSAGE:
            raise SigningFailed(f"signing input of {len(message)} bytes exceeds KMS's limit")
        started = time.perf_counter()
        try:
            response = self._client.sign(
                KeyId=self._local(key_id),
                Message=message,
                MessageType="RAW",
                SigningAlgorithm=ALGORITHMS[alg][0],  # type: ignore[arg-type]
            )
        except ClientError as exc:
            raise _failure("Sign", exc) from exc
        except BotoCoreError as exc:
            raise SigningFailed(f"KMS Sign failed: {type(exc).__name__}") from exc
        finally:  # failed calls too: a slow throttled KMS is what the latency is watched for
            self._metrics.record(KMS_SIGN_LATENCY, (time.perf_counter() - started) * 1000)
        signature = bytes(response["Signature"])
        return der_to_raw_ecdsa(signature) if alg == "ES256" else signature

    def describe(self, key_id: str) -> PublicKeyInfo:
        from botocore.exceptions import BotoCoreError, ClientError  # not at cold start

        info = self.public_key(key_id)
        try:
            metadata = self._client.describe_key(KeyId=self._local(key_id))["KeyMetadata"]
        except ClientError as exc:
            raise _failure("DescribeKey", exc) from exc
        except BotoCoreError as exc:
            raise SigningFailed(f"KMS DescribeKey failed: {type(exc).__name__}") from exc
        return replace(info, key_arn=str(metadata["Arn"]), key_state=str(metadata["KeyState"]))

    def public_key(self, key_id: str) -> PublicKeyInfo:
        from botocore.exceptions import BotoCoreError, ClientError  # not at cold start

        try:
            response = self._client.get_public_key(KeyId=self._local(key_id))
        except ClientError as exc:
            raise _failure("GetPublicKey", exc) from exc
        except BotoCoreError as exc:
            raise SigningFailed(f"KMS GetPublicKey failed: {type(exc).__name__}") from exc
        return PublicKeyInfo(
            key_arn=str(response["KeyId"]),
            # moto returns only the older CustomerMasterKeySpec; real KMS returns both.
            key_spec=str(response.get("KeySpec") or response.get("CustomerMasterKeySpec", "")),
            key_usage=str(response.get("KeyUsage", "")),
            signing_algorithms=tuple(response.get("SigningAlgorithms", [])),
            der=bytes(response["PublicKey"]),
        )
