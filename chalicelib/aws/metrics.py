"""Service metrics in CloudWatch's embedded metric format (EMF): JSON lines on stdout.

CloudWatch Logs turns each line into metric data points; nothing here calls AWS or
waits on anything. Values are collected during a request and written at its end,
one line per dimension value. No dimension names a client: custom metrics are billed
per dimension combination, so per-client views come from Contributor Insights on the
``token_outcome`` line instead (``outcome_line``).

A small emitter rather than AWS Lambda Powertools' ``Metrics``: see docs/performance.md
("Metrics without a dependency") and ``bench/metrics_import_bench.py`` for the measured cost.
"""

from __future__ import annotations

import functools
import json
import sys
import threading
import time
from collections.abc import Callable
from json.encoder import encode_basestring_ascii
from typing import Protocol

TOKENS_ISSUED = "TokensIssued"
"""Tokens issued (fresh or reused), by ``GrantType`` and in total."""
TOKENS_REFUSED = "TokensRefused"
"""Token requests refused, by ``Reason`` (the RFC 6749 §5.2 error code) and in total."""
AUTHENTICATION_FAILURES = "AuthenticationFailures"
"""``invalid_client`` answers on any OAuth endpoint (token, introspection, revocation)."""
KMS_SIGN_LATENCY = "KmsSignLatency"
REASON = "Reason"
GRANT_TYPE = "GrantType"
"""The ``grant_type`` of the request: one of the few the token endpoint supports (a
bounded set, unlike a client), ``other`` for anything else."""

COUNT, MILLISECONDS = "Count", "Milliseconds"
METRICS: dict[str, tuple[str, tuple[tuple[str, ...], ...]]] = {
    # name: (unit, dimension sets); () is the metric without dimensions
    TOKENS_ISSUED: (COUNT, ((GRANT_TYPE,), ())),
    TOKENS_REFUSED: (COUNT, ((REASON,), ())),
    AUTHENTICATION_FAILURES: (COUNT, ((),)),
    KMS_SIGN_LATENCY: (MILLISECONDS, ((),)),
}
NAMESPACE_PREFIX = "m2m-auth/"
OUTCOME_EVENT = "token_outcome"
_COMPACT = json.JSONEncoder(separators=(",", ":"))
Dimensions = tuple[tuple[str, str], ...]
"""A metric's dimension values, by name, in name order (``()``: none)."""


def _string(value: str | None) -> str:
    """A JSON string (ASCII, as ``json.dumps`` escapes it) or ``null``."""
    return "null" if value is None else encode_basestring_ascii(value)


def namespace(stack: str) -> str:
    """``m2m-auth/<stack>``: the template's alarms and dashboard read the same name."""
    return NAMESPACE_PREFIX + stack


class Recorder(Protocol):
    def record(
        self, name: str, value: float = 1, reason: str | None = None,
        grant_type: str | None = None,
    ) -> None:
        """Add a value to metric ``name`` (one of ``METRICS``); ``reason`` and
        ``grant_type`` are dimension values where the metric has that dimension."""

    def outcome(
        self, client_id: str | None, outcome: str, reason: str | None,
        grant_type: str | None = None,
    ) -> None:
        """Note how a token request ended, for the per-client structured log line."""

    def flush(self) -> None:
        """Write what was recorded since the last flush."""


class NullRecorder:
    """Records nothing (local mode, unit tests)."""

    def record(
        self, name: str, value: float = 1, reason: str | None = None,
        grant_type: str | None = None,
    ) -> None:
        return None

    def outcome(
        self, client_id: str | None, outcome: str, reason: str | None,
        grant_type: str | None = None,
    ) -> None:
        return None

    def flush(self) -> None:
        return None


