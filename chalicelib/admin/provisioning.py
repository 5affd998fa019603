"""Admin use cases for APIs, apps, secrets and grants: the service layer the admin
routes, the local seed and the tests share. No HTTP here.

Every change is validated in :mod:`.validation`, guarded by the item's version
(no lost updates), and written with its audit record in one transaction.
"""

from __future__ import annotations

import logging
import re
import secrets as random
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from typing import Any

from ..errors import (
    Conflict,
    FieldError,
    ItemChanged,
    ItemExists,
    ItemMissing,
    NotFound,
    PreconditionFailed,
    ValidationFailed,
)
from ..oauth.claims import fits_signing_limit
from ..oauth.client_secret import (
    CLIENT_ID_SHAPE,
    SECRET_ID_SHAPE,
    hash_secret,
    new_client_id,
    new_secret,
    new_secret_id,
)
from ..store.records import (
    DEFAULT_TOKEN_LIFETIME,
    Api,
    App,
    AppCredentials,
    ClientSecret,
    Grant,
    Page,
)
from ..store.repository import Store
from . import validation as v
from .audit import SYSTEM, Actor, log_record, new_record

log = logging.getLogger(__name__)

MAX_ACTIVE_SECRETS = 3
API_ID_SHAPE = re.compile(r"api_[0-9a-f]{16}")
API_FIELDS = {"name", "identifier", "scopes", "token_lifetime"}
APP_FIELDS = {"name", "description", "claims", "token_lifetime", "permissions"}
APP_PATCH_FIELDS = APP_FIELDS | {"enabled"}
CONCURRENT = "The item was changed by another request; read it again and retry."


@dataclass(frozen=True)
class IssuedSecret:
    """A new secret: the only moment its plaintext exists outside the client."""

    client_id: str
    secret_id: str
    client_secret: str
    created_at: int
    expires_at: int | None

    def __repr__(self) -> str:
        return f"IssuedSecret(client_id={self.client_id!r}, secret_id={self.secret_id!r})"


def _check_if_match(if_match: int | None, version: int) -> None:
    if if_match is not None and if_match != version:
        raise PreconditionFailed(
            f"If-Match names version {if_match}; the current version is {version}."
        )


def _changed(if_match: int | None) -> Exception:
    return PreconditionFailed(CONCURRENT) if if_match is not None else Conflict(CONCURRENT)


