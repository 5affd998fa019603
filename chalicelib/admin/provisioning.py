"""Create and change APIs, apps, secrets and grants: the service layer the tests,
the local seed and the admin routes share."""

from __future__ import annotations

import logging
import secrets as random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any

from ..errors import (
    Conflict,
    FieldError,
    ItemExists,
    ItemMissing,
    NotFound,
    ValidationFailed,
)
from ..oauth.claims import fits_signing_limit
from ..oauth.client_secret import hash_secret, new_client_id, new_secret, new_secret_id
from ..store.records import DEFAULT_TOKEN_LIFETIME, Api, App, ClientSecret, Grant
from ..store.repository import Store
from . import validation as v

log = logging.getLogger(__name__)

MAX_ACTIVE_SECRETS = 3


@dataclass(frozen=True)
class IssuedSecret:
    """A new secret: the only moment its plaintext exists outside the client."""

    client_id: str
    secret_id: str
    client_secret: str
    expires_at: int | None

    def __repr__(self) -> str:
        return f"IssuedSecret(client_id={self.client_id!r}, secret_id={self.secret_id!r})"


class Provisioning:
    def __init__(self, store: Store, clock: Callable[[], float]) -> None:
        self._store = store
        self._clock = clock

    def _now(self) -> int:
        return int(self._clock())

    # -- APIs ---------------------------------------------------------------

    def create_api(
        self,
        name: str,
        identifier: str,
        scopes: Sequence[Any],
        token_lifetime: int | None = None,
    ) -> Api:
        errors = v.Errors()
        api = Api(
            api_id="api_" + random.token_hex(8),
            identifier=v.identifier(errors, "identifier", identifier),
            name=v.name(errors, "name", name),
            scopes=v.scope_definitions(errors, "scopes", list(scopes)),
            token_lifetime=v.token_lifetime(errors, "token_lifetime", token_lifetime)
            or DEFAULT_TOKEN_LIFETIME,
            created_at=self._now(),
            updated_at=self._now(),
        )
        errors.raise_if_any()
        try:
            self._store.create_api(api)
        except ItemExists as exc:
            raise Conflict(f"An API with identifier {identifier!r} already exists.") from exc
        log.info("api created api_id=%s identifier=%s", api.api_id, api.identifier)
        return api

    # -- apps ---------------------------------------------------------------

    def create_app(
        self,
        name: str,
        description: str | None = None,
        claims: dict[str, Any] | None = None,
        token_lifetime: int | None = None,
        permissions: Sequence[str] | None = None,
    ) -> tuple[App, IssuedSecret]:
        errors = v.Errors()
        now = self._now()
        app = App(
            client_id=new_client_id(),
            name=v.name(errors, "name", name),
            description=v.description(errors, "description", description),
            claims=v.claims(errors, "claims", claims),
            token_lifetime=v.token_lifetime(errors, "token_lifetime", token_lifetime),
            permissions=v.permissions(
                errors, "permissions", list(permissions) if permissions is not None else None
            ),
            created_at=now,
            updated_at=now,
        )
        errors.raise_if_any()
        secret, issued = self._new_secret(app.client_id, None)
        self._store.create_app(app, secret)
        log.info("app created client_id=%s secret_id=%s", app.client_id, secret.secret_id)
        return app, issued

    def set_enabled(self, client_id: str, enabled: bool) -> App:
        app = self._app(client_id)
        updated = replace(app, enabled=enabled, updated_at=self._now(), version=app.version + 1)
        self._store.update_app(updated, expected_version=app.version)
        log.info("app %s client_id=%s", "enabled" if enabled else "blocked", client_id)
        return updated

    # -- secrets ------------------------------------------------------------

    def add_secret(self, client_id: str, expires_in: int | None = None) -> IssuedSecret:
        errors = v.Errors()
        lifetime = v.expires_in(errors, "expires_in", expires_in)
        errors.raise_if_any()
        credentials = self._store.get_credentials(client_id)
        if credentials is None:
            raise NotFound(f"No app with client_id {client_id!r}.")
        active = [s for s in credentials.secrets if s.is_active(self._now())]
        if len(active) >= MAX_ACTIVE_SECRETS:
            raise Conflict(
                f"The app already has {MAX_ACTIVE_SECRETS} active secrets; revoke one first."
            )
        secret, issued = self._new_secret(client_id, lifetime)
        try:
            self._store.add_secret(client_id, secret)
        except ItemMissing as exc:
            raise NotFound(f"No app with client_id {client_id!r}.") from exc
        log.info("secret created client_id=%s secret_id=%s", client_id, secret.secret_id)
        return issued

    def revoke_secret(self, client_id: str, secret_id: str) -> None:
        try:
            self._store.delete_secret(client_id, secret_id)
        except ItemMissing as exc:
            raise NotFound(f"No secret {secret_id!r} for app {client_id!r}.") from exc
        log.info("secret revoked client_id=%s secret_id=%s", client_id, secret_id)

    # -- grants -------------------------------------------------------------

    def set_grant(self, client_id: str, api_id: str, scopes: Sequence[str]) -> Grant:
        errors = v.Errors()
        wanted = v.scope_values(errors, "scopes", list(scopes))
        errors.raise_if_any()
        api = self._store.get_api(api_id)
        if api is None:
            raise NotFound(f"No API with id {api_id!r}.")
        app = self._app(client_id)
        for i, scope in enumerate(wanted):
            if scope not in api.scope_values:
                errors.add(f"scopes[{i}]", f"{scope!r} is not a scope of this API")
        errors.raise_if_any()
        if not fits_signing_limit(app.claims, api.identifier, wanted, client_id):
            raise ValidationFailed(
                "Tokens for this grant would exceed the 4,096-byte KMS signing limit.",
                [FieldError("scopes", "too many or too long scopes with this app's claims")],
            )
        grant = Grant(
            api_id=api.api_id, audience=api.identifier, scopes=wanted,
            token_lifetime=api.token_lifetime,
        )
        try:
            self._store.put_grant(client_id, grant)
        except ItemMissing as exc:
            raise NotFound(f"No app with client_id {client_id!r}.") from exc
        log.info("grant set client_id=%s api_id=%s scope=%r", client_id, api_id, " ".join(wanted))
        return grant

    def remove_grant(self, client_id: str, api_id: str) -> None:
        self._store.delete_grant(client_id, api_id)
        log.info("grant removed client_id=%s api_id=%s", client_id, api_id)

    # -- helpers ------------------------------------------------------------

    def _app(self, client_id: str) -> App:
        app = self._store.get_app(client_id)
        if app is None:
            raise NotFound(f"No app with client_id {client_id!r}.")
        return app

    def _new_secret(
        self, client_id: str, lifetime: int | None
    ) -> tuple[ClientSecret, IssuedSecret]:
        plaintext = new_secret()
        now = self._now()
        expires_at = now + lifetime if lifetime is not None else None
        secret = ClientSecret(
            secret_id=new_secret_id(), secret_hash=hash_secret(plaintext),
            created_at=now, expires_at=expires_at,
        )
        return secret, IssuedSecret(client_id, secret.secret_id, plaintext, expires_at)
