"""The shared first steps of introspection (RFC 7662 §2.1) and revocation (RFC 7009 §2.1):
authenticate the caller, read the ``token`` parameter, verify it as one of ours."""

from __future__ import annotations

from typing import Any

from ..errors import InvalidRequest
from ..tokens.verify import OwnTokenVerifier
from .client_auth import AuthenticatedClient, ClientAuthenticator
from .request import IncomingRequest, parse_parameters


def authenticated_token(
    authenticator: ClientAuthenticator,
    verifier: OwnTokenVerifier,
    request: IncomingRequest,
    issuer_url: str,
) -> tuple[AuthenticatedClient, dict[str, Any] | None]:
    """The caller and the token's claims (``None`` if it is not a valid token of ours)."""
    params = parse_parameters(request)
    caller = authenticator.authenticate(request, params, issuer_url)
    token = params.single("token")
    if token is None:
        raise InvalidRequest("The token parameter is required.")
    return caller, verifier.verify(token, issuer_url)
