"""One hierarchy of errors, each carrying the code and status its RFC gives it.

OAuth endpoints render :class:`OAuthError` as RFC 6749 §5.2 JSON; admin
endpoints render :class:`Problem` as RFC 9457 problem details. Rendering
happens in :mod:`chalicelib.routes.http` only.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any


class OAuthError(Exception):
    """RFC 6749 §5.2 error response."""

    error: str = "invalid_request"
    status: int = 400

    def __init__(self, description: str) -> None:
        super().__init__(description)
        self.description = description
        self.extra_headers: dict[str, str] = {}
        """Header fields the endpoint adds to every response, this one included
        (RFC 9449 §8 ``DPoP-Nonce``)."""

    def headers(self) -> dict[str, str]:
        return {}


class InvalidRequest(OAuthError):
    """The request is missing a required parameter, includes an unsupported value,
    repeats a parameter, or is otherwise malformed (RFC 6749 §5.2)."""

    error = "invalid_request"


class InvalidClient(OAuthError):
    """Client authentication failed (RFC 6749 §5.2): 401 with a Basic challenge."""

    error = "invalid_client"
    status = 401
    realm = "m2m-auth"

    def __init__(self, description: str = "Client authentication failed.") -> None:
        super().__init__(description)

    def headers(self) -> dict[str, str]:
        return {"WWW-Authenticate": f'Basic realm="{self.realm}", charset="UTF-8"'}


class UnauthorizedClient(OAuthError):
    """The authenticated client is not authorized for this request, or to use this
    grant type (RFC 6749 §5.2; RFC 8693 §2.2.2)."""

    error = "unauthorized_client"


class InvalidGrant(OAuthError):
    """The provided authorization grant is invalid, expired or revoked (RFC 6749 §5.2);
    for an assertion grant, the JWT is not valid or not acceptable (RFC 7523 §3.1)."""

    error = "invalid_grant"


class UnsupportedGrantType(OAuthError):
    """The grant type is not supported by the authorization server (RFC 6749 §5.2)."""

    error = "unsupported_grant_type"


class InvalidScope(OAuthError):
    """The requested scope is invalid, unknown, malformed, or exceeds the grant
    (RFC 6749 §5.2)."""

    error = "invalid_scope"


class InvalidTarget(OAuthError):
    """The requested resource is invalid, missing, unknown, or malformed (RFC 8707 §2);
    the server is unwilling to issue a token for the target (RFC 8693 §2.2.2)."""

    error = "invalid_target"


class InvalidDpopProof(OAuthError):
    """The DPoP proof is missing, malformed, or fails a check of RFC 9449 §4.3 (RFC 9449
    §5, §7.1); also a token request of an app that must use DPoP and sent no proof
    (§5.2 ``dpop_bound_access_tokens``)."""

    error = "invalid_dpop_proof"


class UseDpopNonce(OAuthError):
    """The proof lacks the server's current nonce (RFC 9449 §8): the client retries with
    the one in the ``DPoP-Nonce`` header field."""

    error = "use_dpop_nonce"

    def __init__(self, nonce: str, description: str = "Use the DPoP nonce the server "
                 "provided in the DPoP-Nonce header.") -> None:
        super().__init__(description)
        self.nonce = nonce

    def headers(self) -> dict[str, str]:
        return {"DPoP-Nonce": self.nonce}


class ServerError(OAuthError):
    """An unexpected condition prevented the server from fulfilling the request."""

    error = "server_error"
    status = 500


class TemporarilyUnavailable(OAuthError):
    """The server is temporarily overloaded (here: KMS throttling)."""

    error = "temporarily_unavailable"
    status = 503

    def headers(self) -> dict[str, str]:
        return {"Retry-After": "1"}


class MethodNotAllowed(OAuthError):
    """The endpoint does not support this HTTP method (RFC 9110 §15.5.6)."""

    error = "invalid_request"
    status = 405

    def __init__(self, allowed: Sequence[str]) -> None:
        super().__init__(f"This endpoint accepts {', '.join(allowed)} only.")
        self.allowed = tuple(allowed)

    def headers(self) -> dict[str, str]:
        return {"Allow": ", ".join(self.allowed)}


@dataclass(frozen=True)
class FieldError:
    """One offending field of an admin payload (RFC 9457 extension member)."""

    field: str
    message: str


class IssuerUnknown(Exception):
    """No ``ISSUER`` is configured and the event has no ``requestContext.domainName``
    (and ``stage``) to derive it from: not an event API Gateway sends, but a hand-made
    or sample test event (docs/errors.md, "Test events"). The OAuth endpoints answer
    400 ``invalid_request``, the documents a 400 problem: the event is what is wrong."""

    DETAIL = ("The issuer cannot be determined: ISSUER is not set and the event has no "
              "requestContext.domainName and stage (a test event? see docs/errors.md).")

    def __init__(self) -> None:
        super().__init__(self.DETAIL)


class Problem(Exception):
    """RFC 9457 problem details, used by admin endpoints."""

    status: int = 400
    title: str = "Bad Request"
    slug: str = "bad-request"

    def __init__(self, detail: str, errors: Sequence[FieldError] = ()) -> None:
        super().__init__(detail)
        self.detail = detail
        self.errors = tuple(errors)

    def headers(self) -> dict[str, str]:
        return {}

    def extensions(self) -> dict[str, Any]:
        """RFC 9457 §3.2 extension members of this problem type."""
        return {}


class ValidationFailed(Problem):
    status, title, slug = 400, "Validation failed", "validation"


class NotFound(Problem):
    status, title, slug = 404, "Not Found", "not-found"


class Conflict(Problem):
    status, title, slug = 409, "Conflict", "conflict"


class ProblemMethodNotAllowed(Problem):
    """The resource does not support this HTTP method (RFC 9110 §15.5.6)."""

    status, title, slug = 405, "Method Not Allowed", "method-not-allowed"

    def __init__(self, allowed: Sequence[str]) -> None:
        super().__init__(f"This resource accepts {', '.join(allowed)} only.")
        self.allowed = tuple(allowed)

    def headers(self) -> dict[str, str]:
        return {"Allow": ", ".join(self.allowed)}


class PreconditionFailed(Problem):
    status, title, slug = 412, "Precondition Failed", "precondition-failed"


class PayloadTooLarge(Problem):
    status, title, slug = 413, "Content Too Large", "payload-too-large"


class UnsupportedMediaType(Problem):
    status, title, slug = 415, "Unsupported Media Type", "unsupported-media-type"


class StoreError(Exception):
    """Base of the storage layer's domain errors (raised by adapters, never botocore's)."""


class ItemExists(StoreError):
    """A conditional create found the item already there."""


class ItemChanged(StoreError):
    """A conditional update found a different version (lost-update guard)."""


class ItemMissing(StoreError):
    """The item to update or delete does not exist."""


class InvalidCursor(StoreError):
    """A pagination cursor that this store did not hand out."""


class SigningFailed(Exception):
    """KMS refused or failed to sign (disabled key, access denied, outage)."""


class KeyUnusable(SigningFailed):
    """KMS says the key cannot serve: not found, disabled, wrong type, or access denied."""


class SigningThrottled(SigningFailed):
    """KMS throttled the Sign request."""
