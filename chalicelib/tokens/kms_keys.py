"""Creating signing keys in KMS (the scheduled rotation function only)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

from botocore.exceptions import BotoCoreError, ClientError

from ..errors import SigningFailed

if TYPE_CHECKING:
    from mypy_boto3_kms import KMSClient

KEY_SPECS = {"RS256": "RSA_2048", "ES256": "ECC_NIST_P256"}
SERVICE_TAG = {"TagKey": "m2m-auth", "TagValue": "signing-key"}
CREATOR_TAG = {"TagKey": "m2m-auth:created-by", "TagValue": "rotator"}
STACK_TAG_KEY = "m2m-auth:stack"


class KeyFactory(Protocol):
    def create(self, alg: str, description: str) -> str:
        """Create an asymmetric signing key and return its ARN."""


class KmsKeyFactory:
    def __init__(self, client: KMSClient, stack: str | None = None) -> None:
        self._client = client
        self._tags = [SERVICE_TAG, CREATOR_TAG]
        if stack:  # the stack's roles may only use keys tagged with its name
            self._tags.append({"TagKey": STACK_TAG_KEY, "TagValue": stack})

    def create(self, alg: str, description: str) -> str:
        try:
            metadata = self._client.create_key(
                KeySpec=KEY_SPECS[alg],  # type: ignore[arg-type]
                KeyUsage="SIGN_VERIFY",
                Description=description,
                Tags=self._tags,  # type: ignore[arg-type]
            )["KeyMetadata"]
        except (ClientError, BotoCoreError) as exc:
            raise SigningFailed(f"KMS CreateKey failed: {type(exc).__name__}") from exc
        return str(metadata["Arn"])
