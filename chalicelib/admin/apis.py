"""Admin use cases for APIs (resource servers). Every change is validated in
:mod:`.validation`, guarded by the item's version and written with its audit record."""

from __future__ import annotations

import secrets as random
from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

from ..errors import (
    Conflict,
    ItemExists,
)
from ..store.records import Api, Grant, Page
from ..tokens.lifetime import DEFAULT_TOKEN_LIFETIME, DEFAULT_TOKEN_REUSE
from . import validation as v
from . import validation_limits as limits
from .audit import SYSTEM, Actor, log_record, new_record
from .usecase import UseCases, check_if_match, stored

API_FIELDS = {"name", "identifier", "scopes", "token_lifetime", "token_reuse",
              "sender_constrained_tokens_required"}


class ApiAdmin(UseCases):
    def create_api(
        self,
        name: str,
        identifier: str,
        scopes: Sequence[Any] = (),
        token_lifetime: int | None = None,
        actor: Actor = SYSTEM,
        token_reuse: Any = DEFAULT_TOKEN_REUSE,
        sender_constrained_tokens_required: Any = False,
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
            token_reuse=limits.token_reuse(errors, "token_reuse", token_reuse),
            sender_constrained_tokens_required=v.flag(
                errors, "sender_constrained_tokens_required", sender_constrained_tokens_required
            ),
            created_at=now,
            updated_at=now,
        )
        errors.raise_if_any()
        audit = new_record(actor, "api.create", f"api/{api.api_id}", {
            "identifier": api.identifier, "name": api.name,
            "scopes": list(api.scope_values), "token_lifetime": api.token_lifetime,
            "token_reuse": api.token_reuse,
            "sender_constrained_tokens_required": api.sender_constrained_tokens_required,
        }, now)
        try:
            self._store.create_api(api, audit)
        except ItemExists as exc:
            raise Conflict(f"An API with identifier {api.identifier!r} already exists.") from exc
        log_record(audit)
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
        check_if_match(if_match, api.version)
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
        reuse = (
            limits.token_reuse(errors, "token_reuse", changes["token_reuse"])
            if "token_reuse" in changes else api.token_reuse
        )
        constrained = (
            v.flag(errors, "sender_constrained_tokens_required",
                   changes["sender_constrained_tokens_required"])
            if "sender_constrained_tokens_required" in changes
            else api.sender_constrained_tokens_required
        )
        errors.raise_if_any()
        now = self._now()
        updated = replace(api, name=name, scopes=scopes, token_lifetime=lifetime,
                          token_reuse=reuse, sender_constrained_tokens_required=constrained,
                          updated_at=now, version=api.version + 1)
        kept = set(updated.scope_values)
        removed = [s for s in api.scope_values if s not in kept]
        rewrites: list[tuple[str, Grant]] = []
        for client_id, grant in self._store.grants_for_api(api_id):
            new_scopes = tuple(s for s in grant.scopes if s in kept)
            if (new_scopes, lifetime, reuse, constrained) != (
                grant.scopes, grant.token_lifetime, grant.token_reuse,
                grant.sender_constrained_tokens_required,
            ):
                rewrites.append((client_id, replace(
                    grant, scopes=new_scopes, token_lifetime=lifetime, token_reuse=reuse,
                    sender_constrained_tokens_required=constrained, version=grant.version + 1,
                )))
        audit = new_record(actor, "api.update", f"api/{api_id}", {
            **{k: changes[k] for k in changes if k != "identifier"},
            "removed_scopes": removed, "grants_rewritten": len(rewrites),
        }, now)
        with stored(f"No API with id {api_id[:64]!r}.", if_match):
            self._store.update_api(updated, api.version, rewrites, audit)
        log_record(audit)
        return updated

    def delete_api(self, api_id: str, if_match: int | None = None, actor: Actor = SYSTEM) -> None:
        api = self.get_api(api_id)
        check_if_match(if_match, api.version)
        owners = [client_id for client_id, _ in self._store.grants_for_api(api_id)]
        audit = new_record(actor, "api.delete", f"api/{api_id}", {
            "identifier": api.identifier, "grants_deleted": len(owners),
        }, self._now())
        with stored(f"No API with id {api_id[:64]!r}.", if_match):
            self._store.delete_api(api, owners, audit)
        log_record(audit)
