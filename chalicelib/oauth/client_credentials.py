"""The client credentials grant (RFC 6749 §4.4): an authenticated client gets a token for
an API it was granted, with the granted scopes or a subset of them (RFC 6749 §3.3)."""

from __future__ import annotations

from ..errors import InvalidTarget
from .client_auth import ClientAuthenticator
from .grant import GrantDecision, decide_scopes, requested_audience, token_lifetime
from .request import IncomingRequest, Parameters
from .scopes import parse_scope

GRANT_TYPE = "client_credentials"


class ClientCredentialsGrant:
    grant_type = GRANT_TYPE

    def __init__(self, authenticator: ClientAuthenticator) -> None:
        self._authenticator = authenticator

    def decide(
        self, request: IncomingRequest, params: Parameters, issuer: str, now: int
    ) -> GrantDecision:
        audience = requested_audience(params)
        scope_param = params.single("scope")
        requested = parse_scope(scope_param) if scope_param is not None else None

        client = self._authenticator.authenticate(request, params, issuer)
        grant = client.credentials.grant_for(audience)
        # The same answer for unknown APIs, ungranted ones, and grants whose every scope
        # was removed from the API.
        if grant is None or not grant.scopes:
            raise InvalidTarget("The requested audience is not available to this client.")
        return GrantDecision(
            client=client,
            grant=grant,
            scopes=decide_scopes(requested, grant),
            lifetime=token_lifetime(grant, client.credentials.app),
            grant_type=GRANT_TYPE,
        )
