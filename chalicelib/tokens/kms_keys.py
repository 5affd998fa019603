"""Creating signing keys in KMS and scheduling the deletion of retired ones
(the scheduled rotation function only)."""

from __future__ import annotations

import json
from enum import StrEnum
from typing import TYPE_CHECKING, Protocol

from ..errors import SigningFailed
from .key_policy import (
    CREATED_BY_TAG,
    DELETION_WINDOW_DAYS,
    ROTATOR_TAG_VALUE,
    SERVICE_TAG,
    SIGNING_KEY_TAG_VALUE,
    STACK_TAG,
    rotated_key_policy,
)

if TYPE_CHECKING:
    from mypy_boto3_kms import KMSClient

KEY_SPECS = {"RS256": "RSA_2048", "ES256": "ECC_NIST_P256"}


class Deletion(StrEnum):
    """What asking KMS to delete a retired key came to."""

    SCHEDULED = "scheduled"
    ALREADY_PENDING = "already pending deletion"
    GONE = "no longer exists"
    NOT_OURS = "not created by this stack's rotation: kept"


class KeyFactory(Protocol):
    def create(self, alg: str, description: str) -> str:
        """Create an asymmetric signing key and return its ARN."""

    def schedule_deletion(self, key_arn: str) -> Deletion:
        """Schedule deletion of a key this stack's rotation created (30-day window)."""


class KmsKeyFactory:
    def __init__(
        self,
        client: KMSClient,
        stack: str | None = None,
        signer_role_arn: str | None = None,
        rotation_role_arn: str | None = None,
    ) -> None:
        self._client = client
        self._stack = stack
        self._tags = [
            {"TagKey": SERVICE_TAG, "TagValue": SIGNING_KEY_TAG_VALUE},
            {"TagKey": CREATED_BY_TAG, "TagValue": ROTATOR_TAG_VALUE},
        ]
        if stack:  # the stack's roles may only use keys tagged with its name
            self._tags.append({"TagKey": STACK_TAG, "TagValue": stack})
        self._policy = (
            json.dumps(rotated_key_policy(signer_role_arn, rotation_role_arn, stack))
            if stack and signer_role_arn and rotation_role_arn
            else None  # local mode and tests: KMS's default key policy
        )

    def create(self, alg: str, description: str) -> str:
        from botocore.exceptions import BotoCoreError, ClientError

        # KMS's lockout check wants the caller able to PutKeyPolicy later; the policy
        # deliberately does not let the rotation role rewrite it (the account's
        # administrators can, through IAM): the documented use of the bypass flag.
        extra = (
            {"Policy": self._policy, "BypassPolicyLockoutSafetyCheck": True}
            if self._policy else {}
        )
        try:
            metadata = self._client.create_key(
                KeySpec=KEY_SPECS[alg],  # type: ignore[arg-type]
                KeyUsage="SIGN_VERIFY",
                Description=description,
                Tags=self._tags,  # type: ignore[arg-type]
                **extra,  # type: ignore[arg-type]
            )["KeyMetadata"]
        except (ClientError, BotoCoreError) as exc:
            raise SigningFailed(f"KMS CreateKey failed: {type(exc).__name__}") from exc
        return str(metadata["Arn"])

    def schedule_deletion(self, key_arn: str) -> Deletion:
        """Check the key's tags name this stack's rotation (the key policy checks
        them again), then ``ScheduleKeyDeletion`` with the 30-day window."""
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            tags = {
                t["TagKey"]: t["TagValue"]
                for t in self._client.list_resource_tags(KeyId=key_arn)["Tags"]
            }
            if not self._stack or tags.get(STACK_TAG) != self._stack or (
                tags.get(CREATED_BY_TAG) != ROTATOR_TAG_VALUE
            ):
                return Deletion.NOT_OURS
            # The key id (the ARN's last part): KMS takes either; moto only the id.
            self._client.schedule_key_deletion(
                KeyId=key_arn.rsplit("/", 1)[-1], PendingWindowInDays=DELETION_WINDOW_DAYS
            )
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code", "")
            if code == "NotFoundException":
                return Deletion.GONE
            if code == "KMSInvalidStateException" and self._pending_deletion(key_arn):
                return Deletion.ALREADY_PENDING
            raise SigningFailed(f"KMS ScheduleKeyDeletion failed: {code}") from exc
        except BotoCoreError as exc:
            raise SigningFailed(f"KMS ScheduleKeyDeletion failed: {type(exc).__name__}") from exc
        return Deletion.SCHEDULED

    def _pending_deletion(self, key_arn: str) -> bool:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            state = self._client.describe_key(KeyId=key_arn)["KeyMetadata"].get("KeyState")
        except (ClientError, BotoCoreError):
            return False
        return bool(state == "PendingDeletion")
