"""Records the service stores: APIs, apps, their secrets and grants, signing keys."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

DEFAULT_TOKEN_LIFETIME = 3600
MIN_TOKEN_LIFETIME = 60
MAX_TOKEN_LIFETIME = 86400


@dataclass(frozen=True)
class ScopeDefinition:
    """A scope an API defines (RFC 6749 §3.3 scope-token) with a human description."""

    value: str
    description: str = ""


@dataclass(frozen=True)
class Api:
    """A resource server: tokens name it in ``aud`` by its ``identifier``."""

    api_id: str
    identifier: str
    name: str
    scopes: tuple[ScopeDefinition, ...]
    token_lifetime: int = DEFAULT_TOKEN_LIFETIME
    created_at: int = 0
    updated_at: int = 0
    version: int = 1

    @property
    def scope_values(self) -> tuple[str, ...]:
        return tuple(s.value for s in self.scopes)


@dataclass(frozen=True)
class ClientSecret:
    """Metadata and one-way hash of one of an app's secrets. Never the secret itself."""

    secret_id: str
    secret_hash: str
    created_at: int
    expires_at: int | None = None
    last_used: int | None = None

    def is_active(self, now: int) -> bool:
        return self.expires_at is None or now < self.expires_at


@dataclass(frozen=True)
class Grant:
    """What one app may obtain for one API.

    ``audience`` and ``token_lifetime`` are copied from the API so that one
    query of the app's partition answers a token request.
    """

    api_id: str
    audience: str
    scopes: tuple[str, ...]
    token_lifetime: int = DEFAULT_TOKEN_LIFETIME
    version: int = 1


@dataclass(frozen=True)
class App:
    """A machine client (RFC 6749 §2.1 confidential client)."""

    client_id: str
    name: str
    description: str = ""
    enabled: bool = True
    claims: Mapping[str, Any] = field(default_factory=dict)
    token_lifetime: int | None = None
    permissions: frozenset[str] = frozenset()
    revoked_before: int | None = None
    """Tokens issued before this time (epoch seconds) are inactive."""
    created_at: int = 0
    updated_at: int = 0
    version: int = 1


@dataclass(frozen=True)
class TrustedIssuer:
    """A third-party token issuer an admin trusts for federated client authentication
    (docs/federation.md). ``issuer_id`` is derived from ``issuer`` (one record per issuer)."""

    issuer_id: str
    issuer: str
    """The ``iss`` its tokens carry; for SPIFFE ``spiffe://<trust domain>``."""
    name: str
    kind: str
    """``oidc``, ``aws-outbound``, ``kubernetes``, ``github-actions`` or ``spiffe``."""
    jwks_uri: str | None = None
    """``None``: discovered from ``{issuer}/.well-known/openid-configuration``."""
    max_token_lifetime: int = 3600
    single_use_jti: bool = True
    created_at: int = 0
    version: int = 1


@dataclass(frozen=True)
class FederatedIdentity:
    """A workload identity (issuer + subject) an app accepts instead of a secret."""

    identity_id: str
    issuer: str
    subject: str
    audience: str | None = None
    """``None``: the presented token's ``aud`` must contain our issuer identifier."""
    created_at: int = 0


@dataclass(frozen=True)
class AppCredentials:
    """Everything the token endpoint needs about an app, read in one query."""

    app: App
    secrets: tuple[ClientSecret, ...]
    grants: tuple[Grant, ...]
    federated_identities: tuple[FederatedIdentity, ...] = ()

    def grant_for(self, audience: str) -> Grant | None:
        for grant in self.grants:
            if grant.audience == audience:
                return grant
        return None


class KeyState(StrEnum):
    """Lifecycle of a signing key: next → current → previous → retired."""

    NEXT = "next"
    CURRENT = "current"
    PREVIOUS = "previous"
    RETIRED = "retired"

    @property
    def published(self) -> bool:
        return self is not KeyState.RETIRED


@dataclass(frozen=True)
class SigningKeyRecord:
    """A KMS key the service signs with or publishes. The private key stays in KMS."""

    kid: str
    kms_key_id: str
    """The key's ARN as KMS reports it."""
    alg: str
    state: KeyState
    created_at: int
    activated_at: int | None = None
    deactivated_at: int | None = None
    retired_at: int | None = None
    version: int = 1


@dataclass(frozen=True)
class AuditRecord:
    """One admin change: who, what, on which target, which fields (never secrets)."""

    audit_id: str
    time: int
    actor: str
    action: str
    target: str
    changes: Mapping[str, Any] = field(default_factory=dict)
    request_id: str | None = None


@dataclass(frozen=True)
class Page:
    """One page of a list and the opaque cursor of the next (``None`` at the end)."""

    items: tuple[Any, ...]
    next: str | None = None
