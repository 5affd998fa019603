"""Admin use cases for token-exchange policies (RFC 8693, docs/token-exchange.md): which
tokens an app (the caller) may exchange into tokens for a target API, with which scopes,
by delegation or impersonation, and how long an ``act`` chain may grow. No HTTP here."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..errors import Conflict, FieldError, NotFound, ValidationFailed
from ..federation.issuers import issuer_id_for
from ..oauth.act_claim import MAX_ACT_DEPTH, worst_case_act
from ..oauth.claims import fits_signing_limit
from ..oauth.client_secret import CLIENT_ID_SHAPE
from ..store.records import Api, ExchangePolicy
from . import validation as v
from .audit import SYSTEM, Actor, log_record, new_record
from .usecase import API_ID_SHAPE, UseCases, check_if_match, stored

POLICY_FIELDS = {
    "source_apis", "source_issuers", "scopes", "delegation", "impersonation", "max_act_depth",
}
MAX_SOURCES = 20
MAX_POLICIES_PER_APP = 50
MAX_ISSUER_LENGTH = 512


def fits_with_act(custom: Mapping[str, Any], client_id: str, policy: ExchangePolicy) -> bool:
    """Whether exchanged tokens of this policy, with the longest ``act`` it allows, stay
    within the KMS signing limit (the subject and every actor are app client ids)."""
    act = worst_case_act(policy.max_act_depth, client_id)
    return fits_signing_limit(custom, policy.target_audience, policy.scopes, client_id,
                              {"act": act} if act else None)


class ExchangePolicyAdmin(UseCases):
    def set_exchange_policy(
        self,
        client_id: str,
        api_id: str,
        body: Mapping[str, Any],
        if_match: int | None = None,
        actor: Actor = SYSTEM,
    ) -> ExchangePolicy:
        v.only_fields(body, POLICY_FIELDS, frozenset({"scopes"}))
        target = self.get_api(api_id)
        credentials = self.get_app(client_id)
        errors = v.Errors()
        sources = self._source_apis(errors, body.get("source_apis", []))
        issuers = self._source_issuers(errors, body.get("source_issuers", []))
        scopes = v.scope_values(errors, "scopes", body["scopes"])
        for i, scope in enumerate(scopes):
            if scope not in target.scope_values:
                errors.add(f"scopes[{i}]", f"{scope!r} is not a scope of the target API")
        delegation = v.enabled(errors, "delegation", body.get("delegation", True))
        impersonation = v.enabled(errors, "impersonation", body.get("impersonation", False))
        depth = v.integer(body.get("max_act_depth", 1))
        if depth is None or not 1 <= depth <= MAX_ACT_DEPTH:
            errors.add("max_act_depth", f"must be an integer from 1 to {MAX_ACT_DEPTH}")
        errors.raise_if_any()
        if not sources and not issuers:
            raise ValidationFailed("A policy needs at least one source.", [
                FieldError("source_apis", "name at least one source API or source issuer"),
            ])
        if not delegation and not impersonation:
            raise ValidationFailed("A policy must allow delegation, impersonation or both.",
                                   [FieldError("delegation", "delegation or impersonation "
                                               "must be true")])
        existing = next((p for p in credentials.exchange_policies
                         if p.target_api_id == target.api_id), None)
        current_version = existing.version if existing else 0
        check_if_match(if_match, current_version)
        if existing is None and len(credentials.exchange_policies) >= MAX_POLICIES_PER_APP:
            raise Conflict(f"The app has {MAX_POLICIES_PER_APP} exchange policies, the most "
                           "it may.")
        now = self._now()
        policy = ExchangePolicy(
            target_api_id=target.api_id, target_audience=target.identifier, scopes=scopes,
            source_apis=tuple(a.api_id for a in sources),
            source_audiences=tuple(a.identifier for a in sources),
            source_issuers=issuers, delegation=delegation, impersonation=impersonation,
            max_act_depth=depth or 1,
            created_at=existing.created_at if existing else now, updated_at=now,
            version=current_version + 1,
        )
        if not fits_with_act(credentials.app.claims, client_id, policy):
            raise ValidationFailed(
                "Exchanged tokens would exceed the 4,096-byte KMS signing limit.",
                [FieldError("max_act_depth", "too deep (or too many scopes) with this app's "
                            "claims")],
            )
        audit = new_record(actor, "exchange_policy.set",
                           f"app/{client_id}/exchange-policies/{api_id}", {
                               "source_apis": list(policy.source_apis),
                               "source_issuers": list(policy.source_issuers),
                               "scopes": list(scopes), "delegation": delegation,
                               "impersonation": impersonation,
                               "max_act_depth": policy.max_act_depth,
                           }, now)
        with stored(f"No app with client_id {client_id[:64]!r}.", if_match):
            self._store.put_exchange_policy(client_id, policy, current_version, audit)
        log_record(audit)
        return policy

    def _source_apis(self, errors: v.Errors, value: Any) -> tuple[Api, ...]:
        if not isinstance(value, list) or len(value) > MAX_SOURCES or not all(
            isinstance(a, str) for a in value
        ):
            errors.add("source_apis", f"must be a list of at most {MAX_SOURCES} API ids")
            return ()
        found = []
        for i, api_id in enumerate(dict.fromkeys(value)):
            api = self._store.get_api(api_id) if API_ID_SHAPE.fullmatch(api_id) else None
            if api is None:
                errors.add(f"source_apis[{i}]", "is not the id of an API")
            else:
                found.append(api)
        return tuple(found)

    def _source_issuers(self, errors: v.Errors, value: Any) -> tuple[str, ...]:
        if not isinstance(value, list) or len(value) > MAX_SOURCES or not all(
            isinstance(i, str) and 0 < len(i) <= MAX_ISSUER_LENGTH for i in value
        ):
            errors.add("source_issuers", f"must be a list of at most {MAX_SOURCES} issuers")
            return ()
        for i, issuer in enumerate(value):
            record = self._store.get_issuer(issuer_id_for(issuer))
            if record is None or record.issuer != issuer:
                errors.add(f"source_issuers[{i}]",
                           "must be a registered trusted issuer (POST /admin/issuers)")
        return tuple(dict.fromkeys(value))

    def list_exchange_policies(self, client_id: str) -> tuple[ExchangePolicy, ...]:
        policies = self.get_app(client_id).exchange_policies
        return tuple(sorted(policies, key=lambda p: p.target_api_id))

    def remove_exchange_policy(
        self, client_id: str, api_id: str, if_match: int | None = None, actor: Actor = SYSTEM
    ) -> None:
        missing = f"App {client_id[:64]!r} has no exchange policy for API {api_id[:64]!r}."
        if not (CLIENT_ID_SHAPE.fullmatch(client_id) and API_ID_SHAPE.fullmatch(api_id)):
            raise NotFound(missing)
        if if_match is not None:
            policy = next((p for p in self.get_app(client_id).exchange_policies
                           if p.target_api_id == api_id), None)
            if policy is None:
                raise NotFound(missing)
            check_if_match(if_match, policy.version)
        audit = new_record(actor, "exchange_policy.remove",
                           f"app/{client_id}/exchange-policies/{api_id}", {}, self._now())
        with stored(missing):
            self._store.delete_exchange_policy(client_id, api_id, audit)
        log_record(audit)
