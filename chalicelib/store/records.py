"""Records the service stores: APIs, apps, their secrets and grants, signing keys."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from ..tokens.lifetime import DEFAULT_TOKEN_LIFETIME, DEFAULT_TOKEN_REUSE


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
    token_reuse: float | None = DEFAULT_TOKEN_REUSE
    """Server-side token reuse: a repeated request gets the token already issued while
    at least this fraction (0 < f < 1) of its lifetime is left; ``None``: never."""
    sender_constrained_tokens_required: bool = False
    """Tokens for this API must be bound to a key (``cnf``: a DPoP proof, RFC 9449, or
    a client certificate, RFC 8705); a request that binds nothing is refused."""

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

    ``audience``, ``token_lifetime``, ``token_reuse`` and
    ``sender_constrained_tokens_required`` are copied from the API so that one query of
    the app's partition answers a token request.
    """

    api_id: str
    audience: str
    scopes: tuple[str, ...]
    token_lifetime: int = DEFAULT_TOKEN_LIFETIME
    version: int = 1
    token_reuse: float | None = DEFAULT_TOKEN_REUSE
    sender_constrained_tokens_required: bool = False


@dataclass(frozen=True)
class Quota:
    """A cap on an app's freshly signed tokens per UTC hour and per UTC day (reused
    tokens never count). ``enforce=False`` only logs overruns (monitor mode)."""

    per_hour: int | None = None
    per_day: int | None = None
    enforce: bool = True


@dataclass(frozen=True)
class UsageCount:
    """Fresh tokens counted in the current UTC hour and day, after a count attempt."""

    hour: int
    day: int
    allowed: bool = True


@dataclass(frozen=True)
class Usage:
    """An app's fresh-token counts: (window start, count) oldest first."""

    hourly: tuple[tuple[int, int], ...]
    daily: tuple[tuple[int, int], ...]


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
    """When an admin last revoked the app's tokens (epoch seconds). Tokens without a
    generation in their ``jti`` (issued before generations existed) are inactive if
    issued at or before it."""
    revocation_generation: int = 0
    """Bumped by each admin revoke-tokens; tokens carry the generation they were issued
    under (see :mod:`chalicelib.oauth.token_id`) and older generations are inactive."""
    revocations: int = 0
    """Counts ``/oauth/revoke`` of the app's tokens (an atomic ADD that leaves
    ``version`` alone): the token path sees it in its one Query and stops reusing."""
    quota: Quota | None = None
    created_at: int = 0
    updated_at: int = 0
    version: int = 1
    last_used: int | None = None
    """When the app last authenticated, by any method (epoch seconds, written at most
    once per ``LAST_USED_INTERVAL``); like ``revocations`` it leaves ``version`` alone."""
    dpop_bound_access_tokens: bool = False
    """RFC 9449 §5.2 client metadata: the app always uses DPoP, so a token request
    without a proof is refused."""
    tls_client_certificate_bound_access_tokens: bool = False
    """RFC 8705 §3.4 client metadata: the app's tokens are always bound to its TLS
    client certificate, so a token request without one is refused."""


@dataclass(frozen=True)
class ClientKey:
    """A public key an app signs its client assertions with (private_key_jwt, RFC 7523
    §2.2). Only public members are ever stored; ``alg`` is the one algorithm it verifies."""

    kid: str
    alg: str
    jwk: Mapping[str, Any]
    created_at: int
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
class AwsPrincipal:
    """An IAM role or user that may authenticate as an app (docs/aws-iam-auth.md)."""

    principal_id: str
    arn: str
    """As the admin registered it."""
    key: str
    """The normal form STS answers are compared in (``oauth.aws_arn.IamPrincipal.key``)."""
    created_at: int = 0


