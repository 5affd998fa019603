"""The actor claim of delegated tokens (RFC 8693 §4.1): ``act`` names the party acting on
behalf of ``sub``; a token exchanged again nests the earlier actors, outermost (the most
recent actor) first: ``{"sub": C, "act": {"sub": B}}`` is C acting for B acting for
``sub``. Only the outermost ``act`` speaks for the current token's actor (§4.1: prior
actors are informational)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

MAX_ACT_DEPTH = 5
"""No policy allows longer chains (each level costs ~40 bytes of the signing budget)."""


class MalformedAct(ValueError):
    """An ``act`` claim that is not a chain of objects each naming a ``sub``."""


def act_depth(act: Mapping[str, Any] | None) -> int:
    """How many actors the chain names (0 for none). ``MalformedAct`` beyond
    ``MAX_ACT_DEPTH`` + 1 levels or for any level without a string ``sub``."""
    depth = 0
    level: Any = act
    while level is not None:
        if not isinstance(level, Mapping) or not isinstance(level.get("sub"), str):
            raise MalformedAct("every act level must be an object with a string sub")
        depth += 1
        if depth > MAX_ACT_DEPTH + 1:
            raise MalformedAct("act chain too deep")
        level = level.get("act")
    return depth


def delegated(actor: str, prior: Mapping[str, Any] | None) -> dict[str, Any]:
    """The ``act`` of a token issued to ``actor`` from a subject token whose own ``act``
    is ``prior``: the new actor outermost, the earlier chain nested inside."""
    act: dict[str, Any] = {"sub": actor}
    if prior is not None:
        act["act"] = dict(prior)
    return act


def worst_case_act(depth: int, actor: str) -> dict[str, Any] | None:
    """The largest ``act`` a chain of ``depth`` actors can be (for the signing budget)."""
    act: dict[str, Any] | None = None
    for _ in range(depth):
        act = delegated(actor, act)
    return act
