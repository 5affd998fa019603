"""Chalice integration: a custom authorizer body and a scope-checking view decorator.

DPoP (RFC 9449 §7): Chalice's authorizers are API Gateway TOKEN authorizers, which see
the `Authorization` header and nothing else: never the `DPoP` proof, the method or the
URL it must match. With `authorize(..., dpop=True)` the authorizer verifies a
`DPoP`-scheme token (signature, claims, that it is DPoP-bound) and marks it in the
context; `require_scopes(..., verifier=...)` then checks the token *with its proof* in
the view, on every request. That is also why the authorizer's result cache
(`ttl_seconds`, keyed by the `Authorization` header alone) is harmless here: a cached
allow skips the token's verification, never the proof's, which the view repeats. A view
behind `dpop=True` that does not use `require_scopes(verifier=...)` would accept a
DPoP-bound token without its proof: use `dpop=True` only where every view does.

Mutual TLS (RFC 8705 §3) has the same shape: a TOKEN authorizer never sees the TLS
client certificate either. With `authorize(..., mtls=True)` a certificate-bound token
(`cnf.x5t#S256`) is let through with its thumbprint in the context, and
`require_scopes` compares it with the certificate API Gateway forwards for the request
(`requestContext.identity.clientCert`), on every request, cached allow or not. Without
`mtls=True` such tokens are refused, since a view without `require_scopes` would not
check the certificate.

Chalice is imported inside the functions, so this package never requires it.
"""

from __future__ import annotations

import functools
import json
import logging
import sys
from collections.abc import Callable, Iterable
from types import ModuleType
from typing import TYPE_CHECKING, Any, ParamSpec

from m2m_client.bearer import header_values, presented_token
from m2m_client.dpop import DPOP, DpopRequest, request_url
from m2m_client.errors import (
    BearerTokenError,
    InvalidToken,
    MissingToken,
    Unauthorized,
)
from m2m_client.lambda_authorizer import authorizer_context
from m2m_client.mtls import CONTEXT_KEY, api_gateway_certificate, bound_thumbprint, check_thumbprint
from m2m_client.scopes import ensure_scopes, parse_scope
from m2m_client.verifier import Verifier

if TYPE_CHECKING:
    from chalice.app import AuthRequest, AuthResponse, Chalice

logger = logging.getLogger(__name__)

P = ParamSpec("P")


def authorize(
    auth_request: AuthRequest,
    verifier: Verifier,
    required_scopes: str | Iterable[str] = (),
    *,
    dpop: bool = False,
    mtls: bool = False,
) -> AuthResponse:
    """The body of an `@app.authorizer()` function.

    Allows every route (`routes=['*']`, so a cached answer fits any method) to
    `principal_id=client_id`, with `client_id` and `scope` in the context; views then
    check scopes with `require_scopes`. A missing or invalid token raises `Unauthorized`
    (API Gateway: 401); a token without `required_scopes` gets no routes (403).
    A DPoP-bound token is refused unless `dpop=True`, which lets it through to views
    that check its proof (`require_scopes(..., verifier=...)`, see the module's notes).
    A certificate-bound token is refused unless `mtls=True`, which lets it through to
    views that check its certificate (`require_scopes`).
    """
    from chalice.app import AuthResponse

    try:
        scheme, token = presented_token(auth_request.token)
        if scheme == DPOP and not dpop:
            raise InvalidToken("DPoP tokens are not accepted here")
        verified = verifier.verify(token, scheme=scheme, defer_proof=scheme == DPOP,
                                   defer_certificate=True)
        thumbprint = bound_thumbprint(verified.claims)
        if thumbprint is not None and not mtls:
            raise InvalidToken("certificate-bound tokens are not accepted here")
    except BearerTokenError as exc:
        logger.info("request refused: reason=%s", exc.error or "no_token")
        raise unauthorized() from None
    required = parse_scope(required_scopes)
    if any(scope not in verified.scopes for scope in required):
        logger.info("request denied: client_id=%s reason=insufficient_scope", verified.client_id)
        return AuthResponse(routes=[], principal_id=verified.client_id)
    context = authorizer_context(verified)
    if scheme == DPOP:
        context["token_type"] = DPOP  # the view checks the proof (require_scopes)
    if thumbprint is not None:
        context[CONTEXT_KEY] = thumbprint  # the view checks the certificate
    return AuthResponse(routes=["*"], principal_id=verified.client_id, context=context)


