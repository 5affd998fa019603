"""The declarative planner and file validation on plain dicts: no server, no request."""

from __future__ import annotations

import base64
import copy
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from m2m_testkit import self_signed_certificate

from m2m_client.declarative import (
    DocumentError,
    PlanError,
    dump_yaml,
    export_document,
    make_plan,
    parse_document,
    plan_lines,
)
from m2m_client.declarative.plan import Ref
from m2m_client.declarative.tls_clients import state_rule
from m2m_client.mtls import certificate_thumbprint

ORDERS = "https://api.example.com/orders"
BILLING = "https://api.example.com/billing"


def current_state() -> dict[str, Any]:
    return {
        "apis": {
            ORDERS: {"id": "api_orders", "version": 3, "name": "Orders",
                     "scopes": [{"value": "orders:read", "description": "Read"},
                                {"value": "orders:write", "description": "Write"}],
                     "token_lifetime": 3600, "token_reuse": 0.5},
        },
        "issuers": {},
        "apps": [{
            "client_id": "c" * 26, "version": 7, "name": "billing", "description": "",
            "enabled": True, "claims": {}, "token_lifetime": None, "permissions": [],
            "quota": None, "has_secret": True,
            "grants": {ORDERS: {"api_id": "api_orders", "scopes": ["orders:read"], "version": 2}},
            "federated_identities": [], "aws_principals": [], "keys": [],
        }],
    }


def desired_of(current: dict[str, Any]) -> dict[str, Any]:
    """The desired state that the export of `current` describes."""
    return parse_document(dump_yaml(export_document(current)))


def test_the_export_of_the_current_state_plans_no_changes() -> None:
    current = current_state()

    plan = make_plan(desired_of(current), current, prune=True)

    assert plan.empty
    assert plan_lines(plan) == ["Plan: 0 to create, 0 to update, 0 to delete."]


def test_plan_lists_each_changed_field_with_old_and_new_values() -> None:
    current = current_state()
    desired = desired_of(current)
    desired["apps"][0]["token_lifetime"] = 600
    desired["apps"][0]["claims"] = {"tenant": "acme"}
    desired["apis"][ORDERS]["name"] = "Orders v2"

    lines = plan_lines(make_plan(desired, current))

    assert lines == [
        "Plan: 0 to create, 2 to update, 0 to delete.",
        f"~ update api {ORDERS}",
        '    name: "Orders" -> "Orders v2"',
        f"~ update app billing ({'c' * 26})",
        "    claims: {} -> {\"tenant\": \"acme\"}",
        "    token_lifetime: null -> 600",
    ]


def test_a_new_api_is_created_before_the_grant_that_names_it() -> None:
    current = current_state()
    desired = desired_of(current)
    desired["apis"][BILLING] = {"name": "Billing", "scopes": [
        {"value": "billing:read", "description": ""}]}
    desired["apps"][0]["grants"][BILLING] = ["billing:read"]

    plan = make_plan(desired, current)

    assert [(s.action, s.kind) for s in plan.steps] == [("create", "api"), ("create", "grant")]
    assert plan.steps[1].path == ("apps", Ref("app", "c" * 26), "grants", Ref("api", BILLING))
    assert plan.steps[1].guard == ("grant", "c" * 26, BILLING)
    assert plan.versions.get(("grant", "c" * 26, BILLING), 0) == 0  # If-Match "0": must be new


def test_without_prune_nothing_the_file_omits_is_deleted() -> None:
    current = current_state()
    desired = desired_of(current)
    desired["apis"].clear()
    desired["apps"][0]["grants"].clear()

    assert make_plan(desired, current).empty


