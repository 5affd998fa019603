"""Repository protocols: what the protocol and admin code may ask of storage.

The DynamoDB adapter (:mod:`.dynamodb`) and the in-memory fake (:mod:`.memory`)
both implement them and pass the same contract tests.
"""

from __future__ import annotations

from typing import Protocol

from .records import (
    Api,
    App,
    AppCredentials,
    AuditRecord,
    AwsPrincipal,
    ClientKey,
    ClientSecret,
    ExchangePolicy,
    ExchangeSubject,
    FederatedIdentity,
    Grant,
    Page,
    Quota,
    SigningKeyRecord,
    TlsClient,
    TrustedIssuer,
    Usage,
    UsageCount,
)


class AppRepository(Protocol):
    def get_credentials(self, client_id: str) -> AppCredentials | None:
        """The app, its secrets and its grants, in one read."""

    def get_app(self, client_id: str) -> App | None: ...

    def create_app(
        self, app: App, secret: ClientSecret | None, audit: AuditRecord | None = None
    ) -> None:
        """Create the app with its first secret (``None``: a secretless app, which
        authenticates by assertion only); ``ItemExists`` if the id is taken.

        Every write takes the audit record of the change and stores it in the same
        transaction, so no change is ever unaudited."""

    def update_app(
        self, app: App, expected_version: int, audit: AuditRecord | None = None
    ) -> None:
        """Replace the app's metadata; ``ItemChanged`` if the stored version differs,
        ``ItemMissing`` if the app is gone."""

    def delete_app(self, client_id: str, expected_version: int, audit: AuditRecord) -> None:
        """Delete the app with everything in its partition: secrets, grants, keys
        (``ItemChanged``/``ItemMissing``)."""

    def list_apps(self, limit: int, cursor: str | None) -> Page: ...

    def add_secret(
        self,
        client_id: str,
        secret: ClientSecret,
        app_version: int | None = None,
        audit: AuditRecord | None = None,
    ) -> None:
        """``ItemMissing`` if the app does not exist. With ``app_version`` the app's
        version must match and is bumped, which serialises concurrent additions."""

    def delete_secret(
        self, client_id: str, secret_id: str, audit: AuditRecord | None = None
    ) -> None:
        """``ItemMissing`` if there is no such secret."""

    def record_secret_use(self, client_id: str, secret_id: str, when: int, interval: int) -> None:
        """Set ``last_used`` unless it was set less than ``interval`` seconds before ``when``."""

    def record_app_use(self, client_id: str, when: int, interval: int) -> None:
        """Set the app's ``last_used`` unless it was set less than ``interval`` seconds
        before ``when`` (the app's ``version`` is unchanged)."""

    def put_grant(
        self,
        client_id: str,
        grant: Grant,
        expected_version: int | None = None,
        audit: AuditRecord | None = None,
    ) -> None:
        """Create or replace a grant; ``ItemMissing`` if the app does not exist.
        With ``expected_version`` the stored grant must have it (``ItemChanged``);
        ``0`` means it must not exist yet."""

    def delete_grant(
        self, client_id: str, api_id: str, audit: AuditRecord | None = None
    ) -> None:
        """``ItemMissing`` if there is no such grant."""

    def grants_for_api(self, api_id: str) -> list[tuple[str, Grant]]:
        """Every (client_id, grant) naming this API."""


class ClientKeyRepository(Protocol):
    """An app's public keys for private_key_jwt (RFC 7523 §2.2), read with its
    credentials (``AppCredentials.keys``)."""

    def add_client_key(
        self, client_id: str, key: ClientKey, app_version: int, audit: AuditRecord
    ) -> None:
        """Add the key and bump the app's version, which must be ``app_version`` (so
        concurrent additions cannot exceed the limit): ``ItemChanged`` if it moved or
        the kid is taken, ``ItemMissing`` if the app is gone."""

    def delete_client_key(
        self, client_id: str, kid: str, expected_version: int | None, audit: AuditRecord
    ) -> None:
        """``ItemMissing`` if there is no such key; ``ItemChanged`` if
        ``expected_version`` is given and differs."""
