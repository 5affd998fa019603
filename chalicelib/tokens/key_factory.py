"""What the key rotation needs to create signing keys and retire them, whatever
creates them (the AWS KMS adapter is :mod:`chalicelib.aws.kms_keys`)."""

from __future__ import annotations

from enum import StrEnum
from typing import Protocol


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

    def unready_regions(self, key_arn: str) -> list[str]:
        """Regions of the stage where the key cannot sign yet (multi-region stages:
        no replica, or one not ``Enabled``); [] when it can sign everywhere."""
