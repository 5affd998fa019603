"""Validation of the token-cost settings (issue 9): an API's ``token_reuse`` and an
app's ``quota``. Kept beside :mod:`.validation` (same ``Errors`` and field lists)."""

from __future__ import annotations

import math
from typing import Any

from ..store.records import DEFAULT_TOKEN_REUSE
from .validation import Errors


def token_reuse(errors: Errors, field: str, value: Any) -> float | None:
    """A number strictly between 0 and 1, or ``null`` (reuse off)."""
    if value is None:
        return None
    if (
        not isinstance(value, int | float)
        or isinstance(value, bool)
        or not math.isfinite(value)
        or not 0 < value < 1
    ):
        errors.add(field, "must be a number strictly between 0 and 1, or null to turn reuse off")
        return DEFAULT_TOKEN_REUSE
    return float(value)
