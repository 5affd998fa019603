"""Token revocation (RFC 7009)."""

from __future__ import annotations

import logging

from ..errors import InvalidRequest, UnauthorizedClient
from ..store.repository import RevocationRepository
from ..tokens.verify import OwnTokenVerifier
from .client_auth import ClientAuthenticator
from .request import IncomingRequest, parse_parameters

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
        params = parse_parameters(request)
        caller = self._authenticator.authenticate(request, params)
        token = params.single("token")
        if token is None:
            raise InvalidRequest("The token parameter is required.")
        claims = self._verifier.verify(token, issuer_url)
        if claims is None:
            return
        if claims["client_id"] != caller.client_id:
            raise UnauthorizedClient("The token was not issued to this client.")
        self._revocations.revoke_token(str(claims["jti"]), caller.client_id, int(claims["exp"]))
        log.info("token revoked client_id=%s jti=%s", caller.client_id, claims["jti"])
