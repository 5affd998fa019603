"""Authorization server metadata (RFC 8414 §2) and the JWK Set (RFC 7517 §5)."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # app.py imports the paths below at cold start; nothing more
    from ..store.repository import ApiRepository
    from ..tokens.keyring import KeyRing

TOKEN_PATH = "/oauth/token"  # noqa: S105 - a URL path
INTROSPECT_PATH = "/oauth/introspect"
REVOKE_PATH = "/oauth/revoke"
JWKS_PATH = "/.well-known/jwks.json"
METADATA_PATH = "/.well-known/oauth-authorization-server"


def server_metadata(
    issuer: str, scopes: Iterable[str], auth_methods: Sequence[str] | None = None,
    grant_types: Sequence[str] = ("client_credentials",),
    dpop_algs: Sequence[str] = (),
    extra: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    # client authentication: not at cold start
    from .client_auth import AUTH_METHODS
    from .private_key_jwt import METHOD as PRIVATE_KEY_JWT
    from .private_key_jwt import SIGNING_ALGS

    methods = list(AUTH_METHODS if auth_methods is None else auth_methods)
    metadata: dict[str, Any] = {
        "issuer": issuer,
        "token_endpoint": issuer + TOKEN_PATH,
        "jwks_uri": issuer + JWKS_PATH,
        "introspection_endpoint": issuer + INTROSPECT_PATH,
        "revocation_endpoint": issuer + REVOKE_PATH,
        "grant_types_supported": list(grant_types),
        "response_types_supported": [],
        "token_endpoint_auth_methods_supported": methods,
        "introspection_endpoint_auth_methods_supported": list(methods),
        "revocation_endpoint_auth_methods_supported": list(methods),
        "scopes_supported": sorted(set(scopes)),
    }
    if PRIVATE_KEY_JWT in methods:  # RFC 8414 §2: required with private_key_jwt
        for endpoint in ("token", "introspection", "revocation"):
            metadata[f"{endpoint}_endpoint_auth_signing_alg_values_supported"] = list(
                SIGNING_ALGS
            )
    if dpop_algs:  # RFC 9449 §5.1
        metadata["dpop_signing_alg_values_supported"] = list(dpop_algs)
    metadata.update(extra or {})  # members of extensions (RFC 8705 mutual TLS)
    return metadata


class Discovery:
    """Serves the metadata document and the JWK Set, caching the scope list per container."""

    def __init__(
        self,
        apis: ApiRepository,
        keyring: KeyRing,
        clock: Callable[[], float],
        cache_seconds: int,
        auth_methods: Sequence[str] | None = None,
        grant_types: Sequence[str] = ("client_credentials",),
        dpop_algs: Sequence[str] = (),
        extensions: Sequence[Callable[[str], Mapping[str, Any]]] = (),
    ) -> None:
        self._apis = apis
        self._dpop_algs = tuple(dpop_algs)
        self._extensions = tuple(extensions)
        """Each gives metadata members for an issuer (:mod:`.mtls_metadata`)."""
        self._grant_types = tuple(grant_types)
        self._auth_methods = None if auth_methods is None else tuple(auth_methods)
        self._keyring = keyring
        self._clock = clock
        self._cache_seconds = cache_seconds
        self._lock = threading.Lock()
        self._scopes: tuple[str, ...] | None = None
        self._loaded_at = 0.0

    def metadata(self, issuer: str) -> dict[str, Any]:
        with self._lock:
            now = self._clock()
            if self._scopes is None or now - self._loaded_at >= self._cache_seconds:
                self._scopes = tuple(
                    scope for api in self._apis.list_apis() for scope in api.scope_values
                )
                self._loaded_at = now
            scopes = self._scopes
        extra = {k: v for extension in self._extensions for k, v in extension(issuer).items()}
        return server_metadata(issuer, scopes, self._auth_methods, self._grant_types,
                               self._dpop_algs, extra)

    def jwks(self) -> dict[str, Any]:
        return {"keys": [key.jwk for key in self._keyring.published()]}
