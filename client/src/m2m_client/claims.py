"""Validation of an access token's claims (RFC 9068 §4, RFC 7519 §4.1)."""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from m2m_client.errors import InvalidToken
from m2m_client.scopes import parse_scope

# RFC 9068 §2.2 requires these; `client_id` names the caller in the client credentials grant.
REQUIRED_CLAIMS = ("iss", "sub", "aud", "exp", "iat", "jti", "client_id")
MAX_ACT_DEPTH = 10


@dataclass(frozen=True, eq=False)
class VerifiedToken(Mapping[str, Any]):
    """An access token that passed verification: its claims, plus typed accessors.

    It is a read-only mapping of the claims (`token["client_id"]`, `token.get("scp")`).
    """

    claims: Mapping[str, Any]
    issuer: str
    subject: str
    audience: tuple[str, ...]
    client_id: str
    jwt_id: str
    issued_at: float
    expires_at: float
    scope: str
    scopes: frozenset[str]
    actors: tuple[str, ...] = ()
    """The delegation chain of an exchanged token (RFC 8693 §4.1 ``act``): the ``sub`` of
    each actor, outermost first — ``actors[0]`` is the party acting now (the token's
    ``client_id``), each next one the actor it acts for, and ``subject`` the party they
    all act on behalf of. Empty for a token nobody acts on (RFC 8693 §4.1: only the
    outermost actor is the current one; the nested ones are history)."""

    @property
    def delegated(self) -> bool:
        """Whether another party acts on behalf of ``subject`` (the token has ``act``)."""
        return bool(self.actors)

    def __getitem__(self, name: str) -> Any:
        return self.claims[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self.claims)

    def __len__(self) -> int:
        return len(self.claims)

    def __repr__(self) -> str:
        return (
            f"VerifiedToken(client_id={self.client_id!r}, scope={self.scope!r}, "
            f"actors={self.actors!r}, expires_at={self.expires_at!r})"
        )


def validate_claims(
    payload: Mapping[str, Any],
    *,
    issuer: str,
    audience: str,
    now: float,
    leeway: float,
) -> VerifiedToken:
    """Check presence, issuer, audience and time claims; raise `InvalidToken` otherwise."""
    missing = [name for name in REQUIRED_CLAIMS if payload.get(name) is None]
    if missing:
        raise InvalidToken(f"the token lacks the claim {missing[0]}")
    if payload["iss"] != issuer:  # exact match (RFC 9068 §4 step 3)
        raise InvalidToken("the token was issued by another issuer")
    audiences = _audiences(payload["aud"])
    if audience not in audiences:  # exact match of one member (RFC 7519 §4.1.3)
        raise InvalidToken("the token is meant for another audience")
    exp = _numeric_date(payload, "exp")
    iat = _numeric_date(payload, "iat")
    if exp <= now - leeway:
        raise InvalidToken("the token has expired")
    if iat > now + leeway:
        raise InvalidToken("the token was issued in the future")
    if payload.get("nbf") is not None and _numeric_date(payload, "nbf") > now + leeway:
        raise InvalidToken("the token is not valid yet")
    subject = _string(payload, "sub")
    client_id = _string(payload, "client_id")
    jwt_id = _string(payload, "jti")
    scope_claim = payload.get("scope")
    if scope_claim is not None and not isinstance(scope_claim, str):
        raise InvalidToken("the token's scope claim is not a string")
    scopes = parse_scope(scope_claim)
    return VerifiedToken(
        claims=MappingProxyType(dict(payload)),
        issuer=issuer,
        subject=subject,
        audience=audiences,
        client_id=client_id,
        jwt_id=jwt_id,
        issued_at=iat,
        expires_at=exp,
        scope=" ".join(scopes),
        scopes=frozenset(scopes),
        actors=_actors(payload.get("act")),
    )


def _actors(act: object) -> tuple[str, ...]:
    """The ``sub`` of every level of an ``act`` claim, outermost first (RFC 8693 §4.1)."""
    actors: list[str] = []
    while act is not None:
        if not isinstance(act, Mapping):
            raise InvalidToken("the token's act claim is not an object")
        sub = act.get("sub")
        if not isinstance(sub, str) or not sub:
            raise InvalidToken("the token's act claim names no actor (sub)")
        actors.append(sub)
        if len(actors) > MAX_ACT_DEPTH:
            raise InvalidToken("the token's act claim is nested too deep")
        act = act.get("act")
    return tuple(actors)


def _audiences(value: object) -> tuple[str, ...]:
    if isinstance(value, str):
        return (value,)
    if isinstance(value, list) and value and all(isinstance(item, str) for item in value):
        return tuple(value)
    raise InvalidToken("the token's aud claim is malformed")


def _numeric_date(payload: Mapping[str, Any], name: str) -> float:
    """A NumericDate as a finite float; an integer no float holds (``10**400``) is refused
    like ``Infinity`` (``math.isfinite`` of such an integer raises OverflowError)."""
    value = payload[name]
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InvalidToken(f"the token's {name} claim is not a NumericDate")
    try:
        number = float(value)
    except OverflowError:
        number = math.inf
    if not math.isfinite(number):
        raise InvalidToken(f"the token's {name} claim is not a NumericDate")
    return number


def _string(payload: Mapping[str, Any], name: str) -> str:
    value = payload[name]
    if not isinstance(value, str) or not value:
        raise InvalidToken(f"the token's {name} claim is not a string")
    return value