def test_prune_removes_grants_before_the_api_they_name() -> None:
    current = current_state()
    desired = desired_of(current)
    del desired["apis"][ORDERS]
    desired["apps"][0]["grants"].clear()

    plan = make_plan(desired, current, prune=True)

    assert [(s.action, s.kind, s.label) for s in plan.steps] == [
        ("delete", "grant", f"billing -> {ORDERS}"),
        ("delete", "api", ORDERS),
    ]
    assert plan.steps[0].guard == ("grant", "c" * 26, ORDERS)
    assert plan.versions[plan.steps[0].guard] == 2
    assert plan.versions[("api", ORDERS)] == 3


def test_prune_deletes_apps_the_file_does_not_name() -> None:
    current = current_state()
    desired = desired_of(current)
    desired["apps"].clear()

    plan = make_plan(desired, current, prune=True)

    assert [(s.action, s.kind) for s in plan.steps] == [("delete", "app")]
    assert plan.steps[0].guard == ("app", "c" * 26)


def test_api_update_that_drops_a_granted_scope_predicts_the_grant_rewrite() -> None:
    # GIVEN a grant of orders:read and orders:write, and a file dropping orders:write
    # from the API while granting only orders:read
    current = current_state()
    current["apps"][0]["grants"][ORDERS]["scopes"] = ["orders:read", "orders:write"]
    desired = desired_of(current)
    desired["apis"][ORDERS]["scopes"] = [{"value": "orders:read", "description": "Read"}]
    desired["apps"][0]["grants"][ORDERS] = ["orders:read"]

    plan = make_plan(desired, current)

    # THEN the API update is known to advance the grant's version (the server rewrites it)
    api_step, grant_step = plan.steps
    assert (api_step.kind, grant_step.kind) == ("api", "grant")
    assert api_step.bumps == (("grant", "c" * 26, ORDERS),)


def test_apps_are_matched_by_client_id_before_name() -> None:
    current = current_state()
    desired = desired_of(current)
    desired["apps"][0]["name"] = "billing-renamed"  # client_id in the file still matches

    plan = make_plan(desired, current)

    assert [(s.action, s.kind) for s in plan.steps] == [("update", "app")]
    assert plan.steps[0].body == {"name": "billing-renamed"}


def test_an_app_without_client_id_is_matched_by_its_unique_name() -> None:
    current = current_state()
    desired = parse_document(dump_yaml(export_document(current, with_ids=False)))

    assert make_plan(desired, current).empty


def test_rejects_a_name_that_matches_several_apps_on_the_server() -> None:
    current = current_state()
    twin = copy.deepcopy(current["apps"][0])
    twin["client_id"] = "d" * 26
    current["apps"].append(twin)
    desired = parse_document("apps:\n  - name: billing\n")

    with pytest.raises(PlanError) as caught:
        make_plan(desired, current)

    assert caught.value.errors == [
        f"apps[0].name: 'billing' is the name of 2 apps on the server "
        f"({'c' * 26}, {'d' * 26}): give the client_id"
    ]


def test_rejects_a_client_id_the_server_does_not_have() -> None:
    desired = parse_document("apps:\n  - name: x\n    client_id: " + "z" * 26 + "\n")

    with pytest.raises(PlanError, match="1 problem") as caught:
        make_plan(desired, current_state())

    assert caught.value.errors[0].startswith("apps[0].client_id: no app " + "z" * 26)


def test_rejects_a_grant_of_a_scope_the_api_will_not_have() -> None:
    current = current_state()
    desired = desired_of(current)
    desired["apps"][0]["grants"][ORDERS] = ["orders:delete"]

    with pytest.raises(PlanError) as caught:
        make_plan(desired, current)

    assert caught.value.errors == [
        f'apps[0].grants["{ORDERS}"]: \'orders:delete\' is not a scope of this API'
    ]


def test_new_app_gets_its_grant_after_creation_and_no_secret_when_asked() -> None:
    desired = parse_document(f"""
apps:
  - name: worker
    create_secret: false
    grants:
      {ORDERS}: [orders:read]
""")

    plan = make_plan(desired, current_state())

    create, grant = plan.steps
    assert create.body == {"name": "worker", "secret": False}
    assert create.creates_app and create.records == ("app", "new:worker")
    assert grant.path[1] == Ref("app", "new:worker")


