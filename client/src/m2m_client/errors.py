"""Errors raised by the client library, each carrying the RFC code a caller acts on."""

from __future__ import annotations

import re
from typing import Any, ClassVar

# RFC 6750 §3: error_description and scope values exclude '"' and '\'
# (allowed: %x20-21 / %x23-5B / %x5D-7E).
_UNQUOTABLE = re.compile(r"[^\x20-\x21\x23-\x5b\x5d-\x7e]")


class M2MClientError(Exception):
    """Base class of every error this package raises on purpose."""


# --- the token client (RFC 6749 §5.2) ---------------------------------------------------


class TokenError(M2MClientError):
    """No access token could be obtained from the token endpoint."""


class TokenEndpointError(TokenError):
    """The token endpoint answered with an error response (RFC 6749 §5.2)."""

    def __init__(
        self,
        error: str,
        error_description: str | None = None,
        *,
        status: int | None = None,
        retry_after: float | None = None,
    ) -> None:
        self.error = error
        self.error_description = error_description
        self.status = status
        self.retry_after = retry_after
        message = f"{error}: {error_description}" if error_description else error
        if status is not None:
            message = f"{message} (HTTP {status})"
        super().__init__(message)


class TokenTransportError(TokenError):
    """The token endpoint could not be reached or gave no usable answer."""


# --- the resource server (RFC 6750 §3) ----------------------------------------------------


class BearerTokenError(M2MClientError):
    """A request to a protected resource is refused (RFC 6750 §3, §3.1).

    The challenge's scheme is `Bearer`, or `DPoP` with its `algs` parameter when the
    request used DPoP or presented a DPoP-bound token (RFC 9449 §7.1)."""

    error: ClassVar[str | None]
    status: ClassVar[int]

    def __init__(
        self,
        description: str | None = None,
        *,
        realm: str | None = None,
        scope: str | None = None,
        scheme: str = "Bearer",
        algs: tuple[str, ...] = (),
    ) -> None:
        self.description = description
        self.realm = realm
        self.scope = scope
        self.scheme = scheme
        self.algs = algs
        super().__init__(description or self.error or "bearer token required")

    @property
    def www_authenticate(self) -> str:
        """The `WWW-Authenticate` challenge for the response (RFC 6750 §3, RFC 9449 §7.1)."""
        params: list[str] = []
        if self.realm:
            params.append(f'realm="{_quoted(self.realm)}"')
        if self.error:
            params.append(f'error="{self.error}"')
            if self.description:
                params.append(f'error_description="{_quoted(self.description)}"')
        if self.scope:
            params.append(f'scope="{_quoted(self.scope)}"')
        if self.algs and self.scheme == "DPoP":
            params.append(f'algs="{_quoted(" ".join(self.algs))}"')
        return (f"{self.scheme} " + ", ".join(params)) if params else self.scheme

    def body(self) -> dict[str, str]:
        """A JSON error body mirroring the challenge (RFC 6750 §3.1 codes)."""
        if not self.error:
            return {}
        body = {"error": self.error}
        if self.description:
            body["error_description"] = self.description
        if self.scope:
            body["scope"] = self.scope
        return body


class MissingToken(BearerTokenError):
    """The request carries no bearer token: challenge without an error code (RFC 6750 §3.1)."""

    error = None
    status = 401


class InvalidRequest(BearerTokenError):
    """The request is malformed, e.g. a bearer header without a token (RFC 6750 §3.1)."""

    error = "invalid_request"
    status = 400


class InvalidToken(BearerTokenError):
    """The token is expired, revoked, malformed, or invalid for other reasons (RFC 6750 §3.1)."""

    error = "invalid_token"
    status = 401


class InvalidDpopProof(BearerTokenError):
    """The DPoP proof of a request is missing, malformed or does not fit the request or
    the token (RFC 9449 §7.1): 401 with a `DPoP` challenge."""

    error = "invalid_dpop_proof"
    status = 401

    def __init__(self, description: str | None = None, **kwargs: Any) -> None:
        kwargs.setdefault("scheme", "DPoP")
        super().__init__(description, **kwargs)


class InsufficientScope(BearerTokenError):
    """The request requires higher privileges than the token provides (RFC 6750 §3.1)."""

    error = "insufficient_scope"
    status = 403


# --- key material, discovery, introspection ---------------------------------------------


class KeySetError(M2MClientError):
    """No usable JSON Web Key Set could be obtained (RFC 7517 §5); a server-side failure."""


class DiscoveryError(KeySetError):
    """The authorization server metadata is unusable or names another issuer (RFC 8414 §3.3)."""


class IntrospectionError(M2MClientError):
    """The introspection endpoint gave no usable answer (RFC 7662 §2.2)."""


class Unauthorized(M2MClientError):
    """Raised by authorizers: API Gateway answers 401 when a Lambda authorizer fails with
    exactly the message "Unauthorized"."""

    def __init__(self) -> None:
        super().__init__("Unauthorized")


def _quoted(value: str) -> str:
    return _UNQUOTABLE.sub("", value)
