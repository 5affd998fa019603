"""JSON shapes of admin resources (docs/admin-contract.md). Never a secret or hash."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from .validation_limits import quota_view

if TYPE_CHECKING:
    from ..store.records import (
        Api,
        App,
        AuditRecord,
        ClientSecret,
        ExchangePolicy,
        Grant,
        SigningKeyRecord,
        Usage,
    )


def timestamp(epoch: int | None) -> str | None:
    if epoch is None:
        return None
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def api_view(api: Api) -> dict[str, Any]:
    return {
        "id": api.api_id,
        "identifier": api.identifier,
        "name": api.name,
        "scopes": [{"value": s.value, "description": s.description} for s in api.scopes],
        "token_lifetime": api.token_lifetime,
        "token_reuse": api.token_reuse,
        "sender_constrained_tokens_required": api.sender_constrained_tokens_required,
        "created_at": timestamp(api.created_at),
        "updated_at": timestamp(api.updated_at),
        "version": api.version,
    }


def secret_view(secret: ClientSecret) -> dict[str, Any]:
    return {
        "secret_id": secret.secret_id,
        "created_at": timestamp(secret.created_at),
        "expires_at": timestamp(secret.expires_at),
        "last_used": timestamp(secret.last_used),
    }


def app_view(app: App, secrets: tuple[ClientSecret, ...] | None = None) -> dict[str, Any]:
    view: dict[str, Any] = {
        "client_id": app.client_id,
        "name": app.name,
        "description": app.description,
        "enabled": app.enabled,
        "claims": dict(app.claims),
        "token_lifetime": app.token_lifetime,
        "permissions": sorted(app.permissions),
        "revoked_before": timestamp(app.revoked_before),
        "quota": quota_view(app.quota),
        "dpop_bound_access_tokens": app.dpop_bound_access_tokens,
        "tls_client_certificate_bound_access_tokens":
            app.tls_client_certificate_bound_access_tokens,
        "created_at": timestamp(app.created_at),
        "updated_at": timestamp(app.updated_at),
        "version": app.version,
        "last_used": timestamp(app.last_used),
    }
    if secrets is not None:
        ordered = sorted(secrets, key=lambda s: (s.created_at, s.secret_id))
        view["secrets"] = [secret_view(s) for s in ordered]
    return view


def usage_view(app: App, usage: Usage) -> dict[str, Any]:
    return {
        "client_id": app.client_id,
        "quota": quota_view(app.quota),
        "hourly": [{"start": timestamp(start), "count": n} for start, n in usage.hourly],
        "daily": [{"start": timestamp(start), "count": n} for start, n in usage.daily],
    }


def grant_view(grant: Grant) -> dict[str, Any]:
    return {
        "api_id": grant.api_id,
        "audience": grant.audience,
        "scopes": list(grant.scopes),
        "version": grant.version,
    }


def exchange_policy_view(policy: ExchangePolicy) -> dict[str, Any]:
    return {
        "target_api_id": policy.target_api_id,
        "target_audience": policy.target_audience,
        "scopes": list(policy.scopes),
        "source_apis": list(policy.source_apis),
        "source_audiences": list(policy.source_audiences),
        "source_issuers": list(policy.source_issuers),
        "delegation": policy.delegation,
        "impersonation": policy.impersonation,
        "max_act_depth": policy.max_act_depth,
        "created_at": timestamp(policy.created_at),
        "updated_at": timestamp(policy.updated_at),
        "version": policy.version,
    }


def api_grant_view(client_id: str, grant: Grant) -> dict[str, Any]:
    """A grant seen from its API: which app, which scopes."""
    return {"client_id": client_id, **grant_view(grant)}


def key_view(key: SigningKeyRecord) -> dict[str, Any]:
    return {
        "kid": key.kid,
        "alg": key.alg,
        "kms_key_arn": key.kms_key_id,
        "state": key.state.value,
        "created_at": timestamp(key.created_at),
        "activated_at": timestamp(key.activated_at),
        "deactivated_at": timestamp(key.deactivated_at),
        "retired_at": timestamp(key.retired_at),
        "version": key.version,
    }


def audit_view(record: AuditRecord) -> dict[str, Any]:
    return {
        "id": record.audit_id,
        "time": timestamp(record.time),
        "actor": record.actor,
        "action": record.action,
        "target": record.target,
        "changes": dict(record.changes),
        "request_id": record.request_id,
    }
