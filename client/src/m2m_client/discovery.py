"""Authorization server metadata (RFC 8414) and where the JWKS lives."""

from __future__ import annotations

import json
from dataclasses import dataclass

from m2m_client.errors import DiscoveryError
from m2m_client.fetch import Fetch, FetchError, require_secure_url

WELL_KNOWN_SUFFIX = "/.well-known/oauth-authorization-server"


def metadata_url(issuer: str) -> str:
    """The metadata document's URL: the well-known suffix appended to the issuer.

    RFC 8414 §3.1 inserts the suffix before an issuer's path; the m2m-auth server runs
    under an API Gateway stage path and serves it appended (as OpenID Connect Discovery
    does), so that is what this returns. Pass `metadata_url=` to the verifier otherwise.
    """
    return issuer.rstrip("/") + WELL_KNOWN_SUFFIX


@dataclass(frozen=True)
class ServerMetadata:
    """The metadata fields a resource server uses (RFC 8414 §2)."""

    issuer: str
    jwks_uri: str
    introspection_endpoint: str | None = None


def fetch_metadata(issuer: str, fetch: Fetch, url: str | None = None) -> ServerMetadata:
    """Fetch and validate the metadata; its `issuer` must equal ours exactly (RFC 8414 §3.3)."""
    location = url or metadata_url(issuer)
    try:
        response = fetch(location)
    except FetchError as exc:
        raise DiscoveryError(f"authorization server metadata unavailable: {exc}") from exc
    if response.status != 200:
        raise DiscoveryError(f"authorization server metadata: HTTP {response.status}")
    try:
        document = json.loads(response.body)
    except ValueError:
        raise DiscoveryError("authorization server metadata is not JSON") from None
    if not isinstance(document, dict):
        raise DiscoveryError("authorization server metadata is not a JSON object")
    if document.get("issuer") != issuer:
        raise DiscoveryError("authorization server metadata names a different issuer")
    jwks_uri = document.get("jwks_uri")
    if not isinstance(jwks_uri, str):
        raise DiscoveryError("authorization server metadata has no jwks_uri")
    try:
        require_secure_url(jwks_uri)
    except ValueError as exc:
        raise DiscoveryError(str(exc)) from None
    introspection = document.get("introspection_endpoint")
    return ServerMetadata(
        issuer=issuer,
        jwks_uri=jwks_uri,
        introspection_endpoint=introspection if isinstance(introspection, str) else None,
    )


class DiscoveredJwksUri:
    """The JWKS location, discovered on first use and then remembered.

    Not locked itself: the JWKS cache calls it under its own lock, which also
    rate-limits rediscovery after a failure.
    """

    def __init__(self, issuer: str, fetch: Fetch, url: str | None = None) -> None:
        self._issuer = issuer
        self._fetch = fetch
        self._url = require_secure_url(url or metadata_url(issuer))
        self._jwks_uri: str | None = None

    def __call__(self) -> str:
        if self._jwks_uri is None:
            self._jwks_uri = fetch_metadata(self._issuer, self._fetch, self._url).jwks_uri
        return self._jwks_uri
