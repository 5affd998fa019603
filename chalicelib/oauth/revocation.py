"""Token revocation (RFC 7009)."""

from __future__ import annotations

import logging

from ..errors import UnauthorizedClient
from ..store.repository import RevocationRepository
from ..tokens.verify import OwnTokenVerifier
from .client_auth import ClientAuthenticator
from .request import IncomingRequest
from .token_parameter import authenticated_token

log = logging.getLogger(__name__)


class Revocation:
    """Revokes an access token by remembering its ``jti`` until it expires.

    Invalid, expired and unknown tokens get 200 with nothing done (RFC 7009
    §2.2). A valid token issued to another client is refused (§2.1) with
    ``unauthorized_client``; ``token_type_hint`` is only a hint and ignored.
    """

    def __init__(
        self,
        authenticator: ClientAuthenticator,
        verifier: OwnTokenVerifier,
        revocations: RevocationRepository,
    ) -> None:
        self._authenticator = authenticator
        self._verifier = verifier
        self._revocations = revocations

    def handle(self, request: IncomingRequest, issuer_url: str) -> None:
        caller, claims = authenticated_token(
            self._authenticator, self._verifier, request, issuer_url
        )
        if claims is None:
            return
        if claims["client_id"] != caller.client_id:
            raise UnauthorizedClient("The token was not issued to this client.")
        self._revocations.revoke_token(str(claims["jti"]), caller.client_id, int(claims["exp"]))
        log.info("token revoked client_id=%s jti=%s", caller.client_id, claims["jti"])
