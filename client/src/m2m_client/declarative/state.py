"""The server's current state, read through the admin API, as the planner's plain dicts.

    {"apis": {identifier: {"id", "version", "name", "scopes", "token_lifetime", "token_reuse",
                           "sender_constrained_tokens_required"}},
     "issuers": {issuer: {"id", "version", "kind", "name", "jwks_uri", ...}},
     "apps": [{"client_id", "version", "name", ..., "has_secret",
               "grants": {identifier: {"api_id", "scopes", "version"}},
               "exchange_policies": {target identifier: {"api_id", "version", "source_apis"
                   (identifiers), "source_issuers", "scopes", "delegation", ...}},
               "federated_identities": [{"id", "issuer", "subject" or "subject_pattern",
                                         "required_claims", "audience"}],
               "aws_principals": [{"id", "arn"}], "keys": [{"kid", "jwk", "version"}],
               "tls_clients": [{"id", "key": (field, sorted values)}]}]}

Only public data is kept: an app's secrets are reduced to whether it has any.
"""

from __future__ import annotations

from typing import Any, Protocol

from m2m_client.admin_http import ApiError, admin_path
from m2m_client.declarative.tls_clients import state_rule


class Reader(Protocol):
    def get(self, path: str, params: Any = None) -> Any: ...

    def pages(self, path: str, *, limit: int | None = None,
              next_cursor: str | None = None) -> Any: ...


def _all(client: Reader, path: str) -> list[dict[str, Any]]:
    return [item for page in client.pages(path, limit=200) for item in page["items"]]


def _optional(client: Reader, path: str) -> list[dict[str, Any]]:
    """A list a server without that feature does not have (404/405): empty."""
    try:
        return _all(client, path)
    except ApiError as exc:
        if exc.status in (404, 405):
            return []
        raise


def _identity(listed: dict[str, Any]) -> dict[str, Any]:
    rule = ({"subject_pattern": listed["subject_pattern"]} if listed.get("subject_pattern")
            else {"subject": listed["subject"]})
    return {"id": listed["id"], "issuer": listed["issuer"], **rule,
            "required_claims": dict(sorted((listed.get("required_claims") or {}).items())),
            "audience": listed.get("audience")}


def read_state(client: Reader) -> dict[str, Any]:
    """Everything `m2m export` writes and `m2m apply` compares, with ids and versions."""
    apis = {}
    for api in _all(client, admin_path("apis")):
        apis[api["identifier"]] = {
            "id": api["id"], "version": api["version"], "name": api["name"],
            "scopes": [{"value": s["value"], "description": s.get("description") or ""}
                       for s in api.get("scopes") or []],
            "token_lifetime": api.get("token_lifetime"), "token_reuse": api.get("token_reuse"),
            "sender_constrained_tokens_required":
                bool(api.get("sender_constrained_tokens_required", False)),
        }
    issuers = {}
    for issuer in _optional(client, admin_path("issuers")):
        issuers[issuer["issuer"]] = {
            "id": issuer["id"], "version": issuer.get("version", 0),
            **{f: issuer.get(f) for f in
               ("kind", "name", "jwks_uri", "max_token_lifetime", "single_use_jti")},
        }
    apps = []
    for listed in _all(client, admin_path("apps")):
        client_id = listed["client_id"]
        app = client.get(admin_path("apps", client_id))
        grants = {
            g["audience"]: {"api_id": g["api_id"], "scopes": list(g.get("scopes") or []),
                            "version": g["version"]}
            for g in _all(client, admin_path("apps", client_id, "grants"))
        }
        apps.append({
            "client_id": client_id, "version": app["version"], "name": app["name"],
            "description": app.get("description") or "", "enabled": app.get("enabled", True),
            "claims": app.get("claims") or {}, "token_lifetime": app.get("token_lifetime"),
            "permissions": list(app.get("permissions") or []), "quota": app.get("quota"),
            "dpop_bound_access_tokens": bool(app.get("dpop_bound_access_tokens", False)),
            "tls_client_certificate_bound_access_tokens":
                bool(app.get("tls_client_certificate_bound_access_tokens", False)),
            "has_secret": bool(app.get("secrets")),
            "grants": grants,
            "exchange_policies": {
                p["target_audience"]: {
                    "api_id": p["target_api_id"], "version": p["version"],
                    "source_apis": list(p.get("source_audiences") or []),
                    "source_issuers": list(p.get("source_issuers") or []),
                    "scopes": list(p["scopes"]), "delegation": p["delegation"],
                    "impersonation": p["impersonation"], "max_act_depth": p["max_act_depth"],
                }
                for p in _optional(client, admin_path("apps", client_id, "exchange-policies"))
            },
            "federated_identities": [_identity(i) for i in _optional(
                client, admin_path("apps", client_id, "federated-identities"))],
            "aws_principals": [
                {"id": p["id"], "arn": p["arn"]}
                for p in _optional(client, admin_path("apps", client_id, "aws-principals"))
            ],
            "keys": [
                {"kid": k["kid"], "jwk": k["jwk"], "version": k.get("version", 0)}
                for k in _optional(client, admin_path("apps", client_id, "keys"))
            ],
            "tls_clients": [state_rule(t) for t in
                            _optional(client, admin_path("apps", client_id, "tls-clients"))],
        })
    return {"apis": apis, "issuers": issuers, "apps": apps}
