"""The declarative file (`m2m.yaml`): reading, validating and writing it (docs/declarative.md).

`parse_document` turns YAML text into the *desired state*, plain dicts the planner reads:

    {"apis": {identifier: {...}}, "issuers": {issuer: {...}}, "apps": [{...}, ...]}

A field left out of an item is not managed: apply leaves it as it is (a new item gets the
server's default). Every problem is reported with its path in the file, e.g.
`apps[1].grants["https://api.example.com/orders"][0]`, all at once, before any request.
Secrets never belong in the file: a `client_secret` anywhere is refused.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Mapping
from typing import Any

import yaml

from m2m_client.declarative.paths import child
from m2m_client.declarative.tls_clients import export_rules, parse_tls_clients

FORMAT_VERSION = 1
ISSUER_KINDS = ("aws-outbound", "eks", "github-actions", "kubernetes", "oidc", "spiffe")
PRIVATE_JWK_MEMBERS = frozenset({"d", "p", "q", "dp", "dq", "qi", "oth", "k"})
SECRET_WORDS = ("client_secret", "secret_hash", "secret")

API_FIELDS = ("identifier", "name", "scopes", "token_lifetime", "token_reuse",
              "sender_constrained_tokens_required")
ISSUER_FIELDS = ("issuer", "kind", "name", "jwks_uri", "max_token_lifetime", "single_use_jti")
APP_FIELDS = (
    "name", "client_id", "description", "enabled", "claims", "token_lifetime", "permissions",
    "quota", "dpop_bound_access_tokens", "tls_client_certificate_bound_access_tokens",
    "create_secret", "grants", "exchange_policies", "federated_identities", "aws_principals",
    "keys", "tls_clients",
)
QUOTA_FIELDS = ("per_hour", "per_day", "enforce")
IDENTITY_FIELDS = ("issuer", "subject", "subject_pattern", "required_claims", "audience")
POLICY_FIELDS = ("source_apis", "source_issuers", "scopes", "delegation", "impersonation",
                 "max_act_depth")
POLICY_DEFAULTS: dict[str, Any] = {"source_apis": [], "source_issuers": [], "delegation": True,
                                   "impersonation": False, "max_act_depth": 1}
KEY_FIELDS = ("kid", "jwk")


class DocumentError(Exception):
    """The file is not a valid declarative configuration; `errors` are `path: message`."""

    def __init__(self, errors: list[str]) -> None:
        self.errors = errors
        super().__init__(f"{len(errors)} problem(s) in the file: " + "; ".join(errors[:3]))


class _Checker:
    def __init__(self) -> None:
        self.errors: list[str] = []

    def add(self, path: str, message: str) -> None:
        self.errors.append(f"{path or '(top level)'}: {message}")

    def mapping(self, path: str, value: Any, allowed: tuple[str, ...]) -> dict[str, Any] | None:
        if not isinstance(value, dict):
            self.add(path, "must be a mapping")
            return None
        for key in value:
            if not isinstance(key, str):
                self.add(path, f"has a key that is not a string: {key!r}")
            elif key in SECRET_WORDS:
                self.add(child(path, key), "secrets never belong in the file (see --secrets-out)")
            elif key not in allowed:
                self.add(child(path, key), f"unknown field (expected one of: {', '.join(allowed)})")
        return value

    def text(self, path: str, value: Any, *, empty: bool = False) -> str | None:
        if not isinstance(value, str) or (not empty and not value):
            self.add(path, "must be a non-empty string" if not empty else "must be a string")
            return None
        return value

    def integer(self, path: str, value: Any, *, nullable: bool = False) -> int | None:
        if value is None and nullable:
            return None
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            self.add(path, "must be a positive integer" + (" or null" if nullable else ""))
            return None
        return value

    def boolean(self, path: str, value: Any) -> bool | None:
        if not isinstance(value, bool):
            self.add(path, "must be true or false")
            return None
        return value

    def strings(self, path: str, value: Any) -> list[str] | None:
        if not isinstance(value, list):
            self.add(path, "must be a list of strings")
            return None
        out = []
        for i, item in enumerate(value):
            text = self.text(child(path, i), item)
            if text is not None:
                if text in out:
                    self.add(child(path, i), f"{text!r} is listed twice")
                out.append(text)
        return out


class _SafeLoader(yaml.SafeLoader):
    """`yaml.SafeLoader` whose scalars that Python cannot convert (an integer of more than
    4300 digits, a date like 2024-02-30) are YAML errors at their line, not ValueErrors."""

    def construct_yaml_int(self, node: yaml.ScalarNode) -> int:
        try:
            return super().construct_yaml_int(node)  # type: ignore[no-any-return]
        except ValueError:
            raise yaml.constructor.ConstructorError(
                None, None, f"an integer of more than {_MAX_DIGITS} digits",
                node.start_mark) from None

    def construct_yaml_timestamp(self, node: yaml.ScalarNode) -> Any:
        try:
            return super().construct_yaml_timestamp(node)
        except ValueError as exc:
            raise yaml.constructor.ConstructorError(
                None, None, f"not a valid date or time ({exc})", node.start_mark) from None


_MAX_DIGITS = sys.int_info.default_max_str_digits
_SafeLoader.add_constructor("tag:yaml.org,2002:int", _SafeLoader.construct_yaml_int)
_SafeLoader.add_constructor("tag:yaml.org,2002:timestamp", _SafeLoader.construct_yaml_timestamp)


def load_yaml(text: str) -> Any:
    """YAML text to plain data (a `yaml.SafeLoader`: no tags, no objects)."""
    try:
        return yaml.load(text, Loader=_SafeLoader)  # noqa: S506 - a SafeLoader subclass
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark else ""
        problem = getattr(exc, "problem", None) or "not valid YAML"
        raise DocumentError([f"(file){where}: {problem}"]) from None


def parse_document(text: str) -> dict[str, Any]:
    """The desired state in `text`; raises `DocumentError` listing every problem."""
    return validate_document(load_yaml(text))


def validate_document(data: Any) -> dict[str, Any]:
    check = _Checker()
    if data is None:
        data = {}
    top = check.mapping("", data, ("version", "apis", "issuers", "apps"))
    if top is None:
        raise DocumentError(check.errors)
    if top.get("version", FORMAT_VERSION) != FORMAT_VERSION:
        check.add("version", f"must be {FORMAT_VERSION}")
    desired: dict[str, Any] = {"apis": {}, "issuers": {}, "apps": []}
    for name in ("apis", "issuers", "apps"):
        items = top.get(name, [])
        if items is None:
            items = []
        if not isinstance(items, list):
            check.add(name, "must be a list")
            continue
        for i, item in enumerate(items):
            path = child(name, i)
            if name == "apis":
                _api(check, path, item, desired["apis"])
            elif name == "issuers":
                _issuer(check, path, item, desired["issuers"])
            else:
                _app(check, path, item, desired["apps"])
    _unique_app_names(check, desired["apps"])
    if check.errors:
        raise DocumentError(check.errors)
    return desired


def _api(check: _Checker, path: str, item: Any, apis: dict[str, Any]) -> None:
    body = check.mapping(path, item, API_FIELDS)
    if body is None:
        return
    identifier = check.text(child(path, "identifier"), body.get("identifier"))
    api: dict[str, Any] = {}
    if "name" in body:
        api["name"] = check.text(child(path, "name"), body["name"])
    else:
        check.add(path, "needs a name")
    if "scopes" in body:
        api["scopes"] = _scopes(check, child(path, "scopes"), body["scopes"])
    if "token_lifetime" in body:
        api["token_lifetime"] = check.integer(child(path, "token_lifetime"), body["token_lifetime"])
    if "token_reuse" in body:
        reuse = body["token_reuse"]
        if reuse is not None and (isinstance(reuse, bool) or not isinstance(reuse, int | float)
                                  or not 0 < reuse < 1):
            check.add(child(path, "token_reuse"), "must be a number between 0 and 1, or null")
        api["token_reuse"] = reuse
    if "sender_constrained_tokens_required" in body:
        api["sender_constrained_tokens_required"] = check.boolean(
            child(path, "sender_constrained_tokens_required"),
            body["sender_constrained_tokens_required"])
    if identifier is not None:
        if identifier in apis:
            check.add(child(path, "identifier"), f"{identifier!r} is listed twice")
        apis[identifier] = api


def _scopes(check: _Checker, path: str, value: Any) -> list[dict[str, str]]:
    if not isinstance(value, list):
        check.add(path, "must be a list of scopes (a string, or {value, description})")
        return []
    scopes: list[dict[str, str]] = []
    seen: set[str] = set()
    for i, item in enumerate(value):
        here = child(path, i)
        if isinstance(item, str):
            item = {"value": item}
        body = check.mapping(here, item, ("value", "description"))
        if body is None:
            continue
        scope = check.text(child(here, "value"), body.get("value"))
        description = body.get("description", "")
        if description is None:
            description = ""
        check.text(child(here, "description"), description, empty=True)
        if scope is None:
            continue
        if scope in seen:
            check.add(here, f"scope {scope!r} is listed twice")
        seen.add(scope)
        scopes.append({"value": scope, "description": str(description)})
    return scopes


def _issuer(check: _Checker, path: str, item: Any, issuers: dict[str, Any]) -> None:
    body = check.mapping(path, item, ISSUER_FIELDS)
    if body is None:
        return
    issuer = check.text(child(path, "issuer"), body.get("issuer"))
    record: dict[str, Any] = {}
    if "kind" in body:  # left out: oidc when created, not compared otherwise
        kind = body["kind"]
        if kind not in ISSUER_KINDS:
            check.add(child(path, "kind"), f"must be one of {', '.join(ISSUER_KINDS)}")
        record["kind"] = "kubernetes" if kind == "eks" else kind
    if "name" in body:
        record["name"] = check.text(child(path, "name"), body["name"])
    if body.get("jwks_uri") is not None:
        record["jwks_uri"] = check.text(child(path, "jwks_uri"), body["jwks_uri"])
    if "max_token_lifetime" in body:
        record["max_token_lifetime"] = check.integer(
            child(path, "max_token_lifetime"), body["max_token_lifetime"])
    if "single_use_jti" in body:
        record["single_use_jti"] = check.boolean(child(path, "single_use_jti"),
                                                 body["single_use_jti"])
    if issuer is not None:
        if issuer in issuers:
            check.add(child(path, "issuer"), f"{issuer!r} is listed twice")
        issuers[issuer] = record


def _app(check: _Checker, path: str, item: Any, apps: list[dict[str, Any]]) -> None:
    body = check.mapping(path, item, APP_FIELDS)
    if body is None:
        return
    app: dict[str, Any] = {"path": path}
    app["name"] = check.text(child(path, "name"), body.get("name"))
    if "client_id" in body:
        app["client_id"] = check.text(child(path, "client_id"), body["client_id"])
    if "description" in body:
        app["description"] = check.text(child(path, "description"), body["description"],
                                        empty=True)
    for flag in ("enabled", "create_secret", "dpop_bound_access_tokens",
                 "tls_client_certificate_bound_access_tokens"):
        if flag in body:
            app[flag] = check.boolean(child(path, flag), body[flag])
    if "claims" in body:
        claims = body["claims"]
        if claims is None:
            claims = {}
        if not isinstance(claims, dict):
            check.add(child(path, "claims"), "must be a mapping of claim names to values")
        app["claims"] = claims
    if "token_lifetime" in body:
        app["token_lifetime"] = check.integer(child(path, "token_lifetime"),
                                              body["token_lifetime"], nullable=True)
    if "permissions" in body:
        app["permissions"] = check.strings(child(path, "permissions"), body["permissions"] or [])
    if "quota" in body:
        app["quota"] = _quota(check, child(path, "quota"), body["quota"])
    if "grants" in body:
        app["grants"] = _grants(check, child(path, "grants"), body["grants"])
    if "exchange_policies" in body:
        app["exchange_policies"] = _policies(check, child(path, "exchange_policies"),
                                             body["exchange_policies"])
    if "federated_identities" in body:
        app["federated_identities"] = _identities(
            check, child(path, "federated_identities"), body["federated_identities"])
    if "aws_principals" in body:
        app["aws_principals"] = check.strings(child(path, "aws_principals"),
                                              body["aws_principals"] or [])
    if "keys" in body:
        app["keys"] = _keys(check, child(path, "keys"), body["keys"])
    if "tls_clients" in body:
        app["tls_clients"] = parse_tls_clients(check, child(path, "tls_clients"),
                                               body["tls_clients"])
    apps.append(app)


def _quota(check: _Checker, path: str, value: Any) -> dict[str, Any] | None:
    if value is None:
        return None
    body = check.mapping(path, value, QUOTA_FIELDS)
    if body is None:
        return None
    quota: dict[str, Any] = {}
    for limit in ("per_hour", "per_day"):
        if body.get(limit) is not None:
            quota[limit] = check.integer(child(path, limit), body[limit])
    if not quota:
        check.add(path, "needs per_hour or per_day (or write quota: null for none)")
    quota["enforce"] = (check.boolean(child(path, "enforce"), body["enforce"])
                        if "enforce" in body else True)
    return quota


def _grants(check: _Checker, path: str, value: Any) -> dict[str, list[str]]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        check.add(path, "must map API identifiers to lists of scopes")
        return {}
    grants: dict[str, list[str]] = {}
    for identifier, scopes in value.items():
        if not isinstance(identifier, str) or not identifier:
            check.add(path, f"has a key that is not an API identifier: {identifier!r}")
            continue
        listed = check.strings(child(path, identifier), scopes if scopes is not None else [])
        grants[identifier] = listed or []
    return grants


def _policies(check: _Checker, path: str, value: Any) -> dict[str, dict[str, Any]]:
    """Target API identifier -> the whole policy (a PUT replaces every field, so fields
    left out take the server's defaults)."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        check.add(path, "must map target API identifiers to policies")
        return {}
    policies: dict[str, dict[str, Any]] = {}
    for identifier, item in value.items():
        if not isinstance(identifier, str) or not identifier:
            check.add(path, f"has a key that is not an API identifier: {identifier!r}")
            continue
        here = child(path, identifier)
        body = check.mapping(here, item, POLICY_FIELDS)
        if body is None:
            continue
        policy: dict[str, Any] = dict(POLICY_DEFAULTS)
        for name in ("source_apis", "source_issuers", "scopes"):
            if name in body or name == "scopes":
                policy[name] = check.strings(child(here, name), body.get(name)) or []
        for flag in ("delegation", "impersonation"):
            if flag in body:
                policy[flag] = check.boolean(child(here, flag), body[flag])
        if "max_act_depth" in body:
            policy["max_act_depth"] = check.integer(child(here, "max_act_depth"),
                                                    body["max_act_depth"])
        if not policy["source_apis"] and not policy["source_issuers"]:
            check.add(here, "needs source_apis or source_issuers")
        policies[identifier] = policy
    return policies


def _identities(check: _Checker, path: str, value: Any) -> list[dict[str, Any]]:
    if value is None:
        return []
    if not isinstance(value, list):
        check.add(path, "must be a list of {issuer, subject or subject_pattern, "
                  "required_claims, audience}")
        return []
    out: list[dict[str, Any]] = []
    for i, item in enumerate(value):
        here = child(path, i)
        body = check.mapping(here, item, IDENTITY_FIELDS)
        if body is None:
            continue
        if ("subject" in body) == ("subject_pattern" in body):
            check.add(here, "needs subject or subject_pattern (one of them)")
            continue
        field = "subject" if "subject" in body else "subject_pattern"
        required = body.get("required_claims") or {}
        if not isinstance(required, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in required.items()
        ):
            check.add(child(here, "required_claims"), "must map claim names to strings")
            required = {}
        identity = {
            "issuer": check.text(child(here, "issuer"), body.get("issuer")),
            field: check.text(child(here, field), body.get(field)),
            "required_claims": dict(sorted(required.items())),
            "audience": (check.text(child(here, "audience"), body["audience"])
                         if body.get("audience") is not None else None),
        }
        if identity in out:
            check.add(here, "is listed twice")
        out.append(identity)
    return out


def _keys(check: _Checker, path: str, value: Any) -> list[dict[str, Any]]:
    if value is None:
        return []
    if not isinstance(value, list):
        check.add(path, "must be a list of {kid, jwk}")
        return []
    out: list[dict[str, Any]] = []
    kids: set[str] = set()
    for i, item in enumerate(value):
        here = child(path, i)
        body = check.mapping(here, item, KEY_FIELDS)
        if body is None:
            continue
        jwk = body.get("jwk")
        if not isinstance(jwk, dict):
            check.add(child(here, "jwk"), "must be a public JWK (a mapping)")
            continue
        if PRIVATE_JWK_MEMBERS & set(jwk):
            check.add(child(here, "jwk"), "holds a PRIVATE key: put only the public JWK here")
            continue
        kid = check.text(child(here, "kid"), body.get("kid", jwk.get("kid")))
        if kid is None:
            continue
        if kid in kids:
            check.add(child(here, "kid"), f"{kid!r} is listed twice")
        kids.add(kid)
        out.append({"kid": kid, "jwk": {**jwk, "kid": kid}})
    return out


def _unique_app_names(check: _Checker, apps: list[dict[str, Any]]) -> None:
    """Apps without a client_id are matched by name: such a name must be unique in the file."""
    seen_ids: set[str] = set()
    by_name: dict[str, int] = {}
    for app in apps:
        if app.get("client_id"):
            if app["client_id"] in seen_ids:
                check.add(child(app["path"], "client_id"), "is listed twice")
            seen_ids.add(app["client_id"])
        if app.get("name"):
            by_name[app["name"]] = by_name.get(app["name"], 0) + 1
    for app in apps:
        if not app.get("client_id") and app.get("name") and by_name[app["name"]] > 1:
            check.add(child(app["path"], "name"),
                      f"{app['name']!r} names several apps: give each its client_id")


# --- writing ------------------------------------------------------------------------------


def _quota_out(quota: Any) -> Any:
    if not isinstance(quota, Mapping):
        return None
    out: dict[str, Any] = {}
    for limit in ("per_hour", "per_day"):
        if quota.get(limit) is not None:
            out[limit] = quota[limit]
    out["enforce"] = bool(quota.get("enforce", True))
    return out


def export_document(current: Mapping[str, Any], *, with_ids: bool = True) -> dict[str, Any]:
    """The file for the current state (see `m2m_client.declarative.state`), in a fixed
    order so that exports diff cleanly: items sorted by their matching key, fields in the
    order of the format. Never a secret, a hash or a private key."""
    apis = []
    for identifier in sorted(current["apis"]):
        api = current["apis"][identifier]
        apis.append({
            "identifier": identifier,
            "name": api["name"],
            "scopes": [{"value": s["value"], "description": s.get("description") or ""}
                       for s in sorted(api.get("scopes") or [], key=lambda s: s["value"])],
            "token_lifetime": api.get("token_lifetime"),
            "token_reuse": api.get("token_reuse"),
        })
        if api.get("sender_constrained_tokens_required"):  # written when on (default off)
            apis[-1]["sender_constrained_tokens_required"] = True
    issuers = []
    for issuer in sorted(current["issuers"]):
        record = current["issuers"][issuer]
        issuers.append({"issuer": issuer, **{f: record.get(f) for f in ISSUER_FIELDS[1:]}})
    apps = []
    for app in sorted(current["apps"], key=lambda a: (a["name"], a["client_id"])):
        out: dict[str, Any] = {"name": app["name"]}
        if with_ids:
            out["client_id"] = app["client_id"]
        out.update({
            "description": app.get("description") or "",
            "enabled": bool(app.get("enabled", True)),
            "claims": dict(sorted((app.get("claims") or {}).items())),
            "token_lifetime": app.get("token_lifetime"),
            "permissions": sorted(app.get("permissions") or []),
            "quota": _quota_out(app.get("quota")),
        })
        for flag in ("dpop_bound_access_tokens", "tls_client_certificate_bound_access_tokens"):
            if app.get(flag):  # written when on (default off)
                out[flag] = True
        if not app.get("has_secret", True):
            out["create_secret"] = False
        out["grants"] = {identifier: sorted(grant["scopes"])
                         for identifier, grant in sorted(app.get("grants", {}).items())}
        policies = app.get("exchange_policies") or {}
        if policies:
            out["exchange_policies"] = {
                target: {"source_apis": sorted(p["source_apis"]),
                         "source_issuers": sorted(p["source_issuers"]),
                         "scopes": list(p["scopes"]), "delegation": p["delegation"],
                         "impersonation": p["impersonation"],
                         "max_act_depth": p["max_act_depth"]}
                for target, p in sorted(policies.items())}
        identities = [{k: i[k] for k in IDENTITY_FIELDS if i.get(k)}
                      for i in app.get("federated_identities") or []]
        if identities:
            out["federated_identities"] = sorted(identities, key=lambda i: (
                i["issuer"], i.get("subject") or "", i.get("subject_pattern") or "",
                json.dumps(i.get("required_claims") or {}, sort_keys=True),
                i.get("audience") or ""))
        principals = sorted(p["arn"] for p in app.get("aws_principals") or [])
        if principals:
            out["aws_principals"] = principals
        keys = [{"kid": k["kid"], "jwk": dict(sorted(k["jwk"].items()))}
                for k in sorted(app.get("keys") or [], key=lambda k: k["kid"])
                if not PRIVATE_JWK_MEMBERS & set(k["jwk"])]
        if keys:
            out["keys"] = keys
        rules = export_rules(app.get("tls_clients") or [])
        if rules:
            out["tls_clients"] = rules
        apps.append(out)
    return {"version": FORMAT_VERSION, "apis": apis, "issuers": issuers, "apps": apps}


def dump_yaml(document: Any) -> str:
    """YAML with the fields in the order given (`yaml.safe_dump`, sort_keys=False)."""
    return str(yaml.safe_dump(document, sort_keys=False, allow_unicode=True,
                              default_flow_style=False, width=100))