@pytest.mark.parametrize(("text", "error"), [
    ("apis: {}", "apis: must be a list"),
    ("apis:\n  - name: A\n", "apis[0].identifier: must be a non-empty string"),
    ("apps:\n  - name: a\n    client_secret: s3cr3t\n",
     "apps[0].client_secret: secrets never belong in the file (see --secrets-out)"),
    ("apps:\n  - name: a\n    quota: {per_hour: 0}\n",
     "apps[0].quota.per_hour: must be a positive integer"),
    ("apps:\n  - name: a\n    grants:\n      https://x/y: read\n",
     'apps[0].grants["https://x/y"]: must be a list of strings'),
    ("apps:\n  - name: a\n  - name: a\n",
     "apps[0].name: 'a' names several apps: give each its client_id"),
    ("apps:\n  - name: a\n    keys:\n      - jwk: {kty: EC, kid: k1, d: xx}\n",
     "apps[0].keys[0].jwk: holds a PRIVATE key: put only the public JWK here"),
    ("apis:\n  - identifier: x\n    name: X\n    colour: red\n",
     "apis[0].colour: unknown field (expected one of: identifier, name, scopes, "
     "token_lifetime, token_reuse, sender_constrained_tokens_required)"),
    ("apps:\n  - name: a\n    dpop_bound_access_tokens: yes please\n",
     "apps[0].dpop_bound_access_tokens: must be true or false"),
    ("apps: [\n", "(file) (line 2, column 1): expected the node content, but found '<stream end>'"),
])
def test_rejects_invalid_files_naming_the_yaml_path(text: str, error: str) -> None:
    with pytest.raises(DocumentError) as caught:
        parse_document(text)

    assert error in caught.value.errors


@pytest.mark.parametrize(("text", "error"), [
    ("apis:\n  - identifier: x\n    name: X\n    token_lifetime: " + "9" * 5000 + "\n",
     "(file) (line 4, column 21): an integer of more than 4300 digits"),
    ("apis:\n  - identifier: x\n    name: X\n    when: 2024-02-30\n",
     "(file) (line 4, column 11): not a valid date or time (day is out of range for month)"),
])
def test_a_value_yaml_cannot_convert_is_a_document_error_naming_its_line(
    text: str, error: str
) -> None:
    with pytest.raises(DocumentError) as caught:
        parse_document(text)

    assert caught.value.errors == [error]


@pytest.mark.parametrize("value", [10**400, -(10**309), "1.0e400", ".nan"])
def test_token_reuse_too_large_for_a_float_is_a_document_error(value: object) -> None:
    with pytest.raises(DocumentError) as caught:
        parse_document(f"apis:\n  - identifier: x\n    name: X\n    token_reuse: {value}\n")

    assert caught.value.errors == [
        "apis[0].token_reuse: must be a number between 0 and 1, or null"]


def test_yaml_tags_are_not_executed() -> None:
    with pytest.raises(DocumentError):
        parse_document("apps: !!python/object/apply:os.system ['true']\n")


def test_export_is_sorted_and_never_holds_secrets() -> None:
    current = current_state()
    current["apps"].insert(0, {**copy.deepcopy(current["apps"][0]), "name": "zeta",
                               "client_id": "e" * 26, "has_secret": False})

    text = dump_yaml(export_document(current))

    assert text.index("name: billing") < text.index("name: zeta")
    assert "create_secret: false" in text
    assert "secret_hash" not in text and "client_secret" not in text
    assert dump_yaml(export_document(copy.deepcopy(current))) == text


# --- execute, against a scripted admin API --------------------------------------------------


