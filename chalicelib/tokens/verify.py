"""Verify tokens this server issued (for introspection and revocation).

Uses PyJWT with the published key named by ``kid``; the algorithm is the one
recorded for that key, never the one the token header claims (RFC 8725 §3.1).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .issuer import ACCESS_TOKEN_TYPE
from .keyring import KeyRing

MAX_TOKEN_LENGTH = 8192
REQUIRED_CLAIMS = ["iss", "sub", "aud", "exp", "iat", "jti", "client_id"]


class OwnTokenVerifier:
    def __init__(self, keyring: KeyRing, clock: Callable[[], float]) -> None:
        self._keyring = keyring
        self._clock = clock

    def verify(self, token: str, issuer: str) -> dict[str, Any] | None:
        """The claims of a valid, unexpired token we signed; ``None`` for anything else."""
        if len(token) > MAX_TOKEN_LENGTH:
            return None
        import jwt  # introspection and revocation only: not at cold start

        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError:
            return None
        kid = header.get("kid")
        if header.get("typ") != ACCESS_TOKEN_TYPE or not isinstance(kid, str):
            return None
        key = self._keyring.verification_key(kid)
        if key is None or header.get("alg") != key.record.alg:
            return None
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                key=key.public_key,
                algorithms=[key.record.alg],
                issuer=issuer,
                # Times are checked below against the service's clock.
                options={
                    "require": REQUIRED_CLAIMS, "verify_aud": False,
                    "verify_exp": False, "verify_iat": False, "verify_nbf": False,
                },
            )
        except jwt.PyJWTError:
            return None
        now = int(self._clock())
        try:
            if int(claims["exp"]) <= now or int(claims.get("nbf", 0)) > now:
                return None
        except (TypeError, ValueError):
            return None
        return claims
