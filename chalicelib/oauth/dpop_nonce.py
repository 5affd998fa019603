"""Server-provided DPoP nonces (RFC 9449 §8), stateless: a nonce is its time step and an
HMAC of it, so any container checks any other's nonces without a shared list.

A nonce is ``BASE64URL(step || HMAC-SHA256(key, "dpop-nonce" || scope || step)[:16])``,
``step = now // step_seconds``; it is accepted in its own step and the next one (so it
lives between one and two steps). The HMAC key is random, one per scope (the region)
and UTC day, created by the first container that needs it with a conditional write to
the table and cached by every container (:class:`DpopNonceKeyRepository`): nothing
secret is in the configuration, keys rotate every day by themselves, and a nonce from
before midnight is checked with the previous day's key. A KMS HMAC key would keep the
key out of the table but cost a ``GenerateMac`` or ``VerifyMac`` call (and its latency)
on every token request; the table costs one read per container and day. Whoever can
read the table can mint nonces, which only lets them pre-compute proofs: a nonce limits
how long a proof stays usable, it does not authenticate anyone (docs/dpop.md).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
import threading
from collections.abc import Callable

from ..store.repository import DpopNonceKeyRepository

KEY_PERIOD = 86400
"""Seconds per HMAC key (a UTC day)."""
KEY_BYTES = 32
MAC_BYTES = 16
STEP_BYTES = 8
NONCE_LENGTH = 32
"""Characters of a nonce: base64url of 24 bytes."""


class DpopNonces:
    """Issues and checks nonces; keys are cached per container (at most two used)."""

    def __init__(
        self,
        keys: DpopNonceKeyRepository,
        scope: str,
        step_seconds: int,
        random_bytes: Callable[[int], bytes] = os.urandom,
    ) -> None:
        if step_seconds <= 0 or KEY_PERIOD % step_seconds:
            raise ValueError("the nonce step must divide a day")
        self._keys = keys
        self._scope = scope
        self._step = step_seconds
        self._random = random_bytes
        self._cache: dict[int, bytes] = {}
        self._lock = threading.Lock()

    def current(self, now: int) -> str:
        """The nonce of the current step (the same for every request of the step)."""
        step = now // self._step
        raw = step.to_bytes(STEP_BYTES, "big") + self._mac(step)
        return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")

    def headers(self, now: int) -> dict[str, str]:
        """The ``DPoP-Nonce`` header field every token endpoint response carries."""
        return {"DPoP-Nonce": self.current(now)}

    def is_current(self, nonce: object, now: int) -> bool:
        """Whether ``nonce`` is one of ours from this step or the previous one."""
        if not isinstance(nonce, str) or len(nonce) != NONCE_LENGTH or not nonce.isascii():
            return False
        try:
            raw = base64.urlsafe_b64decode(nonce + "=" * (-len(nonce) % 4))
        except (binascii.Error, ValueError):
            return False
        step = int.from_bytes(raw[:STEP_BYTES], "big")
        if step not in (now // self._step, now // self._step - 1):
            return False
        return hmac.compare_digest(raw[STEP_BYTES:], self._mac(step))

    def _mac(self, step: int) -> bytes:
        message = b"dpop-nonce\x00" + self._scope.encode() + b"\x00" + step.to_bytes(8, "big")
        return hmac.new(self._key(step * self._step // KEY_PERIOD), message,
                        hashlib.sha256).digest()[:MAC_BYTES]

    def _key(self, period: int) -> bytes:
        cached = self._cache.get(period)
        if cached is not None:
            return cached
        with self._lock:
            cached = self._cache.get(period)
            if cached is None:
                cached = self._keys.nonce_key(
                    self._scope, period, self._random(KEY_BYTES), (period + 3) * KEY_PERIOD
                )
                self._cache = {p: k for p, k in self._cache.items() if p >= period - 1}
                self._cache[period] = cached
        return cached
