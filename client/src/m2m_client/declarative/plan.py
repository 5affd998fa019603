"""The plan: what `m2m apply` changes to turn the current state into the desired one.

Pure: `make_plan(desired, current, prune=...)` reads two plain dicts (document.py's desired
state, state.py's current state) and returns ordered `Step`s; no request is made here.

Matching (docs/declarative.md): APIs by `identifier`; issuers by `issuer`; apps by the
`client_id` in the file when it has one (it must exist), else by `name`, which must then
name exactly one app on the server that no other entry claims (none: the app is created).

Order, so that each step finds what it names: issuers, API creates and updates, app creates
and updates, an app's keys / AWS principals / federated identities, grants and exchange
policies; then, only with prune, grant and policy removals, app sub-item removals, app
deletes, API deletes, issuer deletes (a grant or policy always goes before the API it names).

Each step carries the version key its `If-Match` is read from and the version keys it
advances, so the executor sends the version read during planning, advanced only by this
run's own writes: a change made by anyone else in between makes the server answer 412.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from m2m_client.declarative.paths import child
from m2m_client.declarative.tls_clients import label as rule_label

ABSENT: Any = object()  # a field that has no value before a create or after a delete

APP_SCALARS = ("name", "description", "enabled", "claims", "token_lifetime", "permissions",
               "quota", "dpop_bound_access_tokens", "tls_client_certificate_bound_access_tokens")
API_SCALARS = ("name", "scopes", "token_lifetime", "token_reuse",
               "sender_constrained_tokens_required")
GRANT_COPIES = ("token_lifetime", "token_reuse", "sender_constrained_tokens_required")
"""API fields the server copies into every grant of the API (an update rewrites them)."""
ISSUER_SCALARS = ("kind", "name", "jwks_uri", "max_token_lifetime", "single_use_jti")

VersionKey = tuple[str, ...]


class PlanError(Exception):
    """The file cannot be applied to this server; `errors` are `path: message`."""

    def __init__(self, errors: list[str]) -> None:
        self.errors = errors
        super().__init__(f"{len(errors)} problem(s) planning the change")


@dataclass(frozen=True)
class Ref:
    """A path segment known only once an earlier step ran: an app's client_id or an API's id."""

    kind: str  # "app" | "api"
    key: str


@dataclass(frozen=True)
class Change:
    field: str
    old: Any
    new: Any


@dataclass(frozen=True)
class Step:
    action: str  # create | update | delete
    kind: str  # api | issuer | app | grant | exchange policy | federated identity | ...
    # | tls client
    label: str
    changes: tuple[Change, ...]
    method: str
    path: tuple[str | Ref, ...]  # segments after /admin
    body: Any = None
    guard: VersionKey | None = None  # If-Match from this version
    records: VersionKey | None = None  # the answer's version (and id) becomes this key's
    bumps: tuple[VersionKey, ...] = ()  # these versions advance by one when it succeeds
    creates_app: bool = False


@dataclass
class Plan:
    steps: list[Step]
    versions: dict[VersionKey, int] = field(default_factory=dict)
    ids: dict[tuple[str, str], str] = field(default_factory=dict)

    @property
    def empty(self) -> bool:
        return not self.steps

    def counts(self) -> dict[str, int]:
        out = {"create": 0, "update": 0, "delete": 0}
        for step in self.steps:
            out[step.action] += 1
        return out


def _norm_scopes(scopes: Any) -> dict[str, str]:
    return {s["value"]: s.get("description") or "" for s in scopes or []}


def _norm_quota(quota: Any) -> Any:
    if not isinstance(quota, Mapping):
        return None
    return {"per_hour": quota.get("per_hour"), "per_day": quota.get("per_day"),
            "enforce": bool(quota.get("enforce", True))}


def _same(name: str, old: Any, new: Any) -> bool:
    if name == "scopes":
        return _norm_scopes(old) == _norm_scopes(new)
    if name == "quota":
        return bool(_norm_quota(old) == _norm_quota(new))
    if name == "permissions":
        return sorted(old or []) == sorted(new or [])
    if name == "description":
        return (old or "") == (new or "")
    return bool(old == new)


def _diff(fields: tuple[str, ...], old: Mapping[str, Any], new: Mapping[str, Any]
          ) -> list[Change]:
    return [Change(f, old.get(f), new[f]) for f in fields
            if f in new and not _same(f, old.get(f), new[f])]


def _match_apps(desired: list[dict[str, Any]], current: list[dict[str, Any]],
                errors: list[str]) -> list[tuple[dict[str, Any], dict[str, Any] | None]]:
    by_id = {a["client_id"]: a for a in current}
    claimed = {a["client_id"] for a in desired if a.get("client_id") in by_id}
    pairs: list[tuple[dict[str, Any], dict[str, Any] | None]] = []
    for app in desired:
        if app.get("client_id"):
            found = by_id.get(app["client_id"])
            if found is None:
                errors.append(f"{child(app['path'], 'client_id')}: no app {app['client_id']} on "
                              "this server (client ids are made by the server: remove the "
                              "client_id to create the app, or match it by name)")
            pairs.append((app, found))
            continue
        named = [a for a in current if a["name"] == app["name"]]
        if len(named) > 1:
            ids = ", ".join(sorted(a["client_id"] for a in named))
            errors.append(f"{child(app['path'], 'name')}: {app['name']!r} is the name of "
                          f"{len(named)} apps on the server ({ids}): give the client_id")
            pairs.append((app, None))
        elif named and named[0]["client_id"] in claimed:
            errors.append(f"{child(app['path'], 'name')}: the app named {app['name']!r} "
                          "is already matched by another entry's client_id")
            pairs.append((app, None))
        else:
            pairs.append((app, named[0] if named else None))
            if named:
                claimed.add(named[0]["client_id"])
    return pairs


def _render_api_body(identifier: str, api: Mapping[str, Any]) -> dict[str, Any]:
    body = {"identifier": identifier, **{f: api[f] for f in API_SCALARS if f in api}}
    return body


def _issuer_body(issuer: str, record: Mapping[str, Any]) -> dict[str, Any]:
    kind = record.get("kind", "oidc")
    body: dict[str, Any] = {"preset": kind}
    if kind == "spiffe":
        body["trust_domain"] = issuer.removeprefix("spiffe://")
        if record.get("jwks_uri"):
            body["bundle_endpoint"] = record["jwks_uri"]
    else:
        body["issuer"] = issuer
        if record.get("jwks_uri"):
            body["jwks_uri"] = record["jwks_uri"]
    for f in ("name", "max_token_lifetime", "single_use_jti"):
        if record.get(f) is not None:
            body[f] = record[f]
    return body


def _identity_key(identity: Mapping[str, Any]) -> tuple[str, ...]:
    return (identity["issuer"], identity.get("subject") or "",
            identity.get("subject_pattern") or "",
            json.dumps(identity.get("required_claims") or {}, sort_keys=True),
            identity.get("audience") or "")


def _identity_label(identity: Mapping[str, Any]) -> str:
    rule = identity.get("subject") or f"pattern {identity.get('subject_pattern')}"
    return f"{identity['issuer']} {rule}"


def _norm_policy(policy: Mapping[str, Any]) -> dict[str, Any]:
    return {"source_apis": sorted(policy["source_apis"]),
            "source_issuers": sorted(policy["source_issuers"]),
            "scopes": sorted(policy["scopes"]), "delegation": policy["delegation"],
            "impersonation": policy["impersonation"], "max_act_depth": policy["max_act_depth"]}


def make_plan(desired: Mapping[str, Any], current: Mapping[str, Any], *, prune: bool = False
              ) -> Plan:
    """The steps that make `current` what `desired` says; `PlanError` when it cannot."""
    errors: list[str] = []
    plan = Plan(steps=[])
    creates: list[Step] = []
    updates: list[Step] = []

    # --- issuers ---------------------------------------------------------------------
    cur_issuers: Mapping[str, Any] = current["issuers"]
    issuers_out: list[Step] = []
    for i, (issuer, record) in enumerate(desired["issuers"].items()):
        have = cur_issuers.get(issuer)
        if have is None:
            creates.append(Step("create", "issuer", issuer,
                                tuple(Change(f, ABSENT, v) for f, v in record.items()),
                                "POST", ("issuers",), _issuer_body(issuer, record)))
            continue
        changed = _diff(ISSUER_SCALARS, have, record)
        if changed:
            fields = ", ".join(c.field for c in changed)
            errors.append(f"issuers[{i}]: the issuer {issuer} differs on the server in {fields}; "
                          "issuers cannot be changed in place (remove it with m2m issuers "
                          "delete, or match the file to the server)")
    if prune:
        for issuer, have in sorted(cur_issuers.items()):
            if issuer not in desired["issuers"]:
                plan.versions[("issuer", issuer)] = have["version"]
                issuers_out.append(Step("delete", "issuer", issuer, (), "DELETE",
                                        ("issuers", have["id"]), guard=("issuer", issuer)))

    # --- APIs ------------------------------------------------------------------------
    cur_apis: Mapping[str, Any] = current["apis"]
    api_scopes: dict[str, set[str]] = {}  # identifier -> scopes after the apply
    rewritten: dict[str, bool] = {}  # identifier -> does its update rewrite its grants
    dropped: dict[str, set[str]] = {}
    for identifier, api in desired["apis"].items():
        have = cur_apis.get(identifier)
        wanted_scopes = api.get("scopes", have["scopes"] if have else [])
        api_scopes[identifier] = set(_norm_scopes(wanted_scopes))
        if have is None:
            creates.append(Step("create", "api", identifier,
                                tuple(Change(f, ABSENT, api[f]) for f in API_SCALARS if f in api),
                                "POST", ("apis",), _render_api_body(identifier, api),
                                records=("api", identifier)))
            continue
        plan.ids[("api", identifier)] = have["id"]
        plan.versions[("api", identifier)] = have["version"]
        changed = _diff(API_SCALARS, have, api)
        if changed:
            dropped[identifier] = set(_norm_scopes(have["scopes"])) - api_scopes[identifier]
            rewritten[identifier] = any(c.field in GRANT_COPIES for c in changed)
            updates.append(Step("update", "api", identifier, tuple(changed), "PATCH",
                                ("apis", Ref("api", identifier)),
                                {c.field: c.new for c in changed},
                                guard=("api", identifier), records=("api", identifier)))
    for identifier, have in cur_apis.items():
        plan.ids.setdefault(("api", identifier), have["id"])
        plan.versions.setdefault(("api", identifier), have["version"])
        if identifier not in desired["apis"]:
            api_scopes[identifier] = set() if prune else set(_norm_scopes(have["scopes"]))
    apis_out = []
    if prune:
        for identifier in sorted(cur_apis):
            if identifier not in desired["apis"]:
                apis_out.append(Step("delete", "api", identifier, (), "DELETE",
                                     ("apis", Ref("api", identifier)), guard=("api", identifier)))
    known_apis = set(desired["apis"]) | (set() if prune else set(cur_apis))
    known_issuers = set(desired["issuers"]) | (set() if prune else set(cur_issuers))

    # --- apps ------------------------------------------------------------------------
    pairs = _match_apps(desired["apps"], current["apps"], errors)
    matched = {have["client_id"] for _, have in pairs if have is not None}
    app_creates: list[Step] = []
    app_updates: list[Step] = []
    sub_adds: list[Step] = []
    grant_sets: list[Step] = []
    grant_removals: list[Step] = []
    sub_removals: list[Step] = []
    apps_out: list[Step] = []
    for app, have in pairs:
        path = app["path"]
        key = have["client_id"] if have else "new:" + str(app["name"])
        label = f"{app['name']} ({have['client_id']})" if have else str(app["name"])
        app_ref = Ref("app", key)
        app_v: VersionKey = ("app", key)
        if have is None:
            # POST /admin/apps takes no `enabled`: an app created blocked is created, then
            # blocked, before it has a grant or any other credential.
            body = {f: app[f] for f in APP_SCALARS if f in app and f != "enabled"}
            if app.get("create_secret") is False:
                body["secret"] = False
            app_creates.append(Step("create", "app", label,
                                    tuple(Change(f, ABSENT, app[f])
                                          for f in APP_SCALARS if f in app),
                                    "POST", ("apps",), body, records=app_v, creates_app=True))
            if app.get("enabled") is False:
                app_creates.append(Step("update", "app", label,
                                        (Change("enabled", True, False),), "PATCH",
                                        ("apps", app_ref), {"enabled": False},
                                        guard=app_v, records=app_v))
        else:
            plan.ids[("app", key)] = key
            plan.versions[app_v] = have["version"]
            changed = _diff(APP_SCALARS, have, app)
            if changed:
                app_updates.append(Step("update", "app", label, tuple(changed), "PATCH",
                                        ("apps", app_ref), {c.field: c.new for c in changed},
                                        guard=app_v, records=app_v))
        cur = have or {"grants": {}, "exchange_policies": {}, "federated_identities": [],
                       "aws_principals": [], "keys": [], "tls_clients": []}
        # grants
        wanted_grants: dict[str, list[str]] = app.get("grants", {})
        for identifier, scopes in wanted_grants.items():
            here = child(child(path, "grants"), identifier)
            if identifier not in known_apis:
                errors.append(f"{here}: no API with this identifier in the file"
                              + ("" if prune else " or on the server"))
                continue
            unknown = [s for s in scopes if s not in api_scopes[identifier]]
            if unknown:
                errors.append(f"{here}: {', '.join(map(repr, unknown))} "
                              f"{'is not a scope' if len(unknown) == 1 else 'are not scopes'} "
                              "of this API")
                continue
            grant_v: VersionKey = ("grant", key, identifier)
            old = cur["grants"].get(identifier)
            if old is not None:
                plan.versions[grant_v] = old["version"]
            if old is not None and sorted(old["scopes"]) == sorted(scopes):
                continue
            api_path: str | Ref = Ref("api", identifier)
            grant_sets.append(Step(
                "update" if old is not None else "create", "grant",
                f"{app['name']} -> {identifier}",
                (Change("scopes", sorted(old["scopes"]) if old else ABSENT, list(scopes)),),
                "PUT", ("apps", app_ref, "grants", api_path), {"scopes": list(scopes)},
                guard=grant_v, records=grant_v))
        if prune and "grants" in app:  # grants left out of the app are not managed
            for identifier, old in sorted(cur["grants"].items()):
                if identifier not in wanted_grants:
                    grant_v = ("grant", key, identifier)
                    plan.versions[grant_v] = old["version"]
                    grant_removals.append(Step(
                        "delete", "grant", f"{app['name']} -> {identifier}",
                        (Change("scopes", sorted(old["scopes"]), ABSENT),), "DELETE",
                        ("apps", app_ref, "grants", old["api_id"]), guard=grant_v))
        # exchange policies (after the APIs and issuers they name exist)
        wanted_policies: dict[str, dict[str, Any]] = app.get("exchange_policies", {})
        for target, policy in wanted_policies.items():
            here = child(child(path, "exchange_policies"), target)
            problems = _policy_problems(here, target, policy, known_apis, known_issuers,
                                        api_scopes, prune)
            if problems:
                errors.extend(problems)
                continue
            policy_v: VersionKey = ("policy", key, target)
            old = cur.get("exchange_policies", {}).get(target)
            if old is not None:
                plan.versions[policy_v] = old["version"]
                if _norm_policy(old) == _norm_policy(policy):
                    continue
            changes = tuple(Change(f, old[f] if old else ABSENT, policy[f])
                            for f in _norm_policy(policy)
                            if old is None or _norm_policy(old)[f] != _norm_policy(policy)[f])
            body = {**policy, "source_apis": [Ref("api", a) for a in policy["source_apis"]]}
            grant_sets.append(Step(
                "update" if old is not None else "create", "exchange policy",
                f"{app['name']} -> {target}", changes, "PUT",
                ("apps", app_ref, "exchange-policies", Ref("api", target)), body,
                guard=policy_v, records=policy_v))
        if prune and "exchange_policies" in app:
            for target, old in sorted(cur.get("exchange_policies", {}).items()):
                if target not in wanted_policies:
                    policy_v = ("policy", key, target)
                    plan.versions[policy_v] = old["version"]
                    grant_removals.append(Step(
                        "delete", "exchange policy", f"{app['name']} -> {target}", (),
                        "DELETE", ("apps", app_ref, "exchange-policies", old["api_id"]),
                        guard=policy_v))
        # keys
        if "keys" in app:
            have_keys = {k["kid"]: k for k in cur["keys"]}
            for i, k in enumerate(app["keys"]):
                old_key = have_keys.get(k["kid"])
                if old_key is None:
                    sub_adds.append(Step("create", "key", f"{app['name']} key {k['kid']}",
                                         (Change("jwk", ABSENT, k["jwk"]),), "POST",
                                         ("apps", app_ref, "keys"), {"jwk": k["jwk"]},
                                         bumps=(app_v,)))
                elif {m: v for m, v in old_key["jwk"].items() if m != "alg"} != {
                        m: v for m, v in k["jwk"].items() if m != "alg"}:
                    errors.append(f"{child(child(path, 'keys'), i)}: the key {k['kid']} on the "
                                  "server is a different key; keys cannot be changed in place "
                                  "(give the new key a new kid)")
            if prune:
                for kid, old_key in sorted(have_keys.items()):
                    if kid not in {k["kid"] for k in app["keys"]}:
                        plan.versions[("key", key, kid)] = old_key["version"]
                        sub_removals.append(Step(
                            "delete", "key", f"{app['name']} key {kid}", (), "DELETE",
                            ("apps", app_ref, "keys", kid), guard=("key", key, kid)))
        # AWS principals
        if "aws_principals" in app:
            have_arns = {p["arn"]: p for p in cur["aws_principals"]}
            for arn in app["aws_principals"]:
                if arn not in have_arns:
                    sub_adds.append(Step("create", "aws principal", f"{app['name']} {arn}",
                                         (Change("arn", ABSENT, arn),), "POST",
                                         ("apps", app_ref, "aws-principals"), {"arn": arn},
                                         guard=app_v, bumps=(app_v,)))
            if prune:
                for arn, p in sorted(have_arns.items()):
                    if arn not in app["aws_principals"]:
                        sub_removals.append(Step(
                            "delete", "aws principal", f"{app['name']} {arn}", (), "DELETE",
                            ("apps", app_ref, "aws-principals", p["id"]),
                            guard=app_v, bumps=(app_v,)))
        # federated identities
        if "federated_identities" in app:
            have_ids = {_identity_key(i): i for i in cur["federated_identities"]}
            wanted_ids = {_identity_key(i) for i in app["federated_identities"]}
            for i, identity in enumerate(app["federated_identities"]):
                if identity["issuer"] not in known_issuers:
                    where = child(child(child(path, "federated_identities"), i), "issuer")
                    errors.append(f"{where}: no such issuer in the file"
                                  + ("" if prune else " or on the server"))
                    continue
                if _identity_key(identity) not in have_ids:
                    body = {k: v for k, v in identity.items() if v}
                    sub_adds.append(Step(
                        "create", "federated identity",
                        f"{app['name']} {_identity_label(identity)}",
                        tuple(Change(k, ABSENT, v) for k, v in body.items()), "POST",
                        ("apps", app_ref, "federated-identities"), body, bumps=(app_v,)))
            if prune:
                for ident_key, old_id in sorted(have_ids.items()):
                    if ident_key not in wanted_ids:
                        sub_removals.append(Step(
                            "delete", "federated identity",
                            f"{app['name']} {_identity_label(old_id)}", (), "DELETE",
                            ("apps", app_ref, "federated-identities", old_id["id"]),
                            guard=app_v))
        if "tls_clients" in app:
            _tls_client_steps(app, cur.get("tls_clients") or [], app_ref, app_v, prune,
                              sub_adds, sub_removals, errors)
    if prune:
        for have in sorted(current["apps"], key=lambda a: (a["name"], a["client_id"])):
            if have["client_id"] not in matched:
                key = have["client_id"]
                plan.versions[("app", key)] = have["version"]
                plan.ids[("app", key)] = key
                apps_out.append(Step("delete", "app", f"{have['name']} ({key})", (), "DELETE",
                                     ("apps", Ref("app", key)), guard=("app", key)))

    # An API update that drops scopes or changes lifetime/reuse rewrites its grants on the
    # server (bumping their versions): later grant steps must expect that.
    _predict_grant_rewrites(updates, grant_sets + grant_removals, current, dropped, rewritten)

    if errors:
        raise PlanError(errors)
    plan.steps = (creates + updates + app_creates + app_updates + sub_adds + grant_sets
                  + grant_removals + sub_removals + apps_out + apis_out + issuers_out)
    return plan


def _tls_client_steps(
    app: Mapping[str, Any], have: list[dict[str, Any]], app_ref: Ref, app_v: VersionKey,
    prune: bool, adds: list[Step], removals: list[Step], errors: list[str],
) -> None:
    """An app's certificate rules (RFC 8705 §2), matched by field and normal values.

    A new rule is added before an old one goes (a rotation never leaves a gap), except
    that the server refuses a rule sharing a value with one it has on the same field:
    such an old rule is removed first, and only with prune (otherwise a PlanError).
    Every add and remove moves the app's version (If-Match is the app's)."""
    wanted = {rule["key"] for rule in app["tls_clients"]}
    replaced: set[str] = set()
    for i, rule in enumerate(app["tls_clients"]):
        field, values = rule["key"]
        if any(old["key"] == rule["key"] for old in have):
            continue
        for old in have:
            if (old["key"][0] == field and set(old["key"][1]) & set(values)
                    and old["id"] not in replaced):
                if not prune:
                    errors.append(
                        f"{child(child(app['path'], 'tls_clients'), i)}: shares a value with "
                        f"the server's rule {old['id']} ({rule_label(old['key'])}); replace it "
                        "with --prune, or list the server's rule as it is")
                    continue
                replaced.add(old["id"])
                adds.append(Step("delete", "tls client", f"{app['name']} {old['id']}",
                                 (Change(field, list(old["key"][1]), ABSENT),), "DELETE",
                                 ("apps", app_ref, "tls-clients", old["id"]),
                                 guard=app_v, bumps=(app_v,)))
        adds.append(Step("create", "tls client", f"{app['name']} {rule_label(rule['key'])}",
                         (Change(field, ABSENT, list(values)),), "POST",
                         ("apps", app_ref, "tls-clients"), rule["body"],
                         guard=app_v, bumps=(app_v,)))
    if prune:
        for old in sorted(have, key=lambda r: r["key"]):
            if old["key"] not in wanted and old["id"] not in replaced:
                field, values = old["key"]
                removals.append(Step("delete", "tls client", f"{app['name']} {old['id']}",
                                     (Change(field, list(values), ABSENT),), "DELETE",
                                     ("apps", app_ref, "tls-clients", old["id"]),
                                     guard=app_v, bumps=(app_v,)))


def _policy_problems(here: str, target: str, policy: Mapping[str, Any], known_apis: set[str],
                     known_issuers: set[str], api_scopes: Mapping[str, set[str]],
                     prune: bool) -> list[str]:
    suffix = "" if prune else " or on the server"
    problems = []
    if target not in known_apis:
        return [f"{here}: no API with this identifier in the file{suffix}"]
    for source in policy["source_apis"]:
        if source not in known_apis:
            problems.append(f"{child(here, 'source_apis')}: no API {source} in the file{suffix}")
    for issuer in policy["source_issuers"]:
        if issuer not in known_issuers:
            problems.append(f"{child(here, 'source_issuers')}: no issuer {issuer} in the "
                            f"file{suffix}")
    unknown = [s for s in policy["scopes"] if s not in api_scopes[target]]
    if unknown:
        problems.append(f"{child(here, 'scopes')}: {', '.join(map(repr, unknown))} not of "
                        "this API")
    return problems


def _predict_grant_rewrites(
    api_updates: list[Step],
    grant_steps: list[Step],
    current: Mapping[str, Any],
    dropped: Mapping[str, set[str]],
    rewritten: Mapping[str, bool],
) -> None:
    """Mark each API update with the grant versions it advances (server: admin/apis.py)."""
    touched = {s.guard for s in grant_steps}
    for index, step in enumerate(api_updates):
        identifier = step.label
        bumps: list[VersionKey] = []
        for have in current["apps"]:
            grant = have["grants"].get(identifier)
            if grant is None:
                continue
            key: VersionKey = ("grant", have["client_id"], identifier)
            if key not in touched:
                continue
            if rewritten.get(identifier) or set(grant["scopes"]) & dropped.get(identifier, set()):
                bumps.append(key)
        if bumps:
            api_updates[index] = Step(step.action, step.kind, step.label, step.changes,
                                      step.method, step.path, step.body, step.guard,
                                      step.records, tuple(bumps))