class ScriptedAdmin:
    """Answers each request from a script; records what was sent."""

    def __init__(self, answers: list[Any]) -> None:
        self.answers = answers
        self.sent: list[tuple[str, str, Any, int | None]] = []

    def request(self, method: str, path: str, json_body: Any = None, *,
                params: Any = None, if_match: int | None = None) -> Any:
        self.sent.append((method, path, json_body, if_match))
        answer = self.answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer


def two_new_apps_plan() -> Any:
    desired = parse_document(f"""
apps:
  - name: first
    grants: {{{ORDERS}: [orders:read]}}
  - name: second
""")
    return make_plan(desired, current_state())


def test_execute_stops_at_a_server_error_and_reports_applied_failed_and_pending() -> None:
    from m2m_client.admin_http import ApiError
    from m2m_client.declarative import ApplyFailed, execute

    admin = ScriptedAdmin([
        {"client_id": "f" * 26, "name": "first", "version": 1, "client_secret": "s3cr3t-1",
         "secret_id": "sec_1"},
        ApiError(500, {"title": "Internal error", "detail": "boom"}),
    ])

    with pytest.raises(ApplyFailed) as caught:
        execute(two_new_apps_plan(), admin)

    failure = caught.value
    assert [s.label for s in failure.result.applied] == ["first"]
    assert failure.failed.label == "second" and not failure.outcome_unknown
    assert [s.label for s in failure.pending] == [f"first -> {ORDERS}"]
    # the new app's secret is still handed over, though the run failed
    assert [(s.client_id, s.client_secret) for s in failure.result.secrets] == [
        ("f" * 26, "s3cr3t-1")]
    assert "s3cr3t-1" not in repr(failure.result.secrets)


def test_execute_fills_in_new_ids_and_chains_versions() -> None:
    from m2m_client.declarative import execute

    admin = ScriptedAdmin([
        {"client_id": "f" * 26, "name": "first", "version": 1, "client_secret": "x"},
        {"client_id": "g" * 26, "name": "second", "version": 1, "client_secret": "y"},
        {"api_id": "api_orders", "scopes": ["orders:read"], "version": 1},
    ])

    execute(two_new_apps_plan(), admin)

    assert admin.sent[2] == ("PUT", f"/admin/apps/{'f' * 26}/grants/api_orders",
                             {"scopes": ["orders:read"]}, 0)


def test_execute_marks_a_request_without_answer_as_outcome_unknown() -> None:
    from m2m_client.admin_http import TransportError
    from m2m_client.declarative import ApplyFailed, execute

    admin = ScriptedAdmin([TransportError("POST ... failed: ReadTimeout")])

    with pytest.raises(ApplyFailed) as caught:
        execute(two_new_apps_plan(), admin)

    assert caught.value.outcome_unknown and not caught.value.result.applied


def test_prune_leaves_alone_the_lists_an_app_leaves_out() -> None:
    current = current_state()
    desired = parse_document("apis: []\napps:\n  - name: billing\n")
    desired["apis"] = desired_of(current)["apis"]

    assert make_plan(desired, current, prune=True).empty
    desired["apps"][0]["grants"] = {}
    assert [s.kind for s in make_plan(desired, current, prune=True).steps] == ["grant"]


def test_the_example_in_docs_declarative_md_is_a_valid_file() -> None:
    from pathlib import Path

    docs = Path(__file__).resolve().parents[2] / "docs" / "declarative.md"
    if not docs.is_file():
        pytest.skip("needs the m2m-auth repository beside client/")
    example = docs.read_text().split("```yaml\n", 1)[1].split("```", 1)[0]

    desired = parse_document(example)

    assert set(desired["apis"]) == {ORDERS}
    assert [a["name"] for a in desired["apps"]] == ["billing", "orders-worker", "edge-gateway"]
    assert [r["key"][0] for r in desired["apps"][2]["tls_clients"]] == [
        "tls_client_auth_subject_dn", "x5t#S256"]
    assert desired["apis"][ORDERS]["scopes"][1] == {"value": "orders:write", "description": ""}