def require_scopes(
    app: Chalice,
    *scopes: str,
    realm: str | None = None,
    verifier: Verifier | Callable[[], Verifier] | None = None,
    public_origin: str | None = None,
) -> Callable[[Callable[P, Any]], Callable[P, Any]]:
    """Decorate a Chalice view so it answers 403 `insufficient_scope` (RFC 6750 §3.1)
    unless the authorizer granted every one of `scopes`; place it below `@app.route`.

    For a token the authorizer let through as DPoP (`authorize(..., dpop=True)`), the
    view verifies the token with its proof using `verifier` (or a function returning
    it), against the URL `public_origin` + the request path, or API Gateway's
    `https://{domainName}` + path (RFC 9449 §4.3); a refusal is a 401 with a `DPoP`
    challenge (§7.1). Without a `verifier` such a token is refused.

    For a certificate-bound token (`authorize(..., mtls=True)`) the request must come
    with that TLS client certificate (API Gateway mutual TLS), else 401 `invalid_token`.
    """
    required = parse_scope(scopes)

    def decorate(view: Callable[P, Any]) -> Callable[P, Any]:
        @functools.wraps(view)
        def guarded(*args: P.args, **kwargs: P.kwargs) -> Any:
            request = app.current_request
            authorizer = request.context.get("authorizer") if request is not None else None
            if request is None or not isinstance(authorizer, dict):
                return _challenge(MissingToken(realm=realm))
            try:
                if authorizer.get("token_type") == DPOP:  # the certificate too, if bound
                    _verify_with_proof(request, verifier, required, public_origin)
                else:
                    bound = authorizer.get(CONTEXT_KEY)
                    if bound is not None:  # RFC 8705 §3
                        check_thumbprint(str(bound), api_gateway_certificate(request.context))
                    ensure_scopes(parse_scope(str(authorizer.get("scope", ""))), required)
            except BearerTokenError as exc:
                exc.realm = realm or exc.realm
                logger.info("request refused: reason=%s", exc.error or "no_token")
                return _challenge(exc)
            return view(*args, **kwargs)

        return guarded

    return decorate


def _verify_with_proof(
    request: Any,
    verifier: Verifier | Callable[[], Verifier] | None,
    required: tuple[str, ...],
    public_origin: str | None,
) -> None:
    """The token of the request verified again, with its DPoP proof (RFC 9449 §7)."""
    if verifier is None:
        logger.error("a DPoP token reached a view without a verifier for its proof")
        raise InvalidToken("the DPoP proof cannot be checked here", scheme=DPOP)
    checker = verifier if isinstance(verifier, Verifier) else verifier()
    scheme, token = presented_token(request.headers.get("authorization"))
    event = request.to_original_event()
    proofs = header_values(event.get("multiValueHeaders"), "DPoP") or header_values(
        dict(request.headers), "DPoP")
    url = request_url(request.context, public_origin)
    if url is None:
        logger.error("no URL for DPoP proofs: set public_origin (no domainName in context)")
        raise InvalidToken("the DPoP proof cannot be checked here", scheme=DPOP)
    checker.verify(token, required, scheme=scheme,
                   dpop=DpopRequest(request.method, url, proofs),
                   client_certificate=api_gateway_certificate(request.context))


def unauthorized() -> Exception:
    """The exception that makes API Gateway answer 401.

    Under `chalice local` and `chalice.test.Client` (which load `chalice.local`) it is
    also that local gateway's own 401 error, so local runs answer as API Gateway does.
    """
    local = sys.modules.get("chalice.local")
    if local is None or not hasattr(local, "NotAuthorizedError"):
        return Unauthorized()
    return _local_unauthorized_class(local)()


@functools.cache
def _local_unauthorized_class(local: ModuleType) -> type[Unauthorized]:
    class LocalUnauthorized(Unauthorized, local.NotAuthorizedError):  # type: ignore[misc,name-defined]
        def __init__(self) -> None:
            Exception.__init__(self, "Unauthorized")
            self.headers = {"x-amzn-ErrorType": "UnauthorizedException"}
            self.body = b'{"message":"Unauthorized"}'

    return LocalUnauthorized


def _challenge(error: BearerTokenError) -> Any:
    from chalice.app import Response

    return Response(
        body=json.dumps(error.body()),
        status_code=error.status,
        headers={"WWW-Authenticate": error.www_authenticate, "Content-Type": "application/json"},
    )
