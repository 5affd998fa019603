"""Waiting out KMS's eventual consistency right after ``CreateKey``.

KMS documents that a change may take up to five minutes to be visible everywhere: a key
just created (and its key policy) may be refused with ``AccessDeniedException`` or
``NotFoundException`` meanwhile (KMS developer guide, "AWS KMS eventual consistency";
"ABAC for AWS KMS"). The rotation calls again with a bounded exponential backoff; the
sleep and the clock are injected so tests never wait.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, TypeVar

from ..errors import SigningFailed

if TYPE_CHECKING:
    from botocore.exceptions import ClientError

log = logging.getLogger(__name__)
T = TypeVar("T")

PROPAGATING = frozenset({"AccessDeniedException", "NotFoundException"})
"""What KMS answers about a key (or its policy) it has not propagated yet."""


@dataclass(frozen=True)
class Backoff:
    """Waits of ``first`` seconds, times ``factor`` each time, at most ``cap`` each,
    ``budget`` seconds in all (the last wait is cut to fit)."""

    first: float = 1.0
    factor: float = 2.0
    cap: float = 30.0
    budget: float = 300.0

    def delays(self) -> Iterator[float]:
        total, delay = 0.0, self.first
        while total < self.budget:
            step = min(delay, self.cap, self.budget - total)
            yield step
            total += step
            delay *= self.factor


PROPAGATION = Backoff(budget=300.0)
"""Reading (or replicating) a new key: KMS's documented five minutes."""
DISCARD = Backoff(budget=120.0)
"""Scheduling the deletion of a new key that could not be used."""


class NotPropagated(SigningFailed):
    """KMS kept refusing a new key for the whole budget."""

    def __init__(self, what: str, code: str, attempts: int, waited: float) -> None:
        super().__init__(f"{what}: {code} after {attempts} attempts ({waited:.0f} s)")
        self.code = code
        self.attempts = attempts


@dataclass(frozen=True)
class Patience:
    """Bounded waits: ``backoff``'s delays, until its budget of ``clock`` seconds has
    passed (since :meth:`deadline` was taken), whatever the calls in between took."""

    backoff: Backoff
    sleep: Callable[[float], None]
    clock: Callable[[], float]

    def deadline(self) -> float:
        """When a wait started now must end: several calls may share one."""
        return self.clock() + self.backoff.budget

    def call(
        self, what: str, operation: Callable[[], T], deadline: float | None = None,
        codes: frozenset[str] = PROPAGATING,
    ) -> T:
        """``operation()``, again after each wait while KMS answers one of ``codes``;
        :class:`NotPropagated` once the budget (or ``deadline``) is spent. Other errors
        propagate at once. ``what`` names the call and the key in the log."""
        from botocore.exceptions import ClientError

        deadline = self.deadline() if deadline is None else deadline
        delays = self.backoff.delays()
        attempts, waited = 0, 0.0
        while True:
            attempts += 1
            try:
                result = operation()
            except ClientError as exc:
                code = _code(exc)
                remaining = deadline - self.clock()
                delay = next(delays, None)
                if code not in codes:
                    raise
                if delay is None or remaining <= 0:
                    raise NotPropagated(what, code, attempts, waited) from exc
                delay = min(delay, remaining)
                log.info("kms: %s refused (%s), attempt %d; again in %.0f s",
                         what, code, attempts, delay)
                self.sleep(delay)
                waited += delay
                continue
            if attempts > 1:
                log.info("kms: %s succeeded after %d attempts (%.0f s)", what, attempts, waited)
            return result


def _code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))
