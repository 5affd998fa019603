"""`m2m export` and `m2m apply` against the real local server: plan output, idempotence,
prune, partial failure, concurrent change (412), secrets never in a YAML file."""

from __future__ import annotations

import json
import os
import stat
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner, Result
from cryptography.hazmat.primitives.asymmetric import ec
from m2m_localserver import LocalServer, local_server, offline_aws
from m2m_testkit import self_signed_certificate

from m2m_client import PrivateKeyJwt
from m2m_client.admin_http import AdminClient, ApiError, admin_path
from m2m_client.cli import cli
from m2m_client.declarative import (
    ApplyFailed,
    execute,
    make_plan,
    parse_document,
    read_state,
)
from m2m_client.mtls import certificate_thumbprint


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalServer]:
    with pytest.MonkeyPatch.context() as mp:
        offline_aws(mp)
        with local_server(tmp_path_factory.mktemp("declarative")) as running:
            yield running


@pytest.fixture(autouse=True)
def aws_env(server: LocalServer, monkeypatch: pytest.MonkeyPatch) -> None:
    offline_aws(monkeypatch)
    monkeypatch.setenv("M2M_ENDPOINT", server.base)


@pytest.fixture
def admin(server: LocalServer) -> AdminClient:
    return AdminClient(server.base, None)


def m2m(*args: str, code: int = 0, input: str | None = None) -> Result:
    result = CliRunner().invoke(cli, list(args), input=input, catch_exceptions=False)
    assert result.exit_code == code, (
        f"m2m {' '.join(args)} exited {result.exit_code}, expected {code}\n"
        f"stdout:\n{result.stdout}\nstderr:\n{result.stderr}"
    )
    return result


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def write(tmp_path: Path, document: dict[str, Any], name: str = "m2m.yaml") -> Path:
    path = tmp_path / name
    path.write_text(yaml.safe_dump(document, sort_keys=False))
    return path


def app_named(admin: AdminClient, name: str) -> dict[str, Any] | None:
    items = [i for page in admin.pages(admin_path("apps")) for i in page["items"]]
    found = [i for i in items if i["name"] == name]
    return found[0] if found else None


def api_with(admin: AdminClient, identifier: str) -> dict[str, Any] | None:
    items = [i for page in admin.pages(admin_path("apis")) for i in page["items"]]
    found = [i for i in items if i["identifier"] == identifier]
    return found[0] if found else None


def orders_document(identifier: str, app: str) -> dict[str, Any]:
    return {
        "version": 1,
        "apis": [{
            "identifier": identifier, "name": "Orders",
            "scopes": [{"value": "orders:read", "description": "Read orders"},
                       {"value": "orders:write", "description": "Write orders"}],
            "token_lifetime": 3600, "token_reuse": 0.5,
        }],
        "apps": [{
            "name": app, "description": "Bills customers", "claims": {"tenant": "acme"},
            "token_lifetime": 600, "permissions": [], "quota": {"per_hour": 100},
            "grants": {identifier: ["orders:read"]},
        }],
    }


def test_apply_creates_prints_a_plan_and_a_second_apply_changes_nothing(
    tmp_path: Path, admin: AdminClient
) -> None:
    identifier, name = f"https://{unique('orders')}.example.com", unique("billing")
    path = write(tmp_path, orders_document(identifier, name))
    before = path.read_text()

    first = m2m("apply", "-f", str(path), "--yes")

    lines = first.stdout.splitlines()
    assert lines[:6] == [
        "Plan: 3 to create, 0 to update, 0 to delete.",
        f"+ create api {identifier}",
        '    name: "Orders"',
        '    scopes: [{"description": "Read orders", "value": "orders:read"}, '
        '{"description": "Write orders", "value": "orders:write"}]',
        "    token_lifetime: 3600",
        "    token_reuse: 0.5",
    ]
    assert f"+ create app {name}" in lines
    assert f"+ create grant {name} -> {identifier}" in lines
    assert lines.index(f"+ create api {identifier}") < lines.index(
        f"+ create grant {name} -> {identifier}")
    assert "Applied 3 changes." in lines
    app = app_named(admin, name)
    assert app is not None and app["token_lifetime"] == 600 and app["claims"] == {"tenant": "acme"}
    secret_line = next(line for line in lines if line.startswith("client secret of new app"))
    secret = secret_line.rsplit(": ", 1)[1]
    grants = admin.get(admin_path("apps", app["client_id"], "grants"))["items"]
    assert [g["scopes"] for g in grants] == [["orders:read"]]
    # each change was an ordinary admin request, audited by the server
    audit = admin.get(admin_path("audit"), {"limit": 10})["items"]
    api_id = grants[0]["api_id"]
    assert {(r["action"], r["target"]) for r in audit} >= {
        ("api.create", f"api/{api_id}"), ("app.create", f"app/{app['client_id']}"),
        ("grant.set", f"app/{app['client_id']}/grants/{api_id}")}
    # the secret is shown once and written into no YAML: not the file, not the export
    assert path.read_text() == before
    exported = m2m("export").stdout
    assert secret not in exported and "client_secret" not in exported and "hash" not in exported

    second = m2m("apply", "-f", str(path), "--yes")

    assert second.stdout == f"No changes: {admin.endpoint} already matches {path}.\n"


