"""Client authentication by assertion (RFC 7521 §4.2): the shared shape of every method.

A client sends ``client_assertion_type`` and ``client_assertion`` (and optionally
``client_id``). :class:`~.client_auth.ClientAuthenticator` routes the assertion to the one
:class:`AssertionMethod` that ``handles()`` it; the method verifies everything and
returns the app. Routing may peek at an unverified JWT (:func:`unverified_claims`);
nothing read that way is trusted.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass, field
from typing import Any, Protocol

from ..store.records import AppCredentials
from .client_secret import CLIENT_ID_SHAPE

JWT_BEARER = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
"""RFC 7523 §2.2: a JWT signed by the client (private_key_jwt) or by a trusted issuer."""
JWT_SPIFFE = "urn:ietf:params:oauth:client-assertion-type:jwt-spiffe"
"""draft-ietf-oauth-spiffe-client-auth: a SPIFFE JWT-SVID."""
AWS_SIGV4 = "urn:m2m-auth:params:oauth:client-assertion-type:aws-sigv4"
"""Ours (docs/): a SigV4-signed ``sts:GetCallerIdentity`` request."""

MAX_ASSERTION_LENGTH = 8192
"""Longer assertions are refused before any parsing (the body limit is 16 KiB)."""


@dataclass(frozen=True)
class ClientAssertion:
    """The assertion parameters of one request (RFC 7521 §4.2)."""

    assertion_type: str
    assertion: str = field(repr=False)  # never logged
    client_id: str | None = None
    """The ``client_id`` parameter, if the client sent one."""


class AssertionMethod(Protocol):
    """One way of authenticating a client by assertion (a module per method)."""

    @property
    def method(self) -> str:
        """The method's name in logs and RFC 8414 metadata (e.g. ``private_key_jwt``)."""
        ...

    def handles(self, assertion: ClientAssertion) -> bool:
        """Whether this method is the one for the assertion (cheap, unverified routing)."""
        ...

    def authenticate(self, assertion: ClientAssertion, issuer: str, now: int) -> AppCredentials:
        """The app the assertion proves, or ``InvalidClient()`` with no detail on any
        failure; ``TemporarilyUnavailable`` when an upstream cannot be reached."""
        ...


def unverified_claims(token: str) -> dict[str, Any] | None:
    """The payload of a compact JWS, NOT verified: for routing only. ``None`` if it is
    not a three-part compact JWS whose payload is a JSON object."""
    if len(token) > MAX_ASSERTION_LENGTH:
        return None
    parts = token.split(".")
    if len(parts) != 3:
        return None
    try:
        raw = base64.urlsafe_b64decode(parts[1] + "=" * (-len(parts[1]) % 4))
        claims = json.loads(raw)
    except (binascii.Error, ValueError, RecursionError):
        return None
    return claims if isinstance(claims, dict) else None


def issued_by_client(assertion: ClientAssertion) -> bool:
    """A ``jwt-bearer`` assertion whose (unverified) ``iss`` has our client-id shape:
    the client signed it itself (private_key_jwt). Any other ``iss`` is a federated
    issuer's token."""
    if assertion.assertion_type != JWT_BEARER:
        return False
    claims = unverified_claims(assertion.assertion)
    iss = claims.get("iss") if claims else None
    return isinstance(iss, str) and CLIENT_ID_SHAPE.fullmatch(iss) is not None