class EmfRecorder:
    """Collects values and writes them as EMF documents (one JSON line each) on flush."""

    def __init__(
        self,
        metrics_namespace: str,
        write: Callable[[str], object] | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._namespace = metrics_namespace
        self._write = write
        self._clock = clock
        self._lock = threading.Lock()
        self._values: dict[tuple[Dimensions, str], list[float]] = {}
        self._outcomes: list[str] = []

    def record(
        self, name: str, value: float = 1, reason: str | None = None,
        grant_type: str | None = None,
    ) -> None:
        dimension_names = _DIMENSIONS.get(name)
        if dimension_names is None:
            raise ValueError(f"unknown metric {name}")
        dimensions: Dimensions = ()
        if dimension_names:
            given = {REASON: reason, GRANT_TYPE: grant_type}
            dimensions = tuple((d, given[d] or "other") for d in dimension_names)
        with self._lock:
            self._values.setdefault((dimensions, name), []).append(value)

    def outcome(
        self, client_id: str | None, outcome: str, reason: str | None,
        grant_type: str | None = None,
    ) -> None:
        # {"event":..,"client_id":..,"outcome":..,"reason":..,"grant_type":..} as
        # json.dumps writes it
        line = (f'{{"event":"{OUTCOME_EVENT}","client_id":{_string(client_id)},'
                f'"outcome":{_string(outcome)},"reason":{_string(reason)},'
                f'"grant_type":{_string(grant_type)}}}')
        with self._lock:
            self._outcomes.append(line)

    def flush(self) -> None:
        with self._lock:
            values, self._values = self._values, {}
            outcomes, self._outcomes = self._outcomes, []
        lines = outcomes + emf_documents(self._namespace, values, int(self._clock() * 1000))
        if self._write is not None:
            for line in lines:
                self._write(line + "\n")
        elif lines:  # Lambda: stdout becomes the function's log; one event per line
            sys.stdout.write("".join(line + "\n" for line in lines))
            sys.stdout.flush()


_DIMENSIONS: dict[str, tuple[str, ...]] = {
    name: tuple(sorted({d for dimension_set in sets for d in dimension_set}))
    for name, (_, sets) in METRICS.items()
}
"""The dimensions each metric is recorded by, in name order."""


@functools.cache
def _directives(metrics_namespace: str, names: tuple[str, ...]) -> str:
    """The ``CloudWatchMetrics`` member for these metrics, as JSON: the same on every
    request, so encoded once per container."""
    return _COMPACT.encode([
        {
            "Namespace": metrics_namespace,
            "Dimensions": [list(d) for d in METRICS[name][1]],
            "Metrics": [{"Name": name, "Unit": METRICS[name][0]}],
        }
        for name in names
    ])


def emf_documents(
    metrics_namespace: str, values: dict[tuple[Dimensions, str], list[float]],
    timestamp_ms: int,
) -> list[str]:
    """One EMF document per combination of dimension values (EMF allows one value per
    dimension per line; metrics without dimensions share one):
    ``{"_aws":{"Timestamp":…,"CloudWatchMetrics":[…]},"<metric>":<value>,…,"Reason":…}``."""
    by_dimensions: dict[Dimensions, dict[str, list[float]]] = {}
    for (dimensions, name), recorded in sorted(values.items()):
        by_dimensions.setdefault(dimensions, {})[name] = recorded
    documents = []
    for dimensions, metrics in by_dimensions.items():
        body: dict[str, object] = {
            name: recorded[0] if len(recorded) == 1 else recorded
            for name, recorded in metrics.items()
        }
        body.update(dimensions)
        members = _COMPACT.encode(body)[1:-1]
        documents.append(
            f'{{"_aws":{{"Timestamp":{int(timestamp_ms)},"CloudWatchMetrics":'
            f"{_directives(metrics_namespace, tuple(metrics))}}},{members}}}"
        )
    return documents


_current: Recorder = NullRecorder()


def use(recorder: Recorder) -> None:
    """Install the process's recorder (the composition root does, once per container)."""
    global _current
    _current = recorder


def current() -> Recorder:
    return _current
