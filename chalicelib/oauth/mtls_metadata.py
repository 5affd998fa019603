"""Server metadata of mutual TLS (RFC 8414 §2 members registered by RFC 8705):
``tls_client_certificate_bound_access_tokens`` (§3.3) and, when the mutual-TLS host is
not the issuer's, ``mtls_endpoint_aliases`` (§5): the endpoints a client doing mutual
TLS uses instead of the conventional ones."""

from __future__ import annotations

from typing import Any

from .metadata import INTROSPECT_PATH, REVOKE_PATH, TOKEN_PATH


def mtls_metadata(issuer: str, mtls_endpoint: str | None) -> dict[str, Any]:
    """The members for a server whose mutual-TLS base URL is ``mtls_endpoint`` (``None``:
    no mutual TLS, no members)."""
    if mtls_endpoint is None:
        return {}
    metadata: dict[str, Any] = {"tls_client_certificate_bound_access_tokens": True}
    if mtls_endpoint.rstrip("/") != issuer.rstrip("/"):
        base = mtls_endpoint.rstrip("/")
        metadata["mtls_endpoint_aliases"] = {
            "token_endpoint": base + TOKEN_PATH,
            "introspection_endpoint": base + INTROSPECT_PATH,
            "revocation_endpoint": base + REVOKE_PATH,
        }
    return metadata
