"""Scope values (RFC 6749 §3.3) and the check a protected resource makes (RFC 6750 §3.1)."""

from __future__ import annotations

from collections.abc import Collection, Iterable

from m2m_client.errors import InsufficientScope


def parse_scope(value: str | Iterable[str] | None) -> tuple[str, ...]:
    """Split a space-delimited scope string into its tokens, in order, without duplicates.

    Scope tokens are case-sensitive (RFC 6749 §3.3). An iterable of tokens is accepted too.
    """
    if value is None:
        return ()
    if isinstance(value, str):
        tokens = value.split()
    else:
        tokens = [token for item in value for token in item.split()]
    return tuple(dict.fromkeys(tokens))


def ensure_scopes(granted: Collection[str], required: str | Iterable[str]) -> None:
    """Raise `InsufficientScope` naming the required scope unless every token was granted."""
    needed = parse_scope(required)
    missing = [scope for scope in needed if scope not in granted]
    if missing:
        raise InsufficientScope(
            f"the token lacks the scope {' '.join(missing)}",
            scope=" ".join(needed),
        )