def test_dry_run_shows_field_changes_old_to_new_and_changes_nothing(
    tmp_path: Path, admin: AdminClient
) -> None:
    identifier, name = f"https://{unique('orders')}.example.com", unique("billing")
    document = orders_document(identifier, name)
    m2m("apply", "-f", str(write(tmp_path, document)), "--yes")
    client_id = app_named(admin, name)["client_id"]  # type: ignore[index]
    document["apps"][0]["token_lifetime"] = 900
    document["apps"][0]["grants"][identifier] = ["orders:read", "orders:write"]
    path = write(tmp_path, document)

    planned = m2m("apply", "-f", str(path), "--dry-run")

    assert planned.stdout.splitlines() == [
        "Plan: 0 to create, 2 to update, 0 to delete.",
        f"~ update app {name} ({client_id})",
        "    token_lifetime: 600 -> 900",
        f"~ update grant {name} -> {identifier}",
        '    scopes: ["orders:read"] -> ["orders:read", "orders:write"]',
    ]
    assert app_named(admin, name)["token_lifetime"] == 600  # type: ignore[index]
    m2m("apply", "-f", str(path), "--yes")
    assert app_named(admin, name)["token_lifetime"] == 900  # type: ignore[index]


def test_refuses_without_yes_when_stdin_is_not_a_terminal(
    tmp_path: Path, admin: AdminClient
) -> None:
    identifier, name = f"https://{unique('orders')}.example.com", unique("billing")
    path = write(tmp_path, orders_document(identifier, name))

    result = m2m("apply", "-f", str(path), code=2)

    assert "Refusing without --yes" in result.stderr
    assert api_with(admin, identifier) is None and app_named(admin, name) is None


def test_secrets_out_writes_a_new_0600_file_and_refuses_an_existing_one(
    tmp_path: Path, admin: AdminClient
) -> None:
    identifier, name = f"https://{unique('orders')}.example.com", unique("billing")
    path = write(tmp_path, orders_document(identifier, name))
    taken = tmp_path / "taken.yaml"
    taken.write_text("keep me\n")

    refused = m2m("apply", "-f", str(path), "--yes", "--secrets-out", str(taken), code=2)

    assert "exists" in refused.stderr and taken.read_text() == "keep me\n"
    assert app_named(admin, name) is None  # refused before any change

    out = tmp_path / "secrets.yaml"
    applied = m2m("apply", "-f", str(path), "--yes", "--secrets-out", str(out))

    assert stat.S_IMODE(os.stat(out).st_mode) == 0o600
    written = yaml.safe_load(out.read_text())["apps"]
    assert [s["name"] for s in written] == [name]
    assert written[0]["client_secret"] not in applied.stdout + applied.stderr
    assert written[0]["client_secret"] not in path.read_text()
    token = m2m("token", "--client-id", written[0]["client_id"], "--client-secret",
                written[0]["client_secret"], "--audience", identifier, "--json")
    assert json.loads(token.stdout)["access_token"]