@contextmanager
def _stored(missing: str, if_match: int | None = None) -> Iterator[None]:
    """Store errors as problems: a vanished item is 404; a version that moved is 412
    when the caller named one (If-Match), else 409."""
    try:
        yield
    except ItemMissing as exc:
        raise NotFound(missing) from exc
    except ItemChanged as exc:
        raise _changed(if_match) from exc


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
        scopes: Sequence[Any] = (),
        token_lifetime: int | None = None,
        actor: Actor = SYSTEM,
    ) -> Api:
        errors = v.Errors()
        now = self._now()
        api = Api(
            api_id="api_" + random.token_hex(8),
            identifier=v.identifier(errors, "identifier", identifier),
            name=v.name(errors, "name", name),
            scopes=v.scope_definitions(
                errors, "scopes", list(scopes) if isinstance(scopes, list | tuple) else scopes
            ),
            token_lifetime=v.token_lifetime(errors, "token_lifetime", token_lifetime)
            or DEFAULT_TOKEN_LIFETIME,
            created_at=now,
            updated_at=now,
        )
        errors.raise_if_any()
        audit = new_record(actor, "api.create", f"api/{api.api_id}", {
            "identifier": api.identifier, "name": api.name,
            "scopes": list(api.scope_values), "token_lifetime": api.token_lifetime,
        }, now)
        try:
            self._store.create_api(api, audit)
        except ItemExists as exc:
            raise Conflict(f"An API with identifier {api.identifier!r} already exists.") from exc
        log_record(audit)
        return api

    def get_api(self, api_id: str) -> Api:
        # ids are ours: anything else is unknown without a read (and cannot break
        # DynamoDB's 2,048-byte key limit)
        api = self._store.get_api(api_id) if API_ID_SHAPE.fullmatch(api_id) else None
        if api is None:
            raise NotFound(f"No API with id {api_id[:64]!r}.")
        return api

    def list_apis(self, limit: int, cursor: str | None) -> Page:
        return self._store.list_apis_page(limit, cursor)

    def update_api(
        self,
        api_id: str,
        changes: Mapping[str, Any],
        if_match: int | None = None,
        actor: Actor = SYSTEM,
    ) -> Api:
        v.only_fields(changes, API_FIELDS)
        api = self.get_api(api_id)
        _check_if_match(if_match, api.version)
        errors = v.Errors()
        if "identifier" in changes and changes["identifier"] != api.identifier:
            errors.add("identifier", "is immutable")
        name = v.name(errors, "name", changes["name"]) if "name" in changes else api.name
        scopes = (
            v.scope_definitions(errors, "scopes", changes["scopes"])
            if "scopes" in changes else api.scopes
        )
        lifetime = api.token_lifetime
        if "token_lifetime" in changes:
            lifetime = v.token_lifetime(errors, "token_lifetime", changes["token_lifetime"]) or 0
            if changes["token_lifetime"] is None:
                errors.add("token_lifetime", "must be an integer")
        errors.raise_if_any()
        now = self._now()
        updated = replace(api, name=name, scopes=scopes, token_lifetime=lifetime,
                          updated_at=now, version=api.version + 1)
        kept = set(updated.scope_values)
        removed = [s for s in api.scope_values if s not in kept]
        rewrites: list[tuple[str, Grant]] = []
        for client_id, grant in self._store.grants_for_api(api_id):
            new_scopes = tuple(s for s in grant.scopes if s in kept)
            if new_scopes != grant.scopes or grant.token_lifetime != lifetime:
                rewrites.append((client_id, replace(
                    grant, scopes=new_scopes, token_lifetime=lifetime, version=grant.version + 1
                )))
        audit = new_record(actor, "api.update", f"api/{api_id}", {
            **{k: changes[k] for k in changes if k != "identifier"},
            "removed_scopes": removed, "grants_rewritten": len(rewrites),
        }, now)
        with _stored(f"No API with id {api_id[:64]!r}.", if_match):
            self._store.update_api(updated, api.version, rewrites, audit)
        log_record(audit)
        return updated

    def delete_api(self, api_id: str, if_match: int | None = None, actor: Actor = SYSTEM) -> None:
        api = self.get_api(api_id)
        _check_if_match(if_match, api.version)
        owners = [client_id for client_id, _ in self._store.grants_for_api(api_id)]
        audit = new_record(actor, "api.delete", f"api/{api_id}", {
            "identifier": api.identifier, "grants_deleted": len(owners),
        }, self._now())
        with _stored(f"No API with id {api_id[:64]!r}.", if_match):
            self._store.delete_api(api, owners, audit)
        log_record(audit)

    # -- apps ---------------------------------------------------------------

    def create_app(
        self,
        name: str,
        description: str | None = None,
        claims: dict[str, Any] | None = None,
        token_lifetime: int | None = None,
        permissions: Sequence[str] | None = None,
        actor: Actor = SYSTEM,
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
                errors, "permissions",
                list(permissions) if isinstance(permissions, list | tuple) else permissions,
            ),
            created_at=now,
            updated_at=now,
        )
        errors.raise_if_any()
        secret, issued = self._new_secret(app.client_id, None)
        audit = new_record(actor, "app.create", f"app/{app.client_id}", {
            "name": app.name, "description": app.description, "claims": dict(app.claims),
            "token_lifetime": app.token_lifetime, "permissions": sorted(app.permissions),
            "secret_id": secret.secret_id,
        }, now)
        self._store.create_app(app, secret, audit)
        log_record(audit)
        return app, issued

    def get_app(self, client_id: str) -> AppCredentials:
        credentials = (
            self._store.get_credentials(client_id)
            if CLIENT_ID_SHAPE.fullmatch(client_id) else None
        )
        if credentials is None:
            raise NotFound(f"No app with client_id {client_id[:64]!r}.")
        return credentials

    def list_apps(self, limit: int, cursor: str | None) -> Page:
        return self._store.list_apps(limit, cursor)

    def update_app(
        self,
        client_id: str,
        changes: Mapping[str, Any],
        if_match: int | None = None,
        actor: Actor = SYSTEM,
        action: str = "app.update",
    ) -> App:
        v.only_fields(changes, APP_PATCH_FIELDS)
        credentials = self.get_app(client_id)
        app = credentials.app
        _check_if_match(if_match, app.version)
        errors = v.Errors()
        fields: dict[str, Any] = {}
        if "name" in changes:
            fields["name"] = v.name(errors, "name", changes["name"])
        if "description" in changes:
            fields["description"] = v.description(errors, "description", changes["description"])
        if "claims" in changes:
            fields["claims"] = v.claims(errors, "claims", changes["claims"])
        if "token_lifetime" in changes:
            fields["token_lifetime"] = v.token_lifetime(
                errors, "token_lifetime", changes["token_lifetime"]
            )
        if "permissions" in changes:
            fields["permissions"] = v.permissions(errors, "permissions", changes["permissions"])
        if "enabled" in changes:
            fields["enabled"] = v.enabled(errors, "enabled", changes["enabled"])
        errors.raise_if_any()
        if "claims" in fields:
            for grant in credentials.grants:
                if not fits_signing_limit(fields["claims"], grant.audience, grant.scopes,
                                          client_id):
                    raise ValidationFailed(
                        "Tokens would exceed the 4,096-byte KMS signing limit.",
                        [FieldError("claims", f"too large with the grant for {grant.audience}")],
                    )
        if action == "app.update" and set(changes) == {"enabled"}:
            action = "app.unblock" if fields["enabled"] else "app.block"
        return self._save_app(app, fields, dict(changes), if_match, actor, action)

    def set_enabled(self, client_id: str, enabled: bool, actor: Actor = SYSTEM) -> App:
        return self.update_app(client_id, {"enabled": enabled}, actor=actor)

    def revoke_tokens(self, client_id: str, actor: Actor = SYSTEM) -> App:
        """Every token issued to the app until now becomes inactive at introspection."""
        app = self.get_app(client_id).app
        now = self._now()
        return self._save_app(app, {"revoked_before": now}, {"revoked_before": now}, None,
                              actor, "app.revoke_tokens")

    def delete_app(
        self, client_id: str, if_match: int | None = None, actor: Actor = SYSTEM
    ) -> None:
        app = self.get_app(client_id).app
        _check_if_match(if_match, app.version)
        audit = new_record(actor, "app.delete", f"app/{client_id}", {"name": app.name},
                           self._now())
        with _stored(f"No app with client_id {client_id[:64]!r}.", if_match):
            self._store.delete_app(client_id, app.version, audit)
        log_record(audit)

    def _save_app(
        self,
        app: App,
        fields: dict[str, Any],
        changes: dict[str, Any],
        if_match: int | None,
        actor: Actor,
        action: str,
    ) -> App:
        now = self._now()
        updated = replace(app, **fields, updated_at=now, version=app.version + 1)
        audit = new_record(actor, action, f"app/{app.client_id}", changes, now)
        with _stored(f"No app with client_id {app.client_id!r}.", if_match):
            self._store.update_app(updated, app.version, audit)
        log_record(audit)
        return updated

    # -- secrets ------------------------------------------------------------

    def add_secret(
        self, client_id: str, expires_in: int | None = None, actor: Actor = SYSTEM
    ) -> IssuedSecret:
        errors = v.Errors()
        lifetime = v.expires_in(errors, "expires_in", expires_in)
        errors.raise_if_any()
        credentials = self.get_app(client_id)
        active = [s for s in credentials.secrets if s.is_active(self._now())]
        if len(active) >= MAX_ACTIVE_SECRETS:
            raise Conflict(
                f"The app already has {MAX_ACTIVE_SECRETS} active secrets; revoke one first."
            )
        secret, issued = self._new_secret(client_id, lifetime)
        audit = new_record(actor, "secret.create", f"app/{client_id}/secrets/{secret.secret_id}",
                           {"secret_id": secret.secret_id, "expires_at": secret.expires_at},
                           self._now())
        with _stored(f"No app with client_id {client_id[:64]!r}."):
            # bumping the app's version serialises concurrent additions (at most 3 active)
            self._store.add_secret(client_id, secret, credentials.app.version, audit)
        log_record(audit)
        return issued

    def revoke_secret(self, client_id: str, secret_id: str, actor: Actor = SYSTEM) -> None:
        if not (CLIENT_ID_SHAPE.fullmatch(client_id) and SECRET_ID_SHAPE.fullmatch(secret_id)):
            raise NotFound(f"No secret {secret_id[:64]!r} for app {client_id[:64]!r}.")
        audit = new_record(actor, "secret.revoke", f"app/{client_id}/secrets/{secret_id}",
                           {"secret_id": secret_id}, self._now())
        with _stored(f"No secret {secret_id!r} for app {client_id!r}."):
            self._store.delete_secret(client_id, secret_id, audit)
        log_record(audit)

    # -- grants -------------------------------------------------------------

    def set_grant(
        self,
        client_id: str,
        api_id: str,
        scopes: Sequence[str],
        if_match: int | None = None,
        actor: Actor = SYSTEM,
    ) -> Grant:
        errors = v.Errors()
        wanted = v.scope_values(
            errors, "scopes", list(scopes) if isinstance(scopes, list | tuple) else scopes
        )
        errors.raise_if_any()
        api = self.get_api(api_id)
        credentials = self.get_app(client_id)
        for i, scope in enumerate(wanted):
            if scope not in api.scope_values:
                errors.add(f"scopes[{i}]", f"{scope!r} is not a scope of this API")
        errors.raise_if_any()
        if not fits_signing_limit(credentials.app.claims, api.identifier, wanted, client_id):
            raise ValidationFailed(
                "Tokens for this grant would exceed the 4,096-byte KMS signing limit.",
                [FieldError("scopes", "too many or too long scopes with this app's claims")],
            )
        existing = next((g for g in credentials.grants if g.api_id == api_id), None)
        current_version = existing.version if existing else 0
        _check_if_match(if_match, current_version)
        grant = Grant(
            api_id=api.api_id, audience=api.identifier, scopes=wanted,
            token_lifetime=api.token_lifetime, version=current_version + 1,
        )
        audit = new_record(actor, "grant.set", f"app/{client_id}/grants/{api_id}",
                           {"scopes": list(wanted)}, self._now())
        with _stored(f"No app with client_id {client_id[:64]!r}.", if_match):
            self._store.put_grant(client_id, grant, current_version, audit)
        log_record(audit)
        return grant

    def list_grants(self, client_id: str) -> tuple[Grant, ...]:
        return tuple(sorted(self.get_app(client_id).grants, key=lambda g: g.api_id))

    def remove_grant(
        self, client_id: str, api_id: str, if_match: int | None = None, actor: Actor = SYSTEM
    ) -> None:
        if not (CLIENT_ID_SHAPE.fullmatch(client_id) and API_ID_SHAPE.fullmatch(api_id)):
            raise NotFound(f"App {client_id[:64]!r} has no grant for API {api_id[:64]!r}.")
        if if_match is not None:
            grant = next((g for g in self.get_app(client_id).grants if g.api_id == api_id), None)
            if grant is None:
                raise NotFound(f"App {client_id!r} has no grant for API {api_id!r}.")
            _check_if_match(if_match, grant.version)
        audit = new_record(actor, "grant.remove", f"app/{client_id}/grants/{api_id}", {},
                           self._now())
        with _stored(f"App {client_id!r} has no grant for API {api_id!r}."):
            self._store.delete_grant(client_id, api_id, audit)
        log_record(audit)

    # -- helpers ------------------------------------------------------------

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
        return secret, IssuedSecret(client_id, secret.secret_id, plaintext, now, expires_at)
