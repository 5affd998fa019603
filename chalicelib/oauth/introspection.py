"""Token introspection (RFC 7662)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from ..store.repository import RevocationRepository
from ..tokens.verify import OwnTokenVerifier
from .client_auth import ClientAuthenticator
from .request import IncomingRequest
from .token_id import revoked_by_admin
from .token_parameter import authenticated_token

log = logging.getLogger(__name__)

INTROSPECT_PERMISSION = "introspect"
DPOP = "DPoP"
INACTIVE: dict[str, Any] = {"active": False}


class Introspection:
    """A client may introspect its own tokens, or any token with the ``introspect``
    permission. Every other case answers ``{"active": false}`` with no reason
    (RFC 7662 §2.2), so the endpoint reveals nothing about tokens it won't describe."""

    def __init__(
        self,
        authenticator: ClientAuthenticator,
        verifier: OwnTokenVerifier,
        revocations: RevocationRepository,
        clock: Callable[[], float],
    ) -> None:
        self._authenticator = authenticator
        self._verifier = verifier
        self._revocations = revocations
        self._clock = clock

    def handle(self, request: IncomingRequest, issuer_url: str) -> dict[str, Any]:
        caller, claims = authenticated_token(
            self._authenticator, self._verifier, request, issuer_url
        )
        if claims is None:
            return dict(INACTIVE)
        owner = str(claims["client_id"])
        if owner != caller.client_id and (
            INTROSPECT_PERMISSION not in caller.credentials.app.permissions
        ):
            return dict(INACTIVE)
        app, revoked = self._revocations.token_status(owner, str(claims["jti"]), int(self._clock()))
        if app is None or not app.enabled or revoked:
            return dict(INACTIVE)
        if revoked_by_admin(app, claims):
            return dict(INACTIVE)
        log.info("token introspected by client_id=%s jti=%s", caller.client_id, claims["jti"])
        return {"active": True, "token_type": token_type(claims), **claims}


def token_type(claims: dict[str, Any]) -> str:
    """``DPoP`` for a token bound to a DPoP key (``cnf.jkt``, RFC 9449 §6.2), else
    ``Bearer``: certificate-bound tokens are presented as Bearer (RFC 8705 §3). The
    ``cnf`` claim itself is among the claims returned (RFC 7662 §2.2, RFC 9449 §6.2)."""
    cnf = claims.get("cnf")
    return DPOP if isinstance(cnf, dict) and "jkt" in cnf else "Bearer"
