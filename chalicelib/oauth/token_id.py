"""Token ids (RFC 7519 §4.1.7 ``jti``) that record the app's revocation generation.

An admin's revoke-tokens must make every token issued *before* it inactive and every
token issued *after* it active, exactly, even within one second. Whole-second ``iat``
cannot tell them apart, so each app item carries a ``revocation_generation`` that
revoke-tokens bumps (in the same versioned write as the app item), the token request
reads it in the one Query it already makes, and the token's ``jti`` records it:
``<22 random base64url characters>.<generation>``. The ``jti`` stays opaque to
resource servers (no new claim in the token); introspection compares the generation
with the app's. Tokens issued before generations existed have no ``.`` in their
``jti`` and fall back to the ``iat <= revoked_before`` rule.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ..store.records import App

RANDOM_BYTES = 16  # 22 base64url characters, 128 bits
MAX_GENERATION_DIGITS = 20
MAX_JTI_LENGTH = 22 + 1 + MAX_GENERATION_DIGITS


def new_jti(generation: int) -> str:
    return f"{secrets.token_urlsafe(RANDOM_BYTES)}.{generation}"


def generation_of(jti: str) -> int | None:
    """The revocation generation a token was issued under; ``None`` for older tokens."""
    _, dot, tail = jti.rpartition(".")
    if not dot or not tail.isascii() or not tail.isdigit() or len(tail) > MAX_GENERATION_DIGITS:
        return None
    return int(tail)


def revoked_by_admin(app: App, claims: Mapping[str, Any]) -> bool:
    """Whether an admin's revoke-tokens covers this token (the app's own verdict;
    ``/oauth/revoke`` of single tokens is checked separately)."""
    generation = generation_of(str(claims["jti"]))
    if generation is not None:
        return generation < app.revocation_generation
    return app.revoked_before is not None and int(claims["iat"]) <= app.revoked_before
