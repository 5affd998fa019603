"""Client authentication by assertion (RFC 7521 §4.2): what `TokenClient(credentials=...)` takes.

An assertion source makes a fresh assertion for every token request; `TokenClient`
sends it as `client_assertion_type` / `client_assertion` with the `client_id`, and no
secret. `PrivateKeyJwt` (RFC 7523 §2.2) is one; others prove a workload's identity.
"""

from __future__ import annotations

import json
from typing import Protocol, runtime_checkable
from urllib.parse import urlsplit

import requests

from m2m_client.discovery import WELL_KNOWN_SUFFIX
from m2m_client.errors import TokenTransportError

TOKEN_PATH = "/oauth/token"  # noqa: S105 - a URL path


@runtime_checkable
class AssertionCredentials(Protocol):
    """Anything that can prove the client's identity with an assertion."""

    @property
    def assertion_type(self) -> str:
        """The `client_assertion_type` URN (e.g. `...:client-assertion-type:jwt-bearer`)."""
        ...

    def assertion(self, issuer: str) -> str:
        """A fresh assertion for the authorization server whose issuer identifier is
        `issuer` (the audience of a JWT assertion, RFC 7523 §3)."""
        ...


def discover_issuer(session: requests.Session, token_url: str, timeout: float) -> str:
    """The issuer identifier of the m2m-auth server whose token endpoint is `token_url`.

    m2m-auth serves its token endpoint at `{issuer}/oauth/token` and its RFC 8414
    metadata at `{issuer}/.well-known/oauth-authorization-server`; the metadata's
    `token_endpoint` must be `token_url` exactly and its `issuer` the URL the metadata
    was fetched from (RFC 8414 §3.3), so an assertion is never made for an issuer the
    token URL does not belong to: a server that named another one's issuer would get an
    assertion it could replay there (audience injection, CVE-2025-27370/27371). Pass
    `issuer=` to skip this request.
    """
    if not token_url.endswith(TOKEN_PATH) or urlsplit(token_url).query:
        raise ValueError(
            f"cannot derive the issuer from {token_url!r}; pass issuer= to TokenClient"
        )
    expected_issuer = token_url[: -len(TOKEN_PATH)]
    url = expected_issuer + WELL_KNOWN_SUFFIX
    try:
        with session.get(
            url, headers={"Accept": "application/json"}, timeout=timeout, allow_redirects=False
        ) as response:
            status = response.status_code
            body = response.content[: 256 * 1024]
    except requests.RequestException as exc:
        raise TokenTransportError(f"server metadata unreachable: {type(exc).__name__}") from exc
    if status != 200:
        raise TokenTransportError(f"server metadata: HTTP {status}")
    try:
        document = json.loads(body)
    except ValueError:
        raise TokenTransportError("server metadata is not JSON") from None
    if not isinstance(document, dict) or document.get("token_endpoint") != token_url:
        raise TokenTransportError("server metadata names another token endpoint")
    issuer = document.get("issuer")
    if not isinstance(issuer, str) or not issuer:
        raise TokenTransportError("server metadata has no issuer")
    if issuer != expected_issuer:
        raise TokenTransportError("server metadata names another issuer")
    return issuer