def test_an_issuer_without_kind_is_created_as_oidc_and_not_compared_on_kind() -> None:
    current = current_state()
    current["issuers"]["https://idp.example.com"] = {
        "id": "iss_1", "version": 1, "kind": "kubernetes", "name": "k8s",
        "jwks_uri": None, "max_token_lifetime": 3600, "single_use_jti": False}
    desired = parse_document("issuers:\n  - issuer: https://idp.example.com\n"
                             "  - issuer: https://new.example.com\n")

    plan = make_plan(desired, current)

    assert [(s.action, s.body) for s in plan.steps] == [
        ("create", {"preset": "oidc", "issuer": "https://new.example.com"})]


def test_with_prune_a_grant_may_not_name_an_api_the_file_leaves_out() -> None:
    current = current_state()
    desired = desired_of(current)
    desired["apis"].clear()  # prune would delete the API the grant names

    with pytest.raises(PlanError) as caught:
        make_plan(desired, current, prune=True)

    assert caught.value.errors == [
        f'apps[0].grants["{ORDERS}"]: no API with this identifier in the file']
    assert make_plan(desired, current).empty  # without prune the server's API still counts


def test_dpop_settings_are_exported_when_on_and_planned_as_changes() -> None:
    # GIVEN an app that must use DPoP and an API that requires sender-constrained tokens
    current = current_state()
    current["apps"][0]["dpop_bound_access_tokens"] = True
    current["apis"][ORDERS]["sender_constrained_tokens_required"] = True

    exported = export_document(current)
    assert exported["apps"][0]["dpop_bound_access_tokens"] is True
    assert exported["apis"][0]["sender_constrained_tokens_required"] is True
    assert make_plan(desired_of(current), current).empty
    # WHEN a file turns both off and widens the app's grant
    desired = desired_of(current)
    desired["apps"][0]["dpop_bound_access_tokens"] = False
    desired["apis"][ORDERS]["sender_constrained_tokens_required"] = False
    desired["apps"][0]["grants"][ORDERS] = ["orders:read", "orders:write"]

    plan = make_plan(desired, current)

    # THEN both are PATCHed, and the API's change is known to rewrite the grant the
    # grant step then sets (its If-Match must be the rewritten version)
    bodies = {step.kind: step.body for step in plan.steps}
    assert bodies["app"] == {"dpop_bound_access_tokens": False}
    assert bodies["api"] == {"sender_constrained_tokens_required": False}
    api_step = next(step for step in plan.steps if step.kind == "api")
    assert api_step.bumps == (("grant", "c" * 26, ORDERS),)


def test_exports_leave_the_dpop_settings_out_when_off() -> None:
    exported = export_document(current_state())

    assert "dpop_bound_access_tokens" not in exported["apps"][0]
    assert "sender_constrained_tokens_required" not in exported["apis"][0]


# -- TLS client certificates (RFC 8705 §2) ------------------------------------------------


def pem_certificate(name: str = "orders-worker") -> str:
    return self_signed_certificate(name)[0]


def with_tls_rules(*rules: tuple[str, tuple[str, ...]]) -> dict[str, Any]:
    current = current_state()
    """The current state with these rules as the admin API lists them."""
    current["apps"][0]["tls_clients"] = [
        state_rule({"id": f"tls_{i:016x}",
                    field: list(values) if field == "x5t#S256" else values[0]})
        for i, (field, values) in enumerate(rules)]
    return current


def test_tls_rules_and_the_certificate_bound_setting_export_and_plan_no_change() -> None:
    current = with_tls_rules(("tls_client_auth_subject_dn", ("CN=orders-worker,O=Example",)),
                             ("x5t#S256", ("b" * 43, "a" * 43)))
    current["apps"][0]["tls_client_certificate_bound_access_tokens"] = True

    exported = export_document(current)["apps"][0]

    assert exported["tls_client_certificate_bound_access_tokens"] is True
    assert exported["tls_clients"] == [
        {"tls_client_auth_subject_dn": "CN=orders-worker,O=Example"},
        {"x5t#S256": ["a" * 43, "b" * 43]}]
    assert make_plan(desired_of(current), current, prune=True).empty


