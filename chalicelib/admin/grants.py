"""Admin use cases for grants: which scopes of which API an app may obtain."""

from __future__ import annotations

from collections.abc import Sequence

from ..errors import (
    FieldError,
    NotFound,
    ValidationFailed,
)
from ..oauth.claims import fits_signing_limit
from ..oauth.client_secret import (
    CLIENT_ID_SHAPE,
)
from ..store.records import (
    Grant,
)
from . import validation as v
from .audit import SYSTEM, Actor, log_record, new_record
from .usecase import API_ID_SHAPE, UseCases, check_if_match, stored


class GrantAdmin(UseCases):
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
        check_if_match(if_match, current_version)
        grant = Grant(
            api_id=api.api_id, audience=api.identifier, scopes=wanted,
            token_lifetime=api.token_lifetime, token_reuse=api.token_reuse,
            sender_constrained_tokens_required=api.sender_constrained_tokens_required,
            version=current_version + 1,
        )
        audit = new_record(actor, "grant.set", f"app/{client_id}/grants/{api_id}",
                           {"scopes": list(wanted)}, self._now())
        with stored(f"No app with client_id {client_id[:64]!r}.", if_match):
            self._store.put_grant(client_id, grant, current_version, audit)
        log_record(audit)
        return grant

    def list_grants(self, client_id: str) -> tuple[Grant, ...]:
        return tuple(sorted(self.get_app(client_id).grants, key=lambda g: g.api_id))

    def grants_of_api(self, api_id: str) -> tuple[tuple[str, Grant], ...]:
        """Every (client_id, grant) of the apps authorized for this API, by client_id:
        one index Query (the grants are indexed by API), never a read per app."""
        self.get_api(api_id)
        return tuple(sorted(self._store.grants_for_api(api_id), key=lambda g: g[0]))

    def remove_grant(
        self, client_id: str, api_id: str, if_match: int | None = None, actor: Actor = SYSTEM
    ) -> None:
        if not (CLIENT_ID_SHAPE.fullmatch(client_id) and API_ID_SHAPE.fullmatch(api_id)):
            raise NotFound(f"App {client_id[:64]!r} has no grant for API {api_id[:64]!r}.")
        if if_match is not None:
            grant = next((g for g in self.get_app(client_id).grants if g.api_id == api_id), None)
            if grant is None:
                raise NotFound(f"App {client_id!r} has no grant for API {api_id!r}.")
            check_if_match(if_match, grant.version)
        audit = new_record(actor, "grant.remove", f"app/{client_id}/grants/{api_id}", {},
                           self._now())
        with stored(f"App {client_id!r} has no grant for API {api_id!r}."):
            self._store.delete_grant(client_id, api_id, audit)
        log_record(audit)
