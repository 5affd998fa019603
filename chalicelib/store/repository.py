"""Repository protocols: what the protocol and admin code may ask of storage.

The DynamoDB adapter (:mod:`.dynamodb`) and the in-memory fake (:mod:`.memory`)
both implement them and pass the same contract tests.
"""

from __future__ import annotations

from typing import Protocol

from .records import Api, App, AppCredentials, ClientSecret, Grant, SigningKeyRecord


class AppRepository(Protocol):
    def get_credentials(self, client_id: str) -> AppCredentials | None:
        """The app, its secrets and its grants, in one read."""

    def get_app(self, client_id: str) -> App | None: ...

    def create_app(self, app: App, secret: ClientSecret) -> None:
        """Create the app with its first secret; ``ItemExists`` if the id is taken."""

    def update_app(self, app: App, expected_version: int) -> None:
        """Replace the app's metadata; ``ItemChanged`` if the stored version differs."""

    def add_secret(self, client_id: str, secret: ClientSecret) -> None:
        """``ItemMissing`` if the app does not exist."""

    def delete_secret(self, client_id: str, secret_id: str) -> None:
        """``ItemMissing`` if there is no such secret."""

    def record_secret_use(self, client_id: str, secret_id: str, when: int, interval: int) -> None:
        """Set ``last_used`` unless it was set less than ``interval`` seconds before ``when``."""

    def put_grant(self, client_id: str, grant: Grant) -> None:
        """Create or replace a grant; ``ItemMissing`` if the app does not exist."""

    def delete_grant(self, client_id: str, api_id: str) -> None: ...


class ApiRepository(Protocol):
    def create_api(self, api: Api) -> None:
        """``ItemExists`` if the id or the identifier is taken."""

    def get_api(self, api_id: str) -> Api | None: ...

    def find_api(self, identifier: str) -> Api | None: ...

    def list_apis(self) -> list[Api]:
        """Every API (used for discovery's ``scopes_supported``)."""


class KeyRepository(Protocol):
    def list_keys(self) -> list[SigningKeyRecord]: ...

    def add_key(self, key: SigningKeyRecord) -> None:
        """``ItemExists`` if a key with this kid is registered."""


class RevocationRepository(Protocol):
    def revoke_token(self, jti: str, client_id: str, expires_at: int) -> None:
        """Remember a revoked token id until the token would have expired."""

    def token_status(self, client_id: str, jti: str, now: int) -> tuple[App | None, bool]:
        """The token's app (``None`` if deleted) and whether its jti is revoked: one read."""


class Store(AppRepository, ApiRepository, KeyRepository, RevocationRepository, Protocol):
    """All repositories; one DynamoDB table implements them together."""