@dataclass(frozen=True)
class FederatedIdentity:
    """A workload identity an app accepts instead of a secret: a claim rule on one
    trusted issuer (docs/federation.md, docs/jwt-bearer.md). A workload token matches
    when its ``sub`` equals ``subject`` (or, with ``pattern``, matches it as a pattern:
    ``*`` stands for any run of characters other than ``:``) and every claim in
    ``required_claims`` has exactly the value given (a name, or an RFC 6901 JSON Pointer
    such as ``/kubernetes.io/namespace`` for a nested claim)."""

    identity_id: str
    issuer: str
    subject: str
    audience: str | None = None
    """``None``: the presented token's ``aud`` must contain our issuer identifier (the
    jwt-bearer grant and token exchange also take our token endpoint URL)."""
    created_at: int = 0
    pattern: bool = False
    """``subject`` is a pattern, not an exact subject."""
    required_claims: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class ExchangePolicy:
    """Which tokens an app (the caller) may exchange into tokens for one target API
    (RFC 8693, docs/token-exchange.md). Kept in the caller's partition, so the token
    request's one Query of the caller reads it; ``target_audience`` and
    ``source_audiences`` copy the APIs' immutable identifiers."""

    target_api_id: str
    target_audience: str
    scopes: tuple[str, ...]
    """The most the exchanged token may carry; also never more than the subject's own
    grant for the target."""
    source_apis: tuple[str, ...] = ()
    source_audiences: tuple[str, ...] = ()
    """Access tokens of these APIs (their ``aud``) may be subject tokens:
    ``source_audiences[i]`` is the identifier of ``source_apis[i]``; an exchange matches
    the ``aud`` and then checks that the API of that id still exists."""
    source_issuers: tuple[str, ...] = ()
    """Workload JWTs of these trusted issuers may be subject tokens."""
    delegation: bool = True
    impersonation: bool = False
    max_act_depth: int = 1
    """The longest RFC 8693 §4.1 ``act`` chain the exchanged token may carry."""
    created_at: int = 0
    updated_at: int = 0
    version: int = 1


@dataclass(frozen=True)
class ExchangeSubject:
    """What an exchange reads about an access-token subject, in one request: the
    subject's app and its grant for the target, the app that the subject token was
    issued to, which of the presented token ids are revoked, and the source API (by the
    id the policy lists) of the subject token."""

    subject_app: App | None
    grant: Grant | None
    issuing_app: App | None
    revoked: frozenset[str] = frozenset()
    source_api: Api | None = None
    """``None`` once deleted, even if another API has taken its identifier since."""


@dataclass(frozen=True)
class TlsClient:
    """A certificate an app authenticates with over mutual TLS (RFC 8705 §2).

    ``tls_client_auth`` (§2.1): ``field`` is one of the §2.1.2 metadata names
    (``tls_client_auth_subject_dn``, ``..._san_dns``, ``..._san_uri``, ``..._san_ip``,
    ``..._san_email``) and ``values`` its one expected value, in normal form.
    ``self_signed_tls_client_auth`` (§2.2): ``field`` is ``x5t#S256`` and ``values`` the
    SHA-256 thumbprints of the registered certificates."""

    credential_id: str
    method: str
    field: str
    values: tuple[str, ...]
    created_at: int = 0
    expires_at: int | None = None
    """The earliest ``notAfter`` of the registered certificates, when they were given
    (self-signed); ``None`` for subject rules and bare thumbprints."""


@dataclass(frozen=True)
class AppCredentials:
    """Everything the token endpoint needs about an app, read in one query."""

    app: App
    secrets: tuple[ClientSecret, ...]
    grants: tuple[Grant, ...]
    keys: tuple[ClientKey, ...] = ()
    """Public keys for private_key_jwt."""
    aws_principals: tuple[AwsPrincipal, ...] = ()
    federated_identities: tuple[FederatedIdentity, ...] = ()
    tls_clients: tuple[TlsClient, ...] = ()
    """Certificates for tls_client_auth / self_signed_tls_client_auth (RFC 8705 §2)."""
    exchange_policies: tuple[ExchangePolicy, ...] = ()
    """Token-exchange policies with this app as the caller."""

    def grant_for(self, audience: str) -> Grant | None:
        for grant in self.grants:
            if grant.audience == audience:
                return grant
        return None

    def exchange_policy_for(self, audience: str) -> ExchangePolicy | None:
        for policy in self.exchange_policies:
            if policy.target_audience == audience:
                return policy
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
    deletion_scheduled_at: int | None = None
    """When the rotation scheduled the KMS key's deletion (once, after retirement)."""
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
