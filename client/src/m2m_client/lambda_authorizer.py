"""An API Gateway (REST API) Lambda authorizer for TOKEN and REQUEST events."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from m2m_client.bearer import header, header_values, presented_token
from m2m_client.claims import VerifiedToken
from m2m_client.dpop import DPOP, DpopRequest, request_url
from m2m_client.errors import BearerTokenError, InsufficientScope, Unauthorized
from m2m_client.mtls import api_gateway_certificate
from m2m_client.scopes import ensure_scopes, parse_scope
from m2m_client.verifier import Verifier

logger = logging.getLogger(__name__)

LambdaAuthorizer = Callable[[Mapping[str, Any], Any], dict[str, Any]]


def make_lambda_authorizer(
    verifier: Verifier,
    *,
    required_scopes: str | Iterable[str] = (),
    header_name: str = "Authorization",
    public_origin: str | None = None,
) -> LambdaAuthorizer:
    """Build `handler(event, context)` for a Lambda authorizer.

    A valid token yields an IAM policy allowing the event's `methodArn` (or an HTTP API's
    `routeArn`), with `client_id` and `scope` in the context the backend receives. A
    missing or invalid token raises `Unauthorized`, which API Gateway turns into 401; a
    valid token without `required_scopes` yields a Deny policy, which becomes 403.
    With authorizer caching on, API Gateway reuses the policy for the same token on other
    methods: keep per-method `required_scopes` with caching off, or check scopes in the
    backend with the `scope` context value.

    DPoP (RFC 9449 §7): a REQUEST authorizer checks a `DPoP`-scheme token with its
    proof against the request's method and URL (`public_origin` + path, or
    `https://{domainName}` + path). Its result caching must be off (TTL 0): a cache keyed
    by the token alone would accept one proof and then skip the proof on every later
    request; one keyed by the token and the `DPoP` header would accept a replayed
    request (same token, same proof) without the replay check. A TOKEN authorizer never
    sees the proof, so it refuses DPoP tokens.

    Mutual TLS (RFC 8705 §3): a certificate-bound token (`cnf.x5t#S256`) is checked
    against the client certificate API Gateway forwards from a mutual-TLS custom
    domain, which only REQUEST events carry (`requestContext.identity.clientCert`, or
    `requestContext.authentication.clientCert` in HTTP API payload 2.0); a TOKEN
    authorizer never sees it, so it refuses such tokens. Result caching must be off
    for them too: the cache cannot be keyed by the certificate, so a cached Allow would
    reach a request made with the token and another certificate.
    """
    required = parse_scope(required_scopes)

    def handler(event: Mapping[str, Any], context: Any) -> dict[str, Any]:
        resource = event.get("methodArn") or event.get("routeArn")
        if not isinstance(resource, str) or not resource:
            raise ValueError("not an API Gateway authorizer event: no methodArn")
        try:
            scheme, token = presented_token(_authorization(event, header_name))
            verified = verifier.verify(token, scheme=scheme,
                                       dpop=_dpop_request(event, public_origin)
                                       if scheme == DPOP else None,
                                       client_certificate=api_gateway_certificate(event))
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


def _dpop_request(event: Mapping[str, Any], public_origin: str | None) -> DpopRequest | None:
    """The request a proof must match, from a REQUEST event (REST API, or HTTP API
    payload 2.0); ``None`` for a TOKEN event, which carries no proof."""
    if event.get("type") == "TOKEN":
        return None
    context = event.get("requestContext")
    context = context if isinstance(context, Mapping) else {}
    http = context.get("http")
    method = http.get("method") if isinstance(http, Mapping) else event.get("httpMethod")
    path = context.get("path") or event.get("rawPath")
    url = request_url({**context, "path": path}, public_origin)
    proofs = header_values(event.get("multiValueHeaders"), "DPoP") or header_values(
        event.get("headers"), "DPoP")
    if not isinstance(method, str) or url is None:
        logger.error("no method or URL for DPoP proofs in the event: set public_origin")
        return None
    return DpopRequest(method, url, proofs)


def _authorization(event: Mapping[str, Any], header_name: str) -> str | None:
    if event.get("type") == "TOKEN":
        value = event.get("authorizationToken")
        return value if isinstance(value, str) else None
    headers = event.get("headers")
    return header(headers, header_name) if isinstance(headers, Mapping) else None
