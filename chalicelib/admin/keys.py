"""Signing-key lifecycle: register a next key, rotate next → current → previous → retired,
rotate automatically on a schedule, and have KMS delete retired keys after a grace period."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import replace

from ..errors import (
    Conflict,
    FieldError,
    ItemChanged,
    ItemExists,
    SigningFailed,
    ValidationFailed,
)
from ..store.records import KeyState, SigningKeyRecord
from ..store.repository import Store
from ..tokens.key_factory import Deletion, KeyFactory, NewKeyUnusable
from ..tokens.keyring import KeyRejected, KeyRing
from ..tokens.lifetime import MAX_TOKEN_LIFETIME
from . import validation as v
from .audit import SYSTEM, Actor, log_record, new_record

log = logging.getLogger(__name__)
DAY = 86400


class KeyAdmin:
    def __init__(
        self, store: Store, keyring: KeyRing, clock: Callable[[], float], cache_seconds: int,
        unready_regions: Callable[[str], list[str]] | None = None,
    ) -> None:
        self._store = store
        self._keyring = keyring
        self._clock = clock
        self._cache_seconds = cache_seconds
        self._unready_regions = unready_regions
        """Multi-region stages: where a key cannot sign yet (KeyFactory.unready_regions)."""

    def list_keys(self) -> list[SigningKeyRecord]:
        order = {KeyState.NEXT: 0, KeyState.CURRENT: 1, KeyState.PREVIOUS: 2, KeyState.RETIRED: 3}
        return sorted(self._store.list_keys(), key=lambda k: (order[k.state], -k.created_at))

    def add_next(
        self, kms_key_id: object, alg: object = "RS256", actor: Actor = SYSTEM
    ) -> SigningKeyRecord:
        """Register a KMS key (ARN, id or alias) as ``next``: published, not yet signing."""
        errors = v.Errors()
        if not isinstance(kms_key_id, str) or not 0 < len(kms_key_id) <= 2048:
            errors.add("kms_key_id", "must be a KMS key ARN, id or alias")
        if alg not in ("RS256", "ES256"):
            errors.add("alg", "must be RS256 or ES256")
        errors.raise_if_any()
        key_id, algorithm = str(kms_key_id), str(alg)
        try:
            key_arn, kid, _ = self._keyring.describe(key_id, algorithm)
        except KeyRejected as exc:
            raise ValidationFailed(str(exc), [FieldError("kms_key_id", str(exc))]) from exc
        now = int(self._clock())
        record = SigningKeyRecord(kid=kid, kms_key_id=key_arn, alg=algorithm,
                                  state=KeyState.NEXT, created_at=now)
        audit = new_record(actor, "key.add", f"keys/{kid}",
                           {"kms_key_arn": key_arn, "alg": algorithm, "state": "next"}, now)
        try:
            self._store.add_key(record, audit)
        except ItemExists as exc:
            raise Conflict(f"The key {kid} is already registered.") from exc
        self._keyring.invalidate()
        log_record(audit)
        return record

    def rotate(self, actor: Actor = SYSTEM) -> list[SigningKeyRecord]:
        """next → current, current → previous, previous → retired, in one transaction."""
        keys = self._store.list_keys()
        now = int(self._clock())
        nexts = sorted((k for k in keys if k.state is KeyState.NEXT), key=lambda k: k.created_at)
        if not nexts:
            raise Conflict("There is no next key to rotate to; register one first.")
        promoted = nexts[0]
        if self._unready_regions is not None:
            try:
                unready = self._unready_regions(promoted.kms_key_id)
            except SigningFailed as exc:
                raise Conflict(f"Cannot check the replicas of the next key {promoted.kid} "
                               f"({exc}); retry.") from exc
            if unready:
                raise Conflict(
                    f"The next key {promoted.kid} has no enabled replica in "
                    f"{', '.join(unready)} yet; it is promoted only once it can sign in "
                    "every region of the stage."
                )
        # A previous key stays published until every token it signed has expired, and
        # verifiers' caches (and our containers') have seen the change.
        safe_after = MAX_TOKEN_LIFETIME + self._cache_seconds
        changes: list[tuple[SigningKeyRecord, int]] = []
        for key in keys:
            if key.state is KeyState.PREVIOUS:
                live_until = (key.deactivated_at or 0) + safe_after
                if live_until > now:
                    raise Conflict(
                        f"The previous key {key.kid} may still have live tokens; rotate again "
                        f"after {live_until - now} seconds."
                    )
                changes.append((self._moved(key, KeyState.RETIRED, now), key.version))
            elif key.state is KeyState.CURRENT:
                changes.append((self._moved(key, KeyState.PREVIOUS, now), key.version))
        changes.append((self._moved(promoted, KeyState.CURRENT, now), promoted.version))
        audit = new_record(actor, "key.rotate", "keys", {
            k.kid: k.state.value for k, _ in changes
        }, now)
        try:
            self._store.save_keys(changes, audit)
        except ItemChanged as exc:
            raise Conflict("The signing keys changed during the rotation; retry.") from exc
        self._keyring.invalidate()
        log_record(audit)
        return self.list_keys()

    def mark_deletion_scheduled(
        self, key: SigningKeyRecord, outcome: str, actor: Actor = SYSTEM
    ) -> SigningKeyRecord:
        """Record (once) that KMS deletes the retired key's material."""
        now = int(self._clock())
        marked = replace(key, deletion_scheduled_at=now, version=key.version + 1)
        audit = new_record(actor, "key.schedule-deletion", f"keys/{key.kid}",
                           {"kms_key_arn": key.kms_key_id, "outcome": outcome}, now)
        try:
            self._store.save_keys([(marked, key.version)], audit)
        except ItemChanged as exc:
            raise Conflict(f"The key {key.kid} changed; retry.") from exc
        log_record(audit)
        return marked

    @staticmethod
    def _moved(key: SigningKeyRecord, state: KeyState, now: int) -> SigningKeyRecord:
        stamps = {
            KeyState.CURRENT: {"activated_at": now},
            KeyState.PREVIOUS: {"deactivated_at": now},
            KeyState.RETIRED: {"retired_at": now},
        }[state]
        return replace(key, state=state, version=key.version + 1, **stamps)  # type: ignore[arg-type]


