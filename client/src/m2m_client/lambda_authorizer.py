"""An API Gateway (REST API) Lambda authorizer for TOKEN and REQUEST events."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from m2m_client.bearer import bearer_token, header
from m2m_client.claims import VerifiedToken
from m2m_client.errors import BearerTokenError, InsufficientScope, Unauthorized
from m2m_client.scopes import ensure_scopes, parse_scope
from m2m_client.verifier import Verifier

logger = logging.getLogger(__name__)

LambdaAuthorizer = Callable[[Mapping[str, Any], Any], dict[str, Any]]


def make_lambda_authorizer(
    verifier: Verifier,
    *,
    required_scopes: str | Iterable[str] = (),
    header_name: str = "Authorization",
) -> LambdaAuthorizer:
    """Build `handler(event, context)` for a Lambda authorizer.

    A valid token yields an IAM policy allowing the event's `methodArn` (or an HTTP API's
    `routeArn`), with `client_id` and `scope` in the context the backend receives. A
    missing or invalid token raises `Unauthorized`, which API Gateway turns into 401; a
    valid token without `required_scopes` yields a Deny policy, which becomes 403.
    With authorizer caching on, API Gateway reuses the policy for the same token on other
    methods: keep per-method `required_scopes` with caching off, or check scopes in the
    backend with the `scope` context value.
    """
    required = parse_scope(required_scopes)

    def handler(event: Mapping[str, Any], context: Any) -> dict[str, Any]:
        resource = event.get("methodArn") or event.get("routeArn")
        if not isinstance(resource, str) or not resource:
            raise ValueError("not an API Gateway authorizer event: no methodArn")
        try:
            verified = verifier.verify(bearer_token(_authorization(event, header_name)))
        except BearerTokenError as exc:
            logger.info("request refused: reason=%s", exc.error or "no_token")
            raise Unauthorized() from None
        try:
            ensure_scopes(verified.scopes, required)
        except InsufficientScope:
            logger.info(
                "request denied: client_id=%s reason=insufficient_scope", verified.client_id
            )
            return iam_policy(verified.client_id, "Deny", resource)
        return iam_policy(verified.client_id, "Allow", resource, authorizer_context(verified))

    return handler


def authorizer_context(verified: VerifiedToken) -> dict[str, str]:
    """What the backend sees as `requestContext.authorizer` (string values only). A
    delegated token (RFC 8693 §4.1) adds `subject`, on whose behalf the call is made, and
    `actors`: the actor chain outermost first, space-separated (`VerifiedToken.actors`)."""
    context = {"client_id": verified.client_id, "scope": verified.scope}
    if verified.delegated:
        context.update(subject=verified.subject, actors=" ".join(verified.actors))
    return context


def iam_policy(
    principal_id: str,
    effect: str,
    resource: str,
    context: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """The authorizer's output: a principal and an execute-api:Invoke policy statement."""
    output: dict[str, Any] = {
        "principalId": principal_id,
        "policyDocument": {
            "Version": "2012-10-17",
            "Statement": [{"Action": "execute-api:Invoke", "Effect": effect, "Resource": resource}],
        },
    }
    if context:
        output["context"] = dict(context)
    return output


def _authorization(event: Mapping[str, Any], header_name: str) -> str | None:
    if event.get("type") == "TOKEN":
        value = event.get("authorizationToken")
        return value if isinstance(value, str) else None
    headers = event.get("headers")
    return header(headers, header_name) if isinstance(headers, Mapping) else None
