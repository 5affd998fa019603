"""Scope syntax (RFC 6749 §3.3): space-delimited scope-tokens."""

from __future__ import annotations

import re

from ..errors import InvalidScope

# scope-token = 1*( %x21 / %x23-5B / %x5D-7E )
_SCOPE_TOKEN = re.compile(r"[\x21\x23-\x5B\x5D-\x7E]+")
MAX_SCOPE_LENGTH = 128


def is_scope_token(value: str) -> bool:
    return len(value) <= MAX_SCOPE_LENGTH and _SCOPE_TOKEN.fullmatch(value) is not None


def parse_scope(value: str) -> tuple[str, ...]:
    """Split a ``scope`` parameter into its tokens, in order, without duplicates."""
    tokens = value.split(" ")
    if not all(is_scope_token(t) for t in tokens):
        raise InvalidScope("The scope parameter is malformed (RFC 6749 §3.3).")
    return tuple(dict.fromkeys(tokens))


def format_scope(scopes: tuple[str, ...]) -> str:
    return " ".join(scopes)