class KeyDeletionFailed(RuntimeError):
    """KMS refused to schedule a retired key's deletion (the function fails, which alarms)."""


class KeyCreationFailed(RuntimeError):
    """The rotation could not create a usable next key (the function fails, which
    alarms). A key it created is scheduled for deletion, or named for an operator."""


class ScheduledRotation:
    """Runs daily: creates a next key ``lead_days`` before the current key is
    ``period_days`` old, so verifiers' JWKS caches hold it long before it signs,
    then promotes it once the period is over; and schedules the deletion of keys
    retired at least ``deletion_grace_days`` ago (each key costs $1 a month), once.

    Keys listed in ``protected_key_ids`` (the stack's first key, which
    CloudFormation owns and retains) are never scheduled."""

    ACTOR = Actor("scheduled-rotation")

    def __init__(
        self,
        keys: KeyAdmin,
        factory: KeyFactory,
        clock: Callable[[], float],
        period_days: int,
        lead_days: int,
        alg: str,
        deletion_grace_days: int = 30,
        protected_key_ids: frozenset[str] = frozenset(),
    ) -> None:
        self._keys = keys
        self._factory = factory
        self._clock = clock
        self._period = period_days * DAY
        self._lead = min(lead_days, period_days) * DAY
        self._alg = alg
        self._grace = deletion_grace_days * DAY
        self._protected = protected_key_ids

    def run(self) -> str:
        outcome = self._rotate()
        deleted = self._delete_retired()
        return f"{outcome}; {deleted}" if deleted else outcome

    def _create_next(self) -> SigningKeyRecord:
        """A new KMS key registered as ``next``. Never leaves a key behind: one KMS
        made but that cannot be used, or that cannot be registered, is scheduled for
        deletion (the rotation role may, for keys it created), and the run fails; the
        next run creates another."""
        try:
            arn = self._factory.create(self._alg, "m2m-auth signing key (rotation)")
        except NewKeyUnusable as exc:
            raise self._failed(exc.key_arn, str(exc)) from exc
        except SigningFailed as exc:  # no key was created
            log.error("rotation: could not create a next key: %s", exc)
            raise KeyCreationFailed(f"could not create a next key: {exc}") from exc
        try:
            return self._keys.add_next(arn, self._alg, self.ACTOR)
        except Exception as exc:  # whatever it was, the key must not stay orphaned
            reason = getattr(exc, "detail", None) or str(exc) or type(exc).__name__
            raise self._failed(arn, f"the new key {arn} cannot be registered: "
                                    f"{reason}") from exc

    def _failed(self, key_arn: str, reason: str) -> KeyCreationFailed:
        """Discard the new key; the error the run fails with, logged once."""
        try:
            self._factory.discard(key_arn)
            outcome = "it is scheduled for deletion (30-day window, cancellable)"
        except SigningFailed as exc:
            outcome = (f"KMS refused its deletion too ({exc}): schedule its deletion by hand "
                       f"(aws kms schedule-key-deletion --key-id {key_arn} "
                       "--pending-window-in-days 30)")
        log.error("rotation: %s; %s", reason, outcome)
        return KeyCreationFailed(f"{reason}; {outcome}")

    def _delete_retired(self) -> str:
        now = int(self._clock())
        due = [
            k for k in self._keys.list_keys()
            if k.state is KeyState.RETIRED and k.deletion_scheduled_at is None
            and k.kms_key_id not in self._protected
            and now - (k.retired_at or now) >= self._grace
        ]
        done: list[str] = []
        failed: list[str] = []
        for key in due:
            try:
                result = self._factory.schedule_deletion(key.kms_key_id)
            except SigningFailed as exc:
                log.error("rotation: cannot schedule deletion of kid=%s: %s", key.kid, exc)
                failed.append(key.kid)
                continue
            if result is Deletion.NOT_OURS:
                log.warning("rotation: kid=%s is retired but %s", key.kid, result.value)
                continue
            self._keys.mark_deletion_scheduled(key, result.value, self.ACTOR)
            log.info("rotation: kid=%s deletion %s", key.kid, result.value)
            done.append(key.kid)
        if failed:
            raise KeyDeletionFailed(
                f"could not schedule the deletion of {', '.join(failed)} (see the log)"
            )
        return f"deletion scheduled for {', '.join(done)}" if done else ""

    def _rotate(self) -> str:
        now = int(self._clock())
        keys = self._keys.list_keys()
        current = next((k for k in keys if k.state is KeyState.CURRENT), None)
        pending = next((k for k in keys if k.state is KeyState.NEXT), None)
        if current is None:
            return "no current key: nothing to rotate"
        age = now - (current.activated_at or current.created_at)
        if pending is None:
            if age < self._period - self._lead:
                return "current key is young: nothing to do"
            created = self._create_next()
            log.info("rotation: created next key kid=%s", created.kid)
            return f"created next key {created.kid}"
        if age < self._period or now - pending.created_at < self._lead:
            return "next key is published: waiting to promote it"
        try:
            self._keys.rotate(self.ACTOR)
        except Conflict as exc:
            log.warning("rotation postponed: %s", exc.detail)
            return f"postponed: {exc.detail}"
        log.info("rotation: promoted kid=%s", pending.kid)
        return f"promoted {pending.kid}"