def test_a_file_names_rules_in_any_spelling_the_server_normalises() -> None:
    # GIVEN the server's rules in normal form, and a file spelling the same rules its
    # own way: a DN attribute by OID, DNS case, an IPv6 address in full, a PEM certificate
    pem = pem_certificate()
    current = with_tls_rules(
        ("tls_client_auth_subject_dn", ("CN=orders-worker,O=Example",)),
        ("tls_client_auth_san_dns", ("worker.example.com",)),
        ("tls_client_auth_san_ip", ("2001:db8::1",)),
        ("x5t#S256", (certificate_thumbprint(pem),)))
    desired = desired_of(current)
    desired_app = parse_document(dump_yaml({"apps": [{
        "name": "billing", "tls_clients": [
            {"tls_client_auth_subject_dn": "2.5.4.3=orders-worker,O=Example"},
            {"tls_client_auth_san_dns": "Worker.Example.COM"},
            {"tls_client_auth_san_ip": "2001:0db8:0000:0000:0000:0000:0000:0001"},
            {"certificate": pem}]}]}))["apps"][0]
    desired["apps"][0]["tls_clients"] = desired_app["tls_clients"]

    assert make_plan(desired, current, prune=True).empty


def test_new_tls_rules_are_added_with_the_app_version_and_prune_removes_the_rest() -> None:
    current = with_tls_rules(("tls_client_auth_san_uri", ("spiffe://example.com/old",)))
    desired = desired_of(current)
    pem = pem_certificate()
    desired["apps"][0]["tls_clients"] = parse_document(dump_yaml({"apps": [{
        "name": "billing", "tls_clients": [{"certificate": pem}]}]}))["apps"][0]["tls_clients"]

    kept = make_plan(desired, current)
    pruned = make_plan(desired, current, prune=True)

    add = ("create", "POST", ("apps", Ref("app", "c" * 26), "tls-clients"), {"certificate": pem})
    assert [(s.action, s.method, s.path, s.body) for s in kept.steps] == [add]
    assert [(s.action, s.method, s.path, s.body) for s in pruned.steps] == [add, (
        "delete", "DELETE", ("apps", Ref("app", "c" * 26), "tls-clients", "tls_" + "0" * 16),
        None)]  # added first: a rotation never leaves the app without a certificate
    assert all(s.guard == ("app", "c" * 26) and s.bumps == (("app", "c" * 26),)
               for s in pruned.steps)
    assert f"    x5t#S256: [\"{certificate_thumbprint(pem)}\"]" in plan_lines(kept)


def test_a_rule_sharing_a_thumbprint_with_the_servers_replaces_it_only_with_prune() -> None:
    # GIVEN the server registers [A]; the file lists [A, B] (the server refuses an overlap)
    current = with_tls_rules(("x5t#S256", ("A" * 43,)))
    desired = desired_of(current)
    desired["apps"][0]["tls_clients"] = [
        {"key": ("x5t#S256", ("A" * 43, "B" * 43)), "body": {"x5t#S256": ["A" * 43, "B" * 43]}}]

    with pytest.raises(PlanError) as caught:
        make_plan(desired, current)
    pruned = make_plan(desired, current, prune=True)

    assert caught.value.errors == [
        "apps[0].tls_clients[0]: shares a value with the server's rule tls_0000000000000000 "
        f"(x5t#S256={'A' * 43}); replace it with --prune, or list the server's rule as it is"]
    assert [s.action for s in pruned.steps] == ["delete", "create"]  # removed first


