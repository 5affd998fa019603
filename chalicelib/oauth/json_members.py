"""JSON objects with unique member names, at every depth: RFC 7493 §2.3 (I-JSON: names
MUST be unique), RFC 7515 §4 and RFC 7519 §4 (a JOSE header or claim set with a
duplicate name MUST be rejected, or its last member used — we reject).

Python's :func:`json.loads` silently keeps the last duplicate, and PyJWT reads JOSE
headers and claims with it; two parsers that disagree on which duplicate wins are how
a checked value differs from a used one.
"""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any


class DuplicateMember(ValueError):  # noqa: N818 - a ValueError, as json's own errors are
    """A JSON object gives one member name twice."""


def _unique(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    document: dict[str, Any] = {}
    for name, value in pairs:
        if name in document:
            raise DuplicateMember("a member name is given twice")
        document[name] = value
    return document


def loads_unique(text: str | bytes, **options: Any) -> Any:
    """:func:`json.loads` (same ``options``) raising :class:`DuplicateMember` on any
    object, nested or not, that repeats a member name."""
    return json.loads(text, object_pairs_hook=_unique, **options)


def jws_repeats_a_member(token: str) -> bool:
    """Whether the JOSE header or the payload of a compact JWS repeats a member name.
    False for anything that is not a compact JWS of JSON objects: whoever reads the
    token refuses that."""
    parts = token.split(".")
    if len(parts) != 3:
        return False
    for segment in parts[:2]:
        try:
            loads_unique(base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4)))
        except DuplicateMember:
            return True
        except (binascii.Error, ValueError, RecursionError):
            return False
    return False
