"""Creating signing keys in KMS and scheduling the deletion of retired ones
(the scheduled rotation function only).

A key just created may be refused for a while (KMS is eventually consistent): the
factory replicates and reads it again with a bounded backoff (:mod:`.propagation`)
before it returns it, and reports a key it cannot use in time as
:class:`~chalicelib.tokens.key_factory.NewKeyUnusable` for the rotation to discard."""

from __future__ import annotations

import contextlib
import json
import logging
import time
from collections.abc import Callable, Sequence
from functools import partial
from typing import TYPE_CHECKING

from ..errors import SigningFailed
from ..tokens.key_factory import Deletion, NewKeyUnusable
from ..tokens.key_policy import (
    CREATED_BY_TAG,
    DELETION_WINDOW_DAYS,
    ROTATOR_TAG_VALUE,
    SERVICE_TAG,
    SIGNING_KEY_TAG_VALUE,
    STACK_TAG,
    rotated_key_policy,
)
from ..tokens.multi_region import in_region, is_multi_region_key
from .propagation import DISCARD, PROPAGATION, Backoff, NotPropagated, Patience

if TYPE_CHECKING:
    from mypy_boto3_kms import KMSClient

log = logging.getLogger(__name__)
KEY_SPECS = {"RS256": "RSA_2048", "ES256": "ECC_NIST_P256"}