@pytest.mark.parametrize(("rules", "error"), [
    ([{"tls_client_auth_subject_dn": "CN=a", "x5t#S256": "A" * 43}],
     "apps[0].tls_clients[0]: needs exactly one of"),
    ([{"issuer_dn": "CN=a"}], 'apps[0].tls_clients[0].issuer_dn: unknown field'),
    ([{"tls_client_auth_subject_dn": "cn=lower-case keywords read as nothing"}],
     "apps[0].tls_clients[0].tls_client_auth_subject_dn: is not a valid RFC 4514"),
    ([{"tls_client_auth_subject_dn": "not a dn"}],
     "apps[0].tls_clients[0].tls_client_auth_subject_dn: is not a valid RFC 4514"),
    ([{"tls_client_auth_san_ip": "10.0.0.300"}],
     "apps[0].tls_clients[0].tls_client_auth_san_ip: is not a valid IP address"),
    ([{"certificate": "-----BEGIN CERTIFICATE-----\n!!\n-----END CERTIFICATE-----"}],
     "apps[0].tls_clients[0].certificate: must be one PEM certificate"),
    ([{"jwks": {"keys": [{"kty": "EC", "d": "secret", "x5c": ["AA=="]}]}}],
     'apps[0].tls_clients[0].jwks.keys[0]: holds a PRIVATE key'),
    ([{"jwks": {"keys": [{"kty": "EC"}]}}],
     "apps[0].tls_clients[0].jwks.keys[0].x5c: is required"),
    ([{"x5t#S256": ["A" * 43]}, {"x5t#S256": ["A" * 43, "B" * 43]}],
     "apps[0].tls_clients[1]: shares a value with another rule"),
    ([{"tls_client_auth_san_dns": "a.example"}, {"tls_client_auth_san_dns": "A.example"}],
     "apps[0].tls_clients[1]: is listed twice"),
    ({"x5t#S256": "A" * 43}, "apps[0].tls_clients: must be a list"),
])
def test_rejects_invalid_tls_rules_naming_the_yaml_path(rules: Any, error: str) -> None:
    with pytest.raises(DocumentError) as caught:
        parse_document(dump_yaml({"apps": [{"name": "a", "tls_clients": rules}]}))

    assert any(e.startswith(error) for e in caught.value.errors), caught.value.errors


def test_a_jwks_rule_is_matched_by_the_thumbprints_of_its_x5c_certificates() -> None:
    pem = pem_certificate()
    der = x509.load_pem_x509_certificate(pem.encode()).public_bytes(serialization.Encoding.DER)
    rules = parse_document(dump_yaml({"apps": [{"name": "a", "tls_clients": [
        {"jwks": {"keys": [{"kty": "EC", "x5c": [base64.b64encode(der).decode()]}]}}]}]}
    ))["apps"][0]["tls_clients"]

    assert rules[0]["key"] == ("x5t#S256", (certificate_thumbprint(pem),))
# --- exchange policies and claim rules ----------------------------------------------------

INVENTORY = "https://api.example.com/inventory"
GITHUB = "https://token.actions.githubusercontent.com"


def with_policy_and_rules() -> dict[str, Any]:
    current = current_state()
    current["apis"][INVENTORY] = {
        "id": "api_inventory", "version": 1, "name": "Inventory",
        "scopes": [{"value": "inventory:read", "description": ""}],
        "token_lifetime": 3600, "token_reuse": 0.5}
    current["issuers"][GITHUB] = {"id": "iss_1", "version": 1, "kind": "github-actions",
                                  "name": "GitHub", "jwks_uri": None,
                                  "max_token_lifetime": 3600, "single_use_jti": True}
    app = current["apps"][0]
    app["exchange_policies"] = {INVENTORY: {
        "api_id": "api_inventory", "version": 4, "source_apis": [ORDERS],
        "source_issuers": [GITHUB], "scopes": ["inventory:read"], "delegation": True,
        "impersonation": False, "max_act_depth": 2}}
    app["federated_identities"] = [{
        "id": "fed_1", "issuer": GITHUB, "subject_pattern": "repo:acme/*:ref:refs/heads/main",
        "required_claims": {"repository_owner_id": "42"}, "audience": None}]
    return current


