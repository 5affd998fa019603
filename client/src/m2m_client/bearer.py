"""Reading a bearer token from a request (RFC 6750 §2.1)."""

from __future__ import annotations

import re
from collections.abc import Mapping

from m2m_client.errors import InvalidRequest, MissingToken

# RFC 6750 §2.1: b64token = 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"="
_B64TOKEN = re.compile(r"[A-Za-z0-9\-._~+/]+=*")


def bearer_token(authorization: str | None) -> str:
    """The token in an `Authorization: Bearer <token>` value; the scheme is case-insensitive.

    No header, or another scheme, is `MissingToken` (401 without an error code,
    RFC 6750 §3.1); a bearer header without one well-formed token is `InvalidRequest`.
    """
    if authorization is None or not authorization.strip():
        raise MissingToken()
    scheme, _, credentials = authorization.strip().partition(" ")
    if scheme.lower() != "bearer":
        raise MissingToken()
    credentials = credentials.strip()
    if not _B64TOKEN.fullmatch(credentials):
        raise InvalidRequest("the Authorization header holds no single bearer token")
    return credentials


def header(headers: Mapping[str, str] | None, name: str) -> str | None:
    """A header's value looked up case-insensitively (RFC 9110 §5.1)."""
    if not headers:
        return None
    wanted = name.lower()
    for key, value in headers.items():
        if key.lower() == wanted:
            return value
    return None