def test_prune_deletes_what_the_file_omits_grants_before_their_api(
    tmp_path: Path, admin: AdminClient
) -> None:
    # GIVEN an API granted to an app, and the export of everything
    identifier, name = f"https://{unique('orders')}.example.com", unique("billing")
    m2m("apply", "-f", str(write(tmp_path, orders_document(identifier, name))), "--yes")
    exported = yaml.safe_load(m2m("export").stdout)
    # WHEN the API and the app's grant are taken out of the file
    exported["apis"] = [a for a in exported["apis"] if a["identifier"] != identifier]
    for app in exported["apps"]:
        if app["name"] == name:
            del app["grants"][identifier]
    path = write(tmp_path, exported)

    without_prune = m2m("apply", "-f", str(path), "--yes")
    assert without_prune.stdout.startswith("No changes")  # nothing is deleted without --prune
    pruned = m2m("apply", "-f", str(path), "--yes", "--prune")

    # THEN exactly the grant and then the API are deleted
    assert pruned.stdout.splitlines()[:4] == [
        "Plan: 0 to create, 0 to update, 2 to delete.",
        f"- delete grant {name} -> {identifier}",
        '    scopes: ["orders:read"] -> (none)',
        f"- delete api {identifier}",
    ]
    assert api_with(admin, identifier) is None
    assert app_named(admin, name) is not None
    assert m2m("apply", "-f", str(path), "--yes", "--prune").stdout.startswith("No changes")


def test_partial_failure_reports_what_was_and_was_not_applied(
    tmp_path: Path, admin: AdminClient
) -> None:
    # GIVEN a file with a good app, then one the server refuses (iss is a claim it sets)
    identifier, name = f"https://{unique('orders')}.example.com", unique("billing")
    good = unique("good")
    document = orders_document(identifier, name)
    document["apps"][0]["claims"] = {"iss": "https://evil.example.com"}
    document["apps"].insert(0, {"name": good})

    result = m2m("apply", "-f", str(write(tmp_path, document)), "--yes", code=1)

    # THEN the API was created, the app and its grant were not, and the report says so
    assert result.stderr.splitlines()[1:] == [
        f"error: stopped: + create app {name}: HTTP 400 Validation failed: "
        "The request has invalid fields. claims.iss: is a registered claim the server sets",
        "  applied (2):",
        f"    + create api {identifier}",
        f"    + create app {good}",
        "  not applied (2):",
        f"    + create app {name}  <- failed",
        f"    + create grant {name} -> {identifier}",
    ], result.stderr
    assert api_with(admin, identifier) is not None
    assert app_named(admin, name) is None
    # the app that was created gets its secret handed over all the same
    created = app_named(admin, good)
    assert created is not None
    assert f"client secret of new app {good} ({created['client_id']}): " in result.stdout