def test_policies_and_claim_rules_round_trip_through_the_file() -> None:
    current = with_policy_and_rules()

    exported = export_document(current)
    plan = make_plan(desired_of(current), current, prune=True)

    mine = exported["apps"][0]
    assert mine["exchange_policies"] == {INVENTORY: {
        "source_apis": [ORDERS], "source_issuers": [GITHUB], "scopes": ["inventory:read"],
        "delegation": True, "impersonation": False, "max_act_depth": 2}}
    assert mine["federated_identities"] == [{
        "issuer": GITHUB, "subject_pattern": "repo:acme/*:ref:refs/heads/main",
        "required_claims": {"repository_owner_id": "42"}}]
    assert plan.empty


def test_a_changed_policy_is_one_put_guarded_by_its_version() -> None:
    current = with_policy_and_rules()
    desired = desired_of(current)
    desired["apps"][0]["exchange_policies"][INVENTORY]["impersonation"] = True

    [step] = make_plan(desired, current).steps

    assert (step.action, step.kind, step.method) == ("update", "exchange policy", "PUT")
    assert step.path == ("apps", Ref("app", "c" * 26), "exchange-policies",
                         Ref("api", INVENTORY))
    assert step.body["source_apis"] == [Ref("api", ORDERS)]
    assert [c.field for c in step.changes] == ["impersonation"]
    assert step.guard == ("policy", "c" * 26, INVENTORY)


def test_a_policy_naming_an_unknown_api_issuer_or_scope_is_a_plan_error() -> None:
    current = with_policy_and_rules()
    desired = desired_of(current)
    desired["apps"][0]["exchange_policies"][INVENTORY].update(
        source_apis=["https://nowhere.example"], source_issuers=["https://nobody.example"],
        scopes=["inventory:delete"])

    with pytest.raises(PlanError) as raised:
        make_plan(desired, current)

    text = "\n".join(raised.value.errors)
    assert "nowhere.example" in text and "nobody.example" in text
    assert "inventory:delete" in text


def test_prune_removes_a_policy_the_file_leaves_out_before_any_api_delete() -> None:
    current = with_policy_and_rules()
    desired = desired_of(current)
    desired["apps"][0]["exchange_policies"] = {}
    del desired["apis"][INVENTORY]

    steps = make_plan(desired, current, prune=True).steps

    kinds = [(s.action, s.kind) for s in steps]
    assert kinds.index(("delete", "exchange policy")) < kinds.index(("delete", "api"))


def test_a_changed_claim_rule_is_a_new_identity_and_the_old_one_goes_with_prune() -> None:
    current = with_policy_and_rules()
    desired = desired_of(current)
    desired["apps"][0]["federated_identities"][0]["required_claims"] = {
        "repository_owner_id": "43"}

    steps = make_plan(desired, current, prune=True).steps

    assert [(s.action, s.kind) for s in steps] == [
        ("create", "federated identity"), ("delete", "federated identity")]
    assert steps[0].body["required_claims"] == {"repository_owner_id": "43"}


@pytest.mark.parametrize(("identity", "problem"), [
    ({"issuer": GITHUB}, "subject or subject_pattern"),
    ({"issuer": GITHUB, "subject": "a", "subject_pattern": "b*"}, "subject or subject_pattern"),
    ({"issuer": GITHUB, "subject": "a", "required_claims": {"ref": 1}}, "required_claims"),
])
def test_invalid_claim_rules_in_the_file_are_document_errors(
    identity: dict[str, Any], problem: str
) -> None:
    document = export_document(current_state())
    document["apps"][0]["federated_identities"] = [identity]

    with pytest.raises(DocumentError) as raised:
        parse_document(dump_yaml(document))

    assert problem in "\n".join(raised.value.errors)
