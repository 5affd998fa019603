"""Admin use cases for apps (machine clients): create, update, block, revoke
their tokens, delete."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

from ..errors import (
    FieldError,
    ValidationFailed,
)
from ..oauth.claims import fits_signing_limit
from ..oauth.client_secret import (
    new_client_id,
)
from ..store.records import (
    App,
    ClientSecret,
    Page,
)
from . import validation as v
from . import validation_limits as limits
from .audit import SYSTEM, Actor, log_record, new_record
from .exchange_policies import fits_with_act
from .secrets import IssuedSecret, new_client_secret
from .usecase import UseCases, check_if_match, stored

CERTIFICATE_BOUND = "tls_client_certificate_bound_access_tokens"
"""RFC 8705 §3.4 client metadata: the app's tokens must be certificate-bound."""
APP_FIELDS = {"name", "description", "claims", "token_lifetime", "permissions", "quota",
              "dpop_bound_access_tokens", CERTIFICATE_BOUND}
STAGE_DEFAULT: Any = object()
"""``quota`` not given: the stage-wide default (``DEFAULT_APP_QUOTA``) applies."""
APP_PATCH_FIELDS = APP_FIELDS | {"enabled"}


class AppAdmin(UseCases):
    def create_app(
        self,
        name: str,
        description: str | None = None,
        claims: dict[str, Any] | None = None,
        token_lifetime: int | None = None,
        permissions: Sequence[str] | None = None,
        actor: Actor = SYSTEM,
        quota: Any = STAGE_DEFAULT,
        dpop_bound_access_tokens: Any = False,
        tls_client_certificate_bound_access_tokens: Any = False,
    ) -> tuple[App, IssuedSecret]:
        app = self._new_app(name, description, claims, token_lifetime, permissions, quota,
                            dpop_bound_access_tokens,
                            tls_client_certificate_bound_access_tokens)
        secret, issued = new_client_secret(app.client_id, None, app.created_at)
        self._store_new_app(app, secret, actor)
        return app, issued

    def create_secretless_app(
        self,
        name: str,
        description: str | None = None,
        claims: dict[str, Any] | None = None,
        token_lifetime: int | None = None,
        permissions: Sequence[str] | None = None,
        actor: Actor = SYSTEM,
        quota: Any = STAGE_DEFAULT,
        dpop_bound_access_tokens: Any = False,
        tls_client_certificate_bound_access_tokens: Any = False,
    ) -> App:
        """An app with no secret: it authenticates by assertion only (private_key_jwt
        once a key is added, a federated identity or an AWS principal), until a secret
        is added."""
        app = self._new_app(name, description, claims, token_lifetime, permissions, quota,
                            dpop_bound_access_tokens,
                            tls_client_certificate_bound_access_tokens)
        self._store_new_app(app, None, actor)
        return app

    def _new_app(
        self,
        name: str,
        description: str | None,
        claims: dict[str, Any] | None,
        token_lifetime: int | None,
        permissions: Sequence[str] | None,
        quota: Any,
        dpop_bound_access_tokens: Any = False,
        certificate_bound: Any = False,
    ) -> App:
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
            quota=(self._default_quota if quota is STAGE_DEFAULT
                   else limits.quota(errors, "quota", quota)),
            created_at=now,
            updated_at=now,
            dpop_bound_access_tokens=v.flag(
                errors, "dpop_bound_access_tokens", dpop_bound_access_tokens
            ),
            tls_client_certificate_bound_access_tokens=v.flag(
                errors, CERTIFICATE_BOUND, certificate_bound
            ),
        )
        errors.raise_if_any()
        return app

    def _store_new_app(self, app: App, secret: ClientSecret | None, actor: Actor) -> None:
        audit = new_record(actor, "app.create", f"app/{app.client_id}", {
            "name": app.name, "description": app.description, "claims": dict(app.claims),
            "token_lifetime": app.token_lifetime, "permissions": sorted(app.permissions),
            "secret_id": secret.secret_id if secret is not None else None,
            "quota": limits.quota_view(app.quota),
            "dpop_bound_access_tokens": app.dpop_bound_access_tokens,
            CERTIFICATE_BOUND: app.tls_client_certificate_bound_access_tokens,
        }, app.created_at)
        self._store.create_app(app, secret, audit)
        log_record(audit)

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
        check_if_match(if_match, app.version)
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
        if "quota" in changes:
            fields["quota"] = limits.quota(errors, "quota", changes["quota"])
        if "enabled" in changes:
            fields["enabled"] = v.enabled(errors, "enabled", changes["enabled"])
        if "dpop_bound_access_tokens" in changes:
            fields["dpop_bound_access_tokens"] = v.flag(
                errors, "dpop_bound_access_tokens", changes["dpop_bound_access_tokens"]
            )
        if CERTIFICATE_BOUND in changes:
            fields[CERTIFICATE_BOUND] = v.flag(errors, CERTIFICATE_BOUND,
                                               changes[CERTIFICATE_BOUND])
        errors.raise_if_any()
        if "claims" in fields:
            for grant in credentials.grants:
                if not fits_signing_limit(fields["claims"], grant.audience, grant.scopes,
                                          client_id):
                    raise ValidationFailed(
                        "Tokens would exceed the 4,096-byte KMS signing limit.",
                        [FieldError("claims", f"too large with the grant for {grant.audience}")],
                    )
            for policy in credentials.exchange_policies:
                if not fits_with_act(fields["claims"], client_id, policy):
                    raise ValidationFailed(
                        "Exchanged tokens would exceed the 4,096-byte KMS signing limit.",
                        [FieldError("claims", "too large with the exchange policy for "
                                    f"{policy.target_audience}")],
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
        # The generation moves in the same versioned write as the rest of the app item, so
        # a token request either read the app before this write (its token carries the old
        # generation and is inactive) or after it (the new generation: active).
        fields = {"revoked_before": now, "revocation_generation": app.revocation_generation + 1}
        return self._save_app(app, fields, {"revoked_before": now}, None,
                              actor, "app.revoke_tokens")

    def delete_app(
        self, client_id: str, if_match: int | None = None, actor: Actor = SYSTEM
    ) -> None:
        app = self.get_app(client_id).app
        check_if_match(if_match, app.version)
        audit = new_record(actor, "app.delete", f"app/{client_id}", {"name": app.name},
                           self._now())
        with stored(f"No app with client_id {client_id[:64]!r}.", if_match):
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
        with stored(f"No app with client_id {app.client_id!r}.", if_match):
            self._store.update_app(updated, app.version, audit)
        log_record(audit)
        return updated
