"""The key ring: which key signs, which keys are published, their public halves.

Key records come from storage and are cached for ``cache_seconds``; public keys
come from KMS ``GetPublicKey`` once per container per key (its quota is tiny).
A rotation becomes visible to a warm container within ``cache_seconds``; that
is safe because the key it replaces stays published as ``previous``.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ..errors import ItemExists, KeyUnusable, SigningFailed
from ..store.records import KeyState, SigningKeyRecord
from ..store.repository import KeyRepository
from .jwk import PublicKey, load_public_key, public_jwk, thumbprint
from .signer import ALGORITHMS, Signer

log = logging.getLogger(__name__)


class NoSigningKey(SigningFailed):
    """No key is in the ``current`` state, and none could be bootstrapped."""


class KeyRejected(ValueError):
    """The KMS key cannot be used to sign with the requested algorithm."""


@dataclass(frozen=True)
class PublishedKey:
    record: SigningKeyRecord
    public_key: PublicKey
    jwk: dict[str, Any]


class KeyRing:
    def __init__(
        self,
        keys: KeyRepository,
        signer: Signer,
        clock: Callable[[], float],
        cache_seconds: int,
        bootstrap: tuple[str, str] | None = None,
    ) -> None:
        self._keys = keys
        self._signer = signer
        self._clock = clock
        self._cache_seconds = cache_seconds
        self._bootstrap = bootstrap
        self._lock = threading.Lock()
        self._records: list[SigningKeyRecord] | None = None
        self._loaded_at = 0.0
        self._public: dict[str, tuple[PublicKey, dict[str, Any]]] = {}

    # -- reading ------------------------------------------------------------

    def records(self) -> list[SigningKeyRecord]:
        with self._lock:
            now = self._clock()
            if self._records is None or now - self._loaded_at >= self._cache_seconds:
                records = self._keys.list_keys()
                if not records and self._bootstrap is not None:
                    records = self._bootstrap_first_key(*self._bootstrap)
                self._records, self._loaded_at = records, now
            return list(self._records)

    def current(self) -> SigningKeyRecord:
        current = [r for r in self.records() if r.state is KeyState.CURRENT]
        if not current:
            raise NoSigningKey("no signing key is current")
        # Only one key is current; during a rotation race prefer the newest.
        return max(current, key=lambda r: r.activated_at or 0)

    def published(self) -> list[PublishedKey]:
        """Every key verifiers should trust: next, current and previous."""
        # A key that cannot be loaded fails the request (500/503) rather than being left
        # out: an incomplete JWK Set, cached by verifiers, would reject valid tokens.
        return [self._with_public_key(r) for r in self.records() if r.state.published]

    def verification_key(self, kid: str) -> PublishedKey | None:
        for record in self.records():
            if record.kid == kid and record.state.published:
                return self._with_public_key(record)
        return None

    def invalidate(self) -> None:
        with self._lock:
            self._records = None

    # -- registering --------------------------------------------------------

    def describe(self, kms_key_id: str, alg: str) -> tuple[str, str, PublicKey]:
        """Check a KMS key can sign ``alg``; return (key ARN, kid, public key)."""
        if alg not in ALGORITHMS:
            raise KeyRejected(f"alg must be one of {', '.join(ALGORITHMS)}")
        try:
            info = self._signer.describe(kms_key_id)
        except KeyUnusable as exc:
            raise KeyRejected(f"KMS cannot use this key: {exc}") from exc
        if info.key_state != "Enabled":
            raise KeyRejected(f"the key is {info.key_state}, not Enabled")
        kms_alg, specs = ALGORITHMS[alg]
        if info.key_usage != "SIGN_VERIFY" or info.key_spec not in specs:
            raise KeyRejected(
                f"{alg} needs a SIGN_VERIFY key of spec {' or '.join(specs)}; "
                f"this key is {info.key_usage} {info.key_spec}"
            )
        if info.signing_algorithms and kms_alg not in info.signing_algorithms:
            raise KeyRejected(f"the key does not offer {kms_alg}")
        public_key = load_public_key(info.der)
        kid = thumbprint(public_jwk(public_key))
        return info.key_arn, kid, public_key

    def register(self, kms_key_id: str, alg: str, state: KeyState) -> SigningKeyRecord:
        """Record a KMS key in the ring (``ItemExists`` if already registered)."""
        key_arn, kid, _ = self.describe(kms_key_id, alg)
        now = int(self._clock())
        record = SigningKeyRecord(
            kid=kid,
            kms_key_id=key_arn,
            alg=alg,
            state=state,
            created_at=now,
            activated_at=now if state is KeyState.CURRENT else None,
        )
        self._keys.add_key(record)
        self.invalidate()
        log.info("signing key registered kid=%s alg=%s state=%s", kid, alg, state.value)
        return record

    # -- internals ----------------------------------------------------------

    def _bootstrap_first_key(self, kms_key_id: str, alg: str) -> list[SigningKeyRecord]:
        """First start of a deployment: the stack's key becomes the current key."""
        key_arn, kid, _ = self.describe(kms_key_id, alg)
        now = int(self._clock())
        record = SigningKeyRecord(
            kid=kid, kms_key_id=key_arn, alg=alg, state=KeyState.CURRENT,
            created_at=now, activated_at=now,
        )
        try:
            self._keys.add_key(record)
            log.info("bootstrapped signing key kid=%s alg=%s", kid, alg)
        except ItemExists:
            pass  # another container bootstrapped it first
        return self._keys.list_keys()

    def _with_public_key(self, record: SigningKeyRecord) -> PublishedKey:
        cached = self._public.get(record.kms_key_id)
        if cached is None:
            info = self._signer.public_key(record.kms_key_id)
            public_key = load_public_key(info.der)
            jwk = public_jwk(public_key)
            if thumbprint(jwk) != record.kid:
                raise SigningFailed(f"KMS key {record.kms_key_id} does not match its kid")
            cached = (public_key, jwk)
            self._public[record.kms_key_id] = cached
        public_key, jwk = cached
        return PublishedKey(
            record=record,
            public_key=public_key,
            jwk={**jwk, "kid": record.kid, "use": "sig", "alg": record.alg},
        )
