"""API Gateway's own answers, in a body both OAuth clients and problem readers understand.

API Gateway refuses some requests before the function runs (an unknown path, a bad or
missing SigV4 signature, throttling, its own failures) and answers them with
``{"message": ...}``. Its *gateway responses* replace that body, but per API, not per
route, so one body must serve both readers: it carries the RFC 6749 §5.2 members
(``error``, ``error_description``) and the RFC 9457 members (``type``, ``title``,
``status``, ``detail``), with ``Content-Type: application/json`` (what OAuth clients
require; problem readers parse it as JSON too), ``Cache-Control: no-store`` and
``Pragma: no-cache``. See docs/errors.md.

The texts are fixed: API Gateway's message can quote the caller's ``Authorization``
header, and a gateway response template is plain substitution (no escaping), so only
``$context.requestId`` is substituted. The local server answers unknown paths with
the same body (infra/local_gateway.py).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

PROBLEM_PREFIX = "urn:m2m-auth:problem:"
REQUEST_ID = "$context.requestId"
BASIC_CHALLENGE = 'Basic realm="m2m-auth", charset="UTF-8"'
NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


@dataclass(frozen=True)
class GatewayResponse:
    """One response type: its status (None: API Gateway's own, for the defaults)."""

    status: int | None
    error: str
    slug: str
    title: str
    detail: str
    headers: tuple[tuple[str, str], ...] = ()

    def body(self, request_id: str = REQUEST_ID) -> dict[str, Any]:
        body: dict[str, Any] = {
            "error": self.error,
            "error_description": self.detail,
            "type": PROBLEM_PREFIX + self.slug,
            "title": self.title,
        }
        if self.status is not None:  # the defaults cover several statuses
            body["status"] = self.status
        body["detail"] = self.detail
        body["request_id"] = request_id
        return body

    def response_headers(self) -> dict[str, str]:
        return {**NO_STORE, **dict(self.headers)}


_FORBIDDEN = ("invalid_request", "forbidden", "Forbidden")
RESPONSES: dict[str, GatewayResponse] = {
    "MISSING_AUTHENTICATION_TOKEN": GatewayResponse(
        404, "invalid_request", "not-found", "Not Found",
        "No resource here answers this method, or an /admin request has no AWS SigV4 "
        "signature.",
    ),
    "RESOURCE_NOT_FOUND": GatewayResponse(
        404, "invalid_request", "not-found", "Not Found", "No resource at this path."
    ),
    "UNAUTHORIZED": GatewayResponse(
        401, "invalid_client", "unauthorized", "Unauthorized",
        "The request is not authenticated.",
        (("WWW-Authenticate", BASIC_CHALLENGE),),
    ),
    "ACCESS_DENIED": GatewayResponse(
        403, *_FORBIDDEN, "The caller may not invoke this resource (IAM denied it)."
    ),
    "INVALID_SIGNATURE": GatewayResponse(
        403, *_FORBIDDEN, "The request's AWS SigV4 signature does not match."
    ),
    "EXPIRED_TOKEN": GatewayResponse(
        403, *_FORBIDDEN, "The request's AWS credentials or signature have expired."
    ),
    "INVALID_API_KEY": GatewayResponse(403, *_FORBIDDEN, "The API key is not valid."),
    "WAF_FILTERED": GatewayResponse(403, *_FORBIDDEN, "The request was blocked by the firewall."),
    "THROTTLED": GatewayResponse(
        429, "temporarily_unavailable", "too-many-requests", "Too Many Requests",
        "Too many requests; retry later.", (("Retry-After", "1"),),
    ),
    "QUOTA_EXCEEDED": GatewayResponse(
        429, "temporarily_unavailable", "too-many-requests", "Too Many Requests",
        "The usage quota is exhausted.",
    ),
    "REQUEST_TOO_LARGE": GatewayResponse(
        413, "invalid_request", "payload-too-large", "Content Too Large",
        "The request is too large.",
    ),
    "UNSUPPORTED_MEDIA_TYPE": GatewayResponse(
        415, "invalid_request", "unsupported-media-type", "Unsupported Media Type",
        "The request's Content-Type is not supported.",
    ),
    "BAD_REQUEST_BODY": GatewayResponse(
        400, "invalid_request", "bad-request", "Bad Request", "The request body is malformed."
    ),
    "BAD_REQUEST_PARAMETERS": GatewayResponse(
        400, "invalid_request", "bad-request", "Bad Request", "The request is malformed."
    ),
    "INTEGRATION_FAILURE": GatewayResponse(
        504, "temporarily_unavailable", "service-unavailable", "Gateway Timeout",
        "The service did not answer; retry shortly.",
    ),
    "INTEGRATION_TIMEOUT": GatewayResponse(
        504, "temporarily_unavailable", "service-unavailable", "Gateway Timeout",
        "The service did not answer in time; retry shortly.",
    ),
    # Every other type (and any API Gateway adds later) keeps its own status.
    "DEFAULT_4XX": GatewayResponse(
        None, "invalid_request", "bad-request", "Request refused",
        "API Gateway refused the request.",
    ),
    "DEFAULT_5XX": GatewayResponse(
        None, "server_error", "server-error", "Server Error",
        "The service could not complete the request.",
    ),
}


def swagger_extension() -> dict[str, Any]:
    """``x-amazon-apigateway-gateway-responses`` for the API's definition body (part
    of the definition, so SAM redeploys the stage when it changes)."""
    extension: dict[str, Any] = {}
    for response_type, response in RESPONSES.items():
        entry: dict[str, Any] = {
            "responseParameters": {
                f"gatewayresponse.header.{name}": f"'{value}'"
                for name, value in response.response_headers().items()
            },
            "responseTemplates": {
                "application/json": json.dumps(response.body(), separators=(",", ":"))
            },
        }
        if response.status is not None:
            entry["statusCode"] = str(response.status)
        extension[response_type] = entry
    return extension
