"""Keyset pagination over items held in memory (the fake store, short admin lists)."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from ..errors import InvalidCursor

if TYPE_CHECKING:
    from .records import Page


def invert(text: str) -> str:
    return "".join(chr(0x7E - (ord(c) - 0x20)) if 0x20 <= ord(c) <= 0x7E else c for c in text)


def page(items: Sequence[Any], key: Callable[[Any], str], limit: int, cursor: str | None) -> Page:
    """Keyset pagination over items sorted by ``key``; the cursor is the last key seen."""
    from .records import Page  # not at cold start: the admin routes import this module

    after = ""
    if cursor:
        try:
            padded = (cursor + "=" * (-len(cursor) % 4)).encode("ascii")
            after = base64.b64decode(padded, altchars=b"-_", validate=True).decode("utf-8")
        except (binascii.Error, UnicodeError, ValueError) as exc:
            raise InvalidCursor("malformed cursor") from exc
        if not after:
            raise InvalidCursor("malformed cursor")
    remaining = [i for i in sorted(items, key=key) if key(i) > after]
    chunk = remaining[:limit]
    more = len(remaining) > limit
    token = (
        base64.urlsafe_b64encode(key(chunk[-1]).encode()).decode().rstrip("=")
        if more and chunk else None
    )
    return Page(tuple(chunk), token)
