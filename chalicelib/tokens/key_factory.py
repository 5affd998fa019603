"""What the key rotation needs to create signing keys and retire them, whatever
creates them (the AWS KMS adapter is :mod:`chalicelib.aws.kms_keys`)."""

from __future__ import annotations

from enum import StrEnum
from typing import Protocol

from ..errors import SigningFailed


class Deletion(StrEnum):
    """What asking KMS to delete a retired key came to."""

    SCHEDULED = "scheduled"
    ALREADY_PENDING = "already pending deletion"
    GONE = "no longer exists"
    NOT_OURS = "not created by this stack's rotation: kept"


class NewKeyUnusable(SigningFailed):
    """``create`` made a key (and in multi-region stages its replicas) that KMS kept
    refusing to replicate, describe or read within the wait: the caller discards it."""

    def __init__(self, key_arn: str, reason: str) -> None:
        super().__init__(f"the new key {key_arn} cannot be used: {reason}")
        self.key_arn = key_arn


class KeyFactory(Protocol):
    def create(self, alg: str, description: str) -> str:
        """Create an asymmetric signing key, wait until it can be read (KMS is
        eventually consistent) and return its ARN; :class:`NewKeyUnusable` if it was
        created but cannot be used, :class:`SigningFailed` if none was created."""

    def discard(self, key_arn: str) -> Deletion:
        """Schedule the deletion (30-day window) of a key ``create`` just returned or
        reported unusable, with its replicas; :class:`SigningFailed` if KMS refuses."""

    def schedule_deletion(self, key_arn: str) -> Deletion:
        """Schedule deletion of a key this stack's rotation created (30-day window)."""

    def unready_regions(self, key_arn: str) -> list[str]:
        """Regions of the stage where the key cannot sign yet (multi-region stages:
        no replica, or one not ``Enabled``); [] when it can sign everywhere."""