class KmsKeyFactory:
    """Creates keys in the home region; in a multi-region stage (``replica_regions``)
    each key is a multi-Region primary replicated to every other region, and
    ``client_for(region)`` gives the KMS client of each of those regions."""

    def __init__(
        self,
        client: KMSClient,
        stack: str | None = None,
        signer_role_arn: str | None = None,
        rotation_role_arn: str | None = None,
        replica_regions: Sequence[str] = (),
        client_for: Callable[[str], KMSClient] | None = None,
        signer_role_pattern: str | None = None,
        backoff: Backoff = PROPAGATION,
        discard_backoff: Backoff = DISCARD,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if replica_regions and client_for is None:
            raise ValueError("replica regions need a KMS client per region")
        self._client = client
        self._wait = Patience(backoff, sleep, clock)
        self._discard_wait = Patience(discard_backoff, sleep, clock)
        self._replica_regions = tuple(replica_regions)
        self._client_for = client_for
        self._stack = stack
        self._tags = [
            {"TagKey": SERVICE_TAG, "TagValue": SIGNING_KEY_TAG_VALUE},
            {"TagKey": CREATED_BY_TAG, "TagValue": ROTATOR_TAG_VALUE},
        ]
        if stack:  # labels (and the key policy's deletion condition), never a grant
            self._tags.append({"TagKey": STACK_TAG, "TagValue": stack})
        self._policy = (
            json.dumps(rotated_key_policy(
                signer_role_arn, rotation_role_arn, stack,
                signer_role_pattern if replica_regions else None, self._replica_regions))
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
        if self._replica_regions:
            extra["MultiRegion"] = True
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
        arn = str(metadata["Arn"])
        log.info("kms: created key %s (%s)", arn, KEY_SPECS[alg])
        self._until_usable(arn)
        return arn

    def _until_usable(self, arn: str) -> None:
        """Replicate the new key and read it as the rotation will (GetPublicKey,
        DescribeKey), each call again while KMS has not propagated the key or its
        policy, all within one budget; :class:`NewKeyUnusable` after it."""
        from botocore.exceptions import BotoCoreError, ClientError

        deadline = self._wait.deadline()
        try:
            for region in self._replica_regions:
                self._wait.call(f"ReplicateKey of {arn} to {region}",
                                partial(self._replicate_once, arn, region), deadline)
            self._wait.call(f"GetPublicKey of {arn}",
                            lambda: self._client.get_public_key(KeyId=arn), deadline)
            self._wait.call(f"DescribeKey of {arn}",
                            lambda: self._client.describe_key(KeyId=arn), deadline)
        except NotPropagated as exc:
            raise NewKeyUnusable(arn, str(exc)) from exc
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code", "")
            raise NewKeyUnusable(arn, f"KMS answered {code}") from exc
        except BotoCoreError as exc:
            raise NewKeyUnusable(arn, type(exc).__name__) from exc

    def discard(self, key_arn: str) -> Deletion:
        """Schedule the deletion of a key ``create`` made (its replicas first), each
        call again while KMS has not propagated the key policy that allows it."""
        from botocore.exceptions import BotoCoreError, ClientError

        deadline = self._discard_wait.deadline()
        try:
            if is_multi_region_key(key_arn) and self._client_for is not None:
                for region in self._replica_regions:  # NotFound here: no replica
                    self._discard_wait.call(
                        f"ScheduleKeyDeletion of {key_arn} in {region}",
                        partial(self._schedule_replica_deletion, key_arn, region),
                        deadline, frozenset({"AccessDeniedException"}))
            self._discard_wait.call(
                f"ScheduleKeyDeletion of {key_arn}",
                lambda: self._client.schedule_key_deletion(
                    KeyId=key_arn.rsplit("/", 1)[-1], PendingWindowInDays=DELETION_WINDOW_DAYS),
                deadline)
        except ClientError as exc:  # NotPropagated (a SigningFailed) goes up as it is
            code = exc.response.get("Error", {}).get("Code", "")
            raise SigningFailed(f"KMS ScheduleKeyDeletion of {key_arn} failed: {code}") from exc
        except BotoCoreError as exc:
            raise SigningFailed(
                f"KMS ScheduleKeyDeletion of {key_arn} failed: {type(exc).__name__}") from exc
        log.info("kms: key %s scheduled for deletion (%d days)", key_arn, DELETION_WINDOW_DAYS)
        return Deletion.SCHEDULED

    def _replicate_once(self, key_arn: str, region: str) -> None:
        """``ReplicateKey`` to ``region`` with the same key policy and tags; a replica
        already there is fine. KMS's errors propagate as they are."""
        from botocore.exceptions import ClientError

        extra = (
            {"Policy": self._policy, "BypassPolicyLockoutSafetyCheck": True}
            if self._policy else {}
        )
        try:
            self._client.replicate_key(  # by key id: KMS takes either, moto only the id
                KeyId=key_arn.rsplit("/", 1)[-1], ReplicaRegion=region, Tags=self._tags,  # type: ignore[arg-type]
                Description="m2m-auth signing key (replica)", **extra,  # type: ignore[arg-type]
            )
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code", "") != "AlreadyExistsException":
                raise

    def _replicate(self, key_arn: str, region: str) -> None:
        """:meth:`_replicate_once`, KMS's errors as :class:`SigningFailed`."""
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            self._replicate_once(key_arn, region)
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code", "")
            raise SigningFailed(f"KMS ReplicateKey to {region} failed: {code}") from exc
        except BotoCoreError as exc:
            raise SigningFailed(
                f"KMS ReplicateKey to {region} failed: {type(exc).__name__}") from exc

    def unready_regions(self, key_arn: str) -> list[str]:
        """``DescribeKey`` of the key's replica in each other region: missing ones
        are replicated again (the rotation retries the next day), and every region
        where the replica is missing or not ``Enabled`` is returned."""
        from botocore.exceptions import BotoCoreError, ClientError

        if not self._replica_regions or self._client_for is None:
            return []
        if not is_multi_region_key(key_arn):
            return list(self._replica_regions)  # a single-region key signs in one region
        unready: list[str] = []
        for region in self._replica_regions:
            try:
                state = self._client_for(region).describe_key(
                    KeyId=in_region(key_arn, region))["KeyMetadata"].get("KeyState")
            except ClientError as exc:
                if exc.response.get("Error", {}).get("Code") != "NotFoundException":
                    raise SigningFailed(f"KMS DescribeKey in {region} failed") from exc
                state = None
                # Reported as unready below whatever happens; the rotation retries.
                with contextlib.suppress(SigningFailed):
                    self._replicate(key_arn, region)
            except BotoCoreError as exc:
                raise SigningFailed(f"KMS DescribeKey in {region} failed") from exc
            if state != "Enabled":
                unready.append(region)
        return unready

    def schedule_deletion(self, key_arn: str) -> Deletion:
        """Check the key's tags name this stack's rotation (the key policy checks
        them again), then ``ScheduleKeyDeletion`` with the 30-day window."""
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            tags = self._tags_of(key_arn)
            if tags is None or not self._stack or tags.get(STACK_TAG) != self._stack or (
                tags.get(CREATED_BY_TAG) != ROTATOR_TAG_VALUE
            ):
                return Deletion.NOT_OURS
            # A multi-Region primary is deleted only once its replicas are gone: they go
            # first (each with its own 30-day window, cancellable).
            if is_multi_region_key(key_arn) and self._client_for is not None:
                for region in self._replica_regions:
                    self._schedule_replica_deletion(key_arn, region)
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

    def _tags_of(self, key_arn: str) -> dict[str, str] | None:
        """The key's tags; None if KMS will not show them to this role. The key policy
        of every key the rotation creates lets it read them, and no IAM statement lets
        it read another key's: such a key (one an operator registered) is not ours."""
        from botocore.exceptions import ClientError

        try:
            listed = self._client.list_resource_tags(KeyId=key_arn)["Tags"]
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "AccessDeniedException":
                return None
            raise
        return {t["TagKey"]: t["TagValue"] for t in listed}

    def _schedule_replica_deletion(self, key_arn: str, region: str) -> None:
        from botocore.exceptions import ClientError

        assert self._client_for is not None  # noqa: S101 - checked by the caller
        try:
            self._client_for(region).schedule_key_deletion(
                KeyId=in_region(key_arn, region), PendingWindowInDays=DELETION_WINDOW_DAYS)
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code", "")
            if code not in ("NotFoundException", "KMSInvalidStateException"):
                raise  # reported by schedule_deletion

    def _pending_deletion(self, key_arn: str) -> bool:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            state = self._client.describe_key(KeyId=key_arn)["KeyMetadata"].get("KeyState")
        except (ClientError, BotoCoreError):
            return False
        return bool(state == "PendingDeletion")