class AwsPrincipalRepository(Protocol):
    """IAM principals of apps (docs/aws-iam-auth.md): an item in the app's partition and
    a lookup item from the principal's normal form to the app, written together."""

    def add_aws_principal(
        self, client_id: str, principal: AwsPrincipal, app_version: int, audit: AuditRecord
    ) -> None:
        """Bump the app's version from ``app_version`` and add the principal. ``ItemMissing``
        if the app is gone; ``ItemChanged`` if its version moved or the app already has a
        principal with this key."""

    def delete_aws_principal(
        self, client_id: str, principal: AwsPrincipal, app_version: int, audit: AuditRecord
    ) -> None:
        """Bump the app's version and remove the principal and its lookup item
        (``ItemMissing`` if the app is gone, ``ItemChanged`` if anything moved)."""

    def apps_for_aws_principal(self, key: str) -> list[str]:
        """The client_ids of the apps listing this principal (one Query)."""


class TlsClientRepository(Protocol):
    """An app's mutual-TLS certificates (RFC 8705 §2), in its partition: read with its
    credentials (``AppCredentials.tls_clients``)."""

    def add_tls_client(
        self, client_id: str, tls_client: TlsClient, app_version: int, audit: AuditRecord
    ) -> None:
        """Bump the app's version from ``app_version`` and add the credential
        (``ItemMissing`` if the app is gone, ``ItemChanged`` if its version moved)."""

    def delete_tls_client(
        self, client_id: str, credential_id: str, app_version: int, audit: AuditRecord
    ) -> None:
        """Bump the app's version and remove the credential (``ItemMissing`` if the app
        is gone, ``ItemChanged`` if its version moved or the credential is gone)."""


class ApiRepository(Protocol):
    def create_api(self, api: Api, audit: AuditRecord | None = None) -> None:
        """``ItemExists`` if the id or the identifier is taken."""

    def update_api(
        self,
        api: Api,
        expected_version: int,
        grants: list[tuple[str, Grant]],
        audit: AuditRecord,
    ) -> None:
        """Replace the API and rewrite the given grants (scope removal, lifetime)."""

    def delete_api(self, api: Api, grant_owners: list[str], audit: AuditRecord) -> None:
        """Delete the API, its identifier guard and the named apps' grants of it."""

    def list_apis_page(self, limit: int, cursor: str | None) -> Page: ...

    def get_api(self, api_id: str) -> Api | None: ...

    def find_api(self, identifier: str) -> Api | None: ...

    def list_apis(self) -> list[Api]:
        """Every API (used for discovery's ``scopes_supported``)."""


class KeyRepository(Protocol):
    def list_keys(self) -> list[SigningKeyRecord]: ...

    def add_key(self, key: SigningKeyRecord, audit: AuditRecord | None = None) -> None:
        """``ItemExists`` if a key with this kid is registered."""

    def save_keys(
        self, changes: list[tuple[SigningKeyRecord, int]], audit: AuditRecord | None
    ) -> None:
        """Write key records in one transaction, each guarded by its expected version."""


class AuditRepository(Protocol):
    def list_audit(self, limit: int, cursor: str | None) -> Page:
        """Audit records, newest first."""


class RevocationRepository(Protocol):
    def revoke_token(self, jti: str, client_id: str, expires_at: int) -> None:
        """Remember a revoked token id until the token would have expired, and count
        the revocation on the app (``App.revocations``, version unchanged) so that the
        token path stops reusing the app's cached tokens."""

    def token_status(self, client_id: str, jti: str, now: int) -> tuple[App | None, bool]:
        """The token's app (``None`` if deleted) and whether its jti is revoked: one read."""

    def exchange_subject(
        self, subject: str, api_id: str, issued_to: str, jtis: tuple[str, ...], now: int,
        source_api_id: str,
    ) -> ExchangeSubject:
        """In one read: the subject's app and its grant for ``api_id``, the app the
        subject token was issued to (``issued_to``), which of ``jtis`` are revoked and
        the API ``source_api_id`` (``None`` if deleted)."""


class UsageRepository(Protocol):
    def count_fresh_token(self, client_id: str, now: int, quota: Quota | None) -> UsageCount:
        """Count one fresh token in the current UTC hour and day, atomically. With an
        enforced quota, count only if both limits allow it (``allowed=False`` and the
        counts that refused, otherwise): concurrent callers never exceed it."""

    def usage(self, client_id: str, now: int) -> Usage:
        """Counts per hour for the last 48 hours and per day for the last 30 days."""


