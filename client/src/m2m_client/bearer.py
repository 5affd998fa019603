"""Reading the access token from a request: `Bearer` (RFC 6750 §2.1) or `DPoP`
(RFC 9449 §7.1)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

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


def presented_token(authorization: str | None) -> tuple[str, str]:
    """The scheme (`Bearer` or `DPoP`, RFC 9449 §7.1) and the token of an
    `Authorization` value; schemes compare case-insensitively.

    No header, or another scheme, is `MissingToken`; a header without one well-formed
    token is `InvalidRequest`.
    """
    if authorization is None or not authorization.strip():
        raise MissingToken()
    scheme, _, credentials = authorization.strip().partition(" ")
    if scheme.lower() == "dpop":
        credentials = credentials.strip()
        if not _B64TOKEN.fullmatch(credentials):
            raise InvalidRequest("the Authorization header holds no single DPoP token",
                                 scheme="DPoP")
        return "DPoP", credentials
    return "Bearer", bearer_token(authorization)


def header_values(headers: Mapping[str, Any] | None, name: str) -> tuple[str, ...]:
    """Every value of a header field, looked up case-insensitively, from a mapping of
    names to a string or a list of strings (API Gateway's `multiValueHeaders`)."""
    if not headers:
        return ()
    wanted = name.lower()
    found: list[str] = []
    for key, value in headers.items():
        if isinstance(key, str) and key.lower() == wanted:
            if isinstance(value, str):
                found.append(value)
            elif isinstance(value, list):
                found.extend(v for v in value if isinstance(v, str))
    return tuple(found)


def header(headers: Mapping[str, str] | None, name: str) -> str | None:
    """A header's value looked up case-insensitively (RFC 9110 §5.1)."""
    if not headers:
        return None
    wanted = name.lower()
    for key, value in headers.items():
        if key.lower() == wanted:
            return value
    return None
