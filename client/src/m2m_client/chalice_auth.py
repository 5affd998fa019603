"""Chalice integration: a custom authorizer body and a scope-checking view decorator.

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

from m2m_client.bearer import bearer_token
from m2m_client.errors import BearerTokenError, InsufficientScope, MissingToken, Unauthorized
from m2m_client.lambda_authorizer import authorizer_context
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
) -> AuthResponse:
    """The body of an `@app.authorizer()` function.

    Allows every route (`routes=['*']`, so a cached answer fits any method) to
    `principal_id=client_id`, with `client_id` and `scope` in the context; views then
    check scopes with `require_scopes`. A missing or invalid token raises `Unauthorized`
    (API Gateway: 401); a token without `required_scopes` gets no routes (403).
    """
    from chalice.app import AuthResponse

    try:
        verified = verifier.verify(bearer_token(auth_request.token))
    except BearerTokenError as exc:
        logger.info("request refused: reason=%s", exc.error or "no_token")
        raise unauthorized() from None
    required = parse_scope(required_scopes)
    if any(scope not in verified.scopes for scope in required):
        logger.info("request denied: client_id=%s reason=insufficient_scope", verified.client_id)
        return AuthResponse(routes=[], principal_id=verified.client_id)
    return AuthResponse(
        routes=["*"], principal_id=verified.client_id, context=authorizer_context(verified)
    )


def require_scopes(
    app: Chalice, *scopes: str, realm: str | None = None
) -> Callable[[Callable[P, Any]], Callable[P, Any]]:
    """Decorate a Chalice view so it answers 403 `insufficient_scope` (RFC 6750 §3.1)
    unless the authorizer granted every one of `scopes`; place it below `@app.route`.
    """
    required = parse_scope(scopes)

    def decorate(view: Callable[P, Any]) -> Callable[P, Any]:
        @functools.wraps(view)
        def guarded(*args: P.args, **kwargs: P.kwargs) -> Any:
            request = app.current_request
            authorizer = request.context.get("authorizer") if request is not None else None
            if not isinstance(authorizer, dict):
                return _challenge(MissingToken(realm=realm))
            granted = parse_scope(str(authorizer.get("scope", "")))
            try:
                ensure_scopes(granted, required)
            except InsufficientScope as exc:
                exc.realm = realm
                return _challenge(exc)
            return view(*args, **kwargs)

        return guarded

    return decorate


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
