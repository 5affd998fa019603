"""Validation of the token-cost settings (issue 9): an API's ``token_reuse`` and an
app's ``quota``. Kept beside :mod:`.validation` (same ``Errors`` and field lists)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..tokens.lifetime import DEFAULT_TOKEN_REUSE
from .validation import Errors

if TYPE_CHECKING:
    from ..store.records import Quota


def token_reuse(errors: Errors, field: str, value: Any) -> float | None:
    """A number strictly between 0 and 1, or ``null`` (reuse off). The comparison alone
    decides: it is exact for an integer of any size (``math.isfinite`` is not: it converts
    to float and overflows on ``10**400``) and False for NaN and the infinities."""
    if value is None:
        return None
    if not isinstance(value, int | float) or isinstance(value, bool) or not 0 < value < 1:
        errors.add(field, "must be a number strictly between 0 and 1, or null to turn reuse off")
        return DEFAULT_TOKEN_REUSE
    return float(value)


MAX_QUOTA = 1_000_000_000
QUOTA_FIELDS = frozenset({"per_hour", "per_day", "enforce"})


def quota(errors: Errors, field: str, value: Any) -> Quota | None:
    """``{"per_hour"?: N, "per_day"?: M, "enforce"?: bool}`` with at least one limit
    (``enforce`` defaults to true), or ``null`` (no quota)."""
    if value is None:
        return None
    if not isinstance(value, dict):
        errors.add(field, "must be an object {per_hour?, per_day?, enforce?} or null")
        return None
    before = len(errors.items)
    for name in sorted(set(value) - QUOTA_FIELDS):
        errors.add(f"{field}.{name[:64]}", "is not a quota field (per_hour, per_day, enforce)")
    limits: dict[str, int | None] = {}
    for name in ("per_hour", "per_day"):
        limit = value.get(name)
        if limit is not None and (
            not isinstance(limit, int) or isinstance(limit, bool) or not 1 <= limit <= MAX_QUOTA
        ):
            errors.add(f"{field}.{name}", f"must be an integer from 1 to {MAX_QUOTA}, or null")
            limit = None
        limits[name] = limit
    enforce = value.get("enforce", True)
    if not isinstance(enforce, bool):
        errors.add(f"{field}.enforce", "must be true or false")
    if len(errors.items) == before and limits["per_hour"] is None and limits["per_day"] is None:
        errors.add(field, "needs per_hour or per_day (set the quota to null to remove it)")
    if len(errors.items) > before:
        return None
    from ..store.records import Quota  # not at cold start

    return Quota(per_hour=limits["per_hour"], per_day=limits["per_day"], enforce=enforce)


def quota_view(value: Quota | None) -> dict[str, Any] | None:
    if value is None:
        return None
    return {"per_hour": value.per_hour, "per_day": value.per_day, "enforce": value.enforce}