class IssuerRepository(Protocol):
    def add_issuer(self, issuer: TrustedIssuer, audit: AuditRecord | None = None) -> None:
        """``ItemExists`` if this issuer is registered already."""

    def get_issuer(self, issuer_id: str) -> TrustedIssuer | None: ...

    def list_issuers(self, limit: int, cursor: str | None) -> Page: ...

    def delete_issuer(
        self, issuer_id: str, expected_version: int | None, audit: AuditRecord | None = None
    ) -> None:
        """``ItemMissing`` if not registered; ``ItemChanged`` if the version moved."""


class FederatedIdentityRepository(Protocol):
    def add_federated_identity(
        self,
        client_id: str,
        identity: FederatedIdentity,
        app_version: int,
        audit: AuditRecord | None = None,
    ) -> None:
        """Store the identity in the app's partition and its lookup item in one
        transaction, bumping the app's version from ``app_version`` (serialises
        additions, so the per-app limit holds). ``ItemMissing`` if the app is gone,
        ``ItemChanged`` if its version moved, ``ItemExists`` if the app already has
        this issuer and subject."""

    def delete_federated_identity(
        self, client_id: str, identity: FederatedIdentity, audit: AuditRecord | None = None
    ) -> None:
        """Remove the identity and its lookup item; ``ItemMissing`` if not there."""

    def apps_for_subject(self, issuer: str, subject: str) -> list[str]:
        """The client ids of the apps that list this issuer and exact subject (one read)."""

    def identity_rules(
        self, issuer: str, subject: str | None
    ) -> list[tuple[str, FederatedIdentity]]:
        """(client_id, identity) of every identity of this issuer with exactly this
        subject, or with ``subject=None`` every pattern identity of the issuer; one
        Query of a lookup partition either way (the lookup items carry the rule)."""


class ExchangePolicyRepository(Protocol):
    """Token-exchange policies (RFC 8693, docs/token-exchange.md): items in the caller's
    partition, read with its credentials (``AppCredentials.exchange_policies``)."""

    def put_exchange_policy(
        self,
        client_id: str,
        policy: ExchangePolicy,
        expected_version: int,
        audit: AuditRecord | None = None,
    ) -> None:
        """Create or replace the app's policy for ``policy.target_api_id``: the stored
        one must have ``expected_version`` (``0``: none may exist yet), else
        ``ItemChanged``; ``ItemMissing`` if the app does not exist."""

    def delete_exchange_policy(
        self, client_id: str, target_api_id: str, audit: AuditRecord | None = None
    ) -> None:
        """``ItemMissing`` if the app has no policy for that API."""


class AssertionReplayRepository(Protocol):
    def use_once(self, namespace: str, jti: str, expires_at: int) -> bool:
        """Record the assertion id ``jti`` in ``namespace`` (a client_id, a hash of an
        issuer) until ``expires_at``; ``False`` if it was recorded before (a replay).
        One conditional write, so two concurrent uses cannot both succeed. Ids are
        refused once seen, even after they expire (DynamoDB TTL deletes lazily).
        ``ValueError`` if ``namespace`` or ``jti`` is empty or over 256 characters, or
        ``namespace`` holds a ``#``."""


class DpopNonceKeyRepository(Protocol):
    def nonce_key(self, scope: str, period: int, candidate: bytes, expires_at: int) -> bytes:
        """The HMAC key of DPoP nonces (RFC 9449 §8) for ``period`` in ``scope`` (a
        region): the one stored already, else ``candidate``, stored by a conditional
        write so every container of the scope agrees on one key. Kept until
        ``expires_at`` (DynamoDB TTL). ``ValueError`` if ``scope`` is empty, over 64
        characters or holds a ``#``."""


class Store(
    AppRepository,
    ClientKeyRepository,
    ApiRepository,
    KeyRepository,
    RevocationRepository,
    AuditRepository,
    UsageRepository,
    AssertionReplayRepository,
    AwsPrincipalRepository,
    IssuerRepository,
    FederatedIdentityRepository,
    ExchangePolicyRepository,
    DpopNonceKeyRepository,
    TlsClientRepository,
    Protocol,
):
    """All repositories; one DynamoDB table implements them together."""