def test_a_concurrent_change_after_planning_stops_apply_with_412(
    tmp_path: Path, admin: AdminClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN an app, and a file changing it and then creating an API
    identifier, name = f"https://{unique('orders')}.example.com", unique("billing")
    document = orders_document(identifier, name)
    m2m("apply", "-f", str(write(tmp_path, document)), "--yes")
    app = app_named(admin, name)
    assert app is not None
    document["apps"][0]["token_lifetime"] = 1200
    document["apis"][0]["name"] = "Orders renamed"
    path = write(tmp_path, document)

    # WHEN someone else changes the app while the operator reads the plan
    def someone_else_edits(question: str, yes: bool) -> None:
        admin.patch(admin_path("apps", app["client_id"]), {"description": "edited meanwhile"})

    monkeypatch.setattr("m2m_client.cli.declarative.confirm", someone_else_edits)
    result = m2m("apply", "-f", str(path), "--yes", code=1)

    # THEN the API update ran, the app update stopped with 412, and the edit survives
    assert "HTTP 412" in result.stderr
    assert f"    ~ update api {identifier}" in result.stderr.splitlines()
    assert f"    ~ update app {name} ({app['client_id']})  <- failed" in result.stderr.splitlines()
    now = admin.get(admin_path("apps", app["client_id"]))
    assert now["description"] == "edited meanwhile" and now["token_lifetime"] == 600


def test_library_apply_stops_at_412_and_lists_pending_steps(admin: AdminClient) -> None:
    identifier, name = f"https://{unique('orders')}.example.com", unique("billing")
    desired = parse_document(yaml.safe_dump(orders_document(identifier, name)))
    execute(make_plan(desired, read_state(admin)), admin)
    desired["apps"][0]["token_lifetime"] = 60
    desired["apps"][0]["grants"][identifier] = ["orders:write"]
    plan = make_plan(desired, read_state(admin))
    client_id = app_named(admin, name)["client_id"]  # type: ignore[index]
    admin.put(admin_path("apps", client_id, "grants", api_with(admin, identifier)["id"]),  # type: ignore[index]
              {"scopes": ["orders:read", "orders:write"]})

    with pytest.raises(ApplyFailed) as caught:
        execute(plan, admin)

    assert [s.kind for s in caught.value.result.applied] == ["app"]
    assert caught.value.failed.kind == "grant"
    assert isinstance(caught.value.cause, ApiError) and caught.value.cause.status == 412


def test_api_scope_removal_and_grant_change_in_one_apply_need_no_retry(
    tmp_path: Path, admin: AdminClient
) -> None:
    # The server rewrites a grant when its API loses a scope; the grant step that follows
    # must expect that version, not fail with 412.
    identifier, name = f"https://{unique('orders')}.example.com", unique("billing")
    document = orders_document(identifier, name)
    document["apps"][0]["grants"][identifier] = ["orders:read", "orders:write"]
    m2m("apply", "-f", str(write(tmp_path, document)), "--yes")
    document["apis"][0]["scopes"] = [{"value": "orders:write", "description": "Write orders"},
                                     {"value": "orders:admin", "description": "Admin"}]
    document["apis"][0]["token_lifetime"] = 1800
    document["apps"][0]["grants"][identifier] = ["orders:write", "orders:admin"]
    path = write(tmp_path, document)

    m2m("apply", "-f", str(path), "--yes")

    client_id = app_named(admin, name)["client_id"]  # type: ignore[index]
    grants = admin.get(admin_path("apps", client_id, "grants"))["items"]
    assert sorted(grants[0]["scopes"]) == ["orders:admin", "orders:write"]
    assert m2m("apply", "-f", str(path), "--yes").stdout.startswith("No changes")


def test_keys_aws_principals_and_federated_identities_round_trip(
    tmp_path: Path, admin: AdminClient
) -> None:
    name = unique("worker")
    issuer = f"https://{unique('idp')}.example.com"
    jwk = PrivateKeyJwt("a" * 26, ec.generate_private_key(ec.SECP256R1()), kid="k1").public_jwk()
    arn = f"arn:aws:iam::123456789012:role/{unique('role')}"
    document = {
        "issuers": [{"issuer": issuer, "kind": "oidc", "name": "IdP",
                     "jwks_uri": issuer + "/jwks", "max_token_lifetime": 3600,
                     "single_use_jti": True}],
        "apps": [{"name": name, "create_secret": False, "keys": [{"kid": "k1", "jwk": jwk}],
                  "aws_principals": [arn],
                  "federated_identities": [{"issuer": issuer, "subject": "svc-1"}]}],
    }
    path = write(tmp_path, document)

    applied = m2m("apply", "-f", str(path), "--yes")

    assert "client secret" not in applied.stdout  # created without a secret
    exported = yaml.safe_load(m2m("export").stdout)
    mine = next(a for a in exported["apps"] if a["name"] == name)
    assert mine["create_secret"] is False
    assert mine["aws_principals"] == [arn]
    assert mine["federated_identities"] == [{"issuer": issuer, "subject": "svc-1"}]
    assert [k["kid"] for k in mine["keys"]] == ["k1"] and "d" not in mine["keys"][0]["jwk"]
    assert any(i["issuer"] == issuer for i in exported["issuers"])
    assert m2m("apply", "-f", str(path), "--yes").stdout.startswith("No changes")

    # prune removes sub-items the file no longer names (app version chained across steps)
    document["apps"][0].update(keys=[], aws_principals=[], federated_identities=[])
    exported["apps"] = [a for a in exported["apps"] if a["name"] != name] + document["apps"]
    pruned = m2m("apply", "-f", str(write(tmp_path, exported)), "--yes", "--prune")

    assert "Plan: 0 to create, 0 to update, 3 to delete." in pruned.stdout
    after = next(a for a in yaml.safe_load(m2m("export").stdout)["apps"] if a["name"] == name)
    assert "keys" not in after and "aws_principals" not in after
    assert "federated_identities" not in after


def test_invalid_file_is_reported_with_yaml_paths_before_any_request(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text("apps:\n  - name: a\n    client_secret: hunter2\n    quota: {per_day: -1}\n")

    result = m2m("apply", "-f", str(path), "--yes", code=2)

    assert result.stderr.splitlines() == [
        f"error: {path} is not a valid m2m file",
        "  apps[0].client_secret: secrets never belong in the file (see --secrets-out)",
        "  apps[0].quota.per_day: must be a positive integer",
    ]


def test_an_exported_app_recreated_elsewhere_keeps_every_field_including_blocked(
    tmp_path: Path, admin: AdminClient
) -> None:
    # GIVEN an app entry as `m2m export --no-ids` writes it, blocked, with every field
    name = unique("blocked")
    document = {"apps": [{
        "name": name, "description": "", "enabled": False, "claims": {},
        "token_lifetime": None, "permissions": ["introspect"], "quota": None, "grants": {},
    }]}
    path = write(tmp_path, document)

    applied = m2m("apply", "-f", str(path), "--yes")

    assert f"~ update app {name}" in applied.stdout.splitlines()  # blocked after creation
    app = app_named(admin, name)
    assert app is not None and app["enabled"] is False and app["quota"] is None
    assert m2m("apply", "-f", str(path), "--yes").stdout.startswith("No changes")


def test_tls_client_rules_and_certificate_bound_tokens_round_trip(
    tmp_path: Path, admin: AdminClient
) -> None:
    # GIVEN an app that authenticates by a subject DN, a JWKS with x5c and a PEM
    # certificate, and must get certificate-bound tokens
    name = unique("mtls-worker")
    pem, _ = self_signed_certificate(name + "-pem")
    jwks_pem, jwk = self_signed_certificate(name + "-jwks")
    document = {"apps": [{
        "name": name, "create_secret": False,
        "tls_client_certificate_bound_access_tokens": True,
        "tls_clients": [{"tls_client_auth_subject_dn": f"CN={name},O=Example Corp"},
                        {"jwks": {"keys": [jwk]}}, {"certificate": pem}],
    }]}
    path = write(tmp_path, document)

    applied = m2m("apply", "-f", str(path), "--yes")

    assert "Plan: 4 to create, 0 to update, 0 to delete." in applied.stdout
    client_id = app_named(admin, name)["client_id"]  # type: ignore[index]
    assert admin.get(admin_path("apps", client_id))[
        "tls_client_certificate_bound_access_tokens"] is True
    listed = admin.get(admin_path("apps", client_id, "tls-clients"))["items"]
    assert sorted(m for t in listed for m in t if m.startswith(("tls_client", "x5t"))) == [
        "tls_client_auth_subject_dn", "x5t#S256", "x5t#S256"]
    # the export names certificates by thumbprint, and applying the file or the export
    # again changes nothing
    exported = yaml.safe_load(m2m("export").stdout)
    mine = next(a for a in exported["apps"] if a["name"] == name)
    assert mine["tls_client_certificate_bound_access_tokens"] is True
    assert mine["tls_clients"] == sorted([
        {"tls_client_auth_subject_dn": f"CN={name},O=Example Corp"},
        {"x5t#S256": [certificate_thumbprint(jwks_pem)]},
        {"x5t#S256": [certificate_thumbprint(pem)]}], key=lambda r: list(r.items()))
    assert m2m("apply", "-f", str(path), "--yes").stdout.startswith("No changes")
    assert m2m("apply", "-f", str(write(tmp_path, exported, "export.yaml")),
               "--yes").stdout.startswith("No changes")

    # WHEN the file rotates the PEM certificate, drops the DN and turns the setting off
    rotated, _ = self_signed_certificate(name + "-rotated")
    document["apps"][0].update(tls_client_certificate_bound_access_tokens=False,
                               tls_clients=[{"jwks": {"keys": [jwk]}}, {"certificate": rotated}])
    exported["apps"] = [a for a in exported["apps"] if a["name"] != name] + document["apps"]
    pruned = m2m("apply", "-f", str(write(tmp_path, exported)), "--yes", "--prune")

    # THEN the new certificate is added before the old rules go, all on the app's version
    assert "Plan: 1 to create, 1 to update, 2 to delete." in pruned.stdout
    after = admin.get(admin_path("apps", client_id, "tls-clients"))["items"]
    assert sorted(v for t in after for v in t.get("x5t#S256", [])) == sorted(
        [certificate_thumbprint(jwks_pem), certificate_thumbprint(rotated)])
    assert not any("tls_client_auth_subject_dn" in t for t in after)
    assert admin.get(admin_path("apps", client_id))[
        "tls_client_certificate_bound_access_tokens"] is False
