"""The `m2m` CLI against the local server started in-test: the full admin lifecycle,
`--json` parsed, exit codes 0 / 1 (API error) / 2 (usage error)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import jwt
import pytest
from click.testing import CliRunner, Result
from m2m_localserver import DEMO_AUDIENCE, LocalServer, local_server, offline_aws

from m2m_client.cli import cli

pytestmark = pytest.mark.e2e

AUDIENCE = "https://api.example.com/cli-test"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalServer]:
    with pytest.MonkeyPatch.context() as mp:
        offline_aws(mp)
        with local_server(tmp_path_factory.mktemp("cli")) as running:
            yield running


@pytest.fixture(autouse=True)
def aws_env(server: LocalServer, monkeypatch: pytest.MonkeyPatch) -> None:
    offline_aws(monkeypatch)
    monkeypatch.setenv("M2M_ENDPOINT", server.base)


def m2m(*args: str, code: int = 0, input: str | None = None) -> Result:
    """Run `m2m ARGS` in-process; check the exit code."""
    result = CliRunner().invoke(cli, list(args), input=input, catch_exceptions=False)
    assert result.exit_code == code, (
        f"m2m {' '.join(args)} exited {result.exit_code}, expected {code}\n"
        f"stdout:\n{result.stdout}\nstderr:\n{result.stderr}"
    )
    return result


def m2m_json(*args: str) -> Any:
    return json.loads(m2m(*args, "--json").stdout)


def create_api(identifier: str, *scopes: str) -> dict[str, Any]:
    args = ["apis", "create", "--name", "CLI test API", "--identifier", identifier]
    for scope in scopes:
        args += ["--scope", scope]
    return dict(m2m_json(*args))


def get_token(client_id: str, secret: str, audience: str = AUDIENCE, code: int = 0) -> Result:
    return m2m("token", "--client-id", client_id, "--client-secret", secret,
               "--audience", audience, "--json", code=code)


# --- APIs -----------------------------------------------------------------------------------


def test_api_create_list_get_update_delete(server: LocalServer) -> None:
    created = create_api("https://api.example.com/cli-apis", "a:read=Read things", "a:write")
    api_id = created["id"]
    assert created["scopes"] == [
        {"value": "a:read", "description": "Read things"},
        {"value": "a:write", "description": ""},
    ]
    assert created["version"] == 1

    listed = m2m_json("apis", "list")
    assert api_id in [item["id"] for item in listed["items"]]
    assert set(listed) == {"items", "next"}

    got = m2m_json("apis", "get", api_id)
    assert got["identifier"] == "https://api.example.com/cli-apis"

    updated = m2m_json("apis", "update", api_id, "--if-match", "1", "--name", "Renamed",
                       "--scopes", "a:read=Read all things", "--token-lifetime", "600")
    assert (updated["name"], updated["token_lifetime"], updated["version"]) == ("Renamed", 600, 2)
    assert updated["scopes"] == [{"value": "a:read", "description": "Read all things"}]

    stale = m2m("apis", "update", api_id, "--if-match", "1", "--name", "Lost update", code=1)
    assert "HTTP 412" in stale.stderr
    assert "If-Match names version 1; the current version is 2." in stale.stderr
    assert m2m_json("apis", "get", api_id)["name"] == "Renamed"

    human = m2m("apis", "get", api_id).stdout
    assert "name:" in human and "Renamed" in human and "a:read  Read all things" in human

    refused = m2m("apis", "delete", api_id, code=2)  # stdin is no terminal, no --yes
    assert "--yes" in refused.stderr
    m2m_json("apis", "get", api_id)  # still there

    assert m2m("apis", "delete", api_id, "--yes", "--json").stdout == ""
    missing = m2m("apis", "get", api_id, code=1)
    assert "HTTP 404" in missing.stderr and api_id in missing.stderr


def test_list_pages_with_limit_and_all(server: LocalServer) -> None:
    for n in range(3):
        create_api(f"https://api.example.com/page-{n}")
    first = m2m_json("apis", "list", "--limit", "2")
    assert len(first["items"]) == 2 and first["next"]
    second = m2m_json("apis", "list", "--limit", "2", "--next", first["next"])
    everything = m2m_json("apis", "list", "--limit", "2", "--all")
    assert everything["next"] is None
    ids = [item["id"] for item in everything["items"]]
    assert len(ids) == len(set(ids)) >= 4  # the demo API and these three
    assert [i["id"] for i in first["items"] + second["items"]] == ids[:4]

    human = m2m("apis", "list", "--limit", "2")
    assert "more: --next" in human.stderr


def test_list_is_an_aligned_table(server: LocalServer) -> None:
    create_api("https://api.example.com/a-rather-long-identifier-for-alignment")
    lines = m2m("apis", "list").stdout.splitlines()
    header = lines[0]
    assert header.split() == ["ID", "IDENTIFIER", "NAME", "SCOPES", "LIFETIME", "VERSION"]
    column = header.index("IDENTIFIER")
    assert all(line[column - 2:column] == "  " and line[column] != " " for line in lines[1:])
    assert any(DEMO_AUDIENCE in line for line in lines)


# --- apps, grants, secrets, tokens ----------------------------------------------------------


def test_app_lifecycle_with_grants_secrets_tokens_and_blocking(server: LocalServer) -> None:
    api = create_api(AUDIENCE, "orders:read=Read", "orders:write=Write")

    created = m2m("apps", "create", "--name", "CLI app", "--description", "made by test_cli",
                  "--claims", '{"tenant": "t-1"}', "--json")
    app = json.loads(created.stdout)
    client_id, secret = app["client_id"], app["client_secret"]
    assert secret and app["secret_id"] and app["claims"] == {"tenant": "t-1"}
    warning = created.stderr.strip().splitlines()
    assert len(warning) == 1 and "shown only once" in warning[0]

    shown = m2m("apps", "get", client_id)
    assert secret not in shown.stdout + shown.stderr  # never again
    assert [s["secret_id"] for s in m2m_json("apps", "get", client_id)["secrets"]] == [
        app["secret_id"]
    ]

    grant = m2m_json("grants", "set", client_id, api["id"], "--scope", "orders:read")
    assert (grant["audience"], grant["scopes"]) == (AUDIENCE, ["orders:read"])
    assert [g["api_id"] for g in m2m_json("grants", "list", client_id)["items"]] == [api["id"]]
    assert AUDIENCE in m2m("grants", "list", client_id).stdout

    # m2m token: a token for the app; m2m decode: verified against the server's JWKS
    issued = json.loads(get_token(client_id, secret).stdout)
    assert issued["token_type"] == "Bearer" and issued["scope"] == "orders:read"
    assert 0 < issued["expires_in"] <= 3600
    access_token = issued["access_token"]
    decoded = json.loads(m2m("decode", access_token, "--json").stdout)
    assert decoded["verification"] == {
        "valid": True, "error": None, "issuer": server.base, "audience": AUDIENCE,
        "jwks_url": server.base + "/.well-known/jwks.json",
    }
    assert decoded["header"]["typ"] == "at+jwt"
    assert decoded["claims"]["client_id"] == client_id and decoded["claims"]["tenant"] == "t-1"
    human = m2m("decode", access_token)
    assert "verification: valid" in human.stdout and f"client_id: {client_id}" in human.stdout
    assert access_token not in human.stdout + human.stderr  # decode never prints the token
    wrong = m2m("decode", access_token, "--audience", "https://api.example.com/other", code=1)
    assert "INVALID: the token is meant for another audience" in wrong.stdout
    scoped = m2m("decode", access_token, "--scope", "orders:write", "--json", code=1)
    assert json.loads(scoped.stdout)["verification"]["valid"] is False
    assert m2m("decode", "not-a-token", code=1).stdout.strip().endswith("the token is malformed")

    # a second secret, then the first one revoked
    added = m2m("secrets", "create", client_id, "--expires-in", "3600", "--json")
    second = json.loads(added.stdout)
    assert second["client_secret"] and second["expires_at"]
    assert "shown only once" in added.stderr
    get_token(client_id, second["client_secret"])
    m2m("secrets", "revoke", client_id, app["secret_id"], code=2)  # no --yes, no terminal
    get_token(client_id, secret)  # so still valid
    assert m2m("secrets", "revoke", client_id, app["secret_id"], "--yes").stdout.startswith(
        "revoked secret"
    )
    refused = get_token(client_id, secret, code=1)
    assert "invalid_client" in refused.stderr and secret not in refused.stderr

    # block: no more tokens; unblock: tokens again
    secret = second["client_secret"]
    blocked = m2m_json("apps", "block", client_id)
    assert blocked["enabled"] is False
    assert "invalid_client" in get_token(client_id, secret, code=1).stderr
    assert m2m_json("apps", "unblock", client_id)["enabled"] is True
    get_token(client_id, secret)

    revoked = m2m_json("apps", "revoke-tokens", client_id)
    assert revoked["revoked_before"] is not None

    updated = m2m_json("apps", "update", client_id, "--permission", "introspect",
                       "--token-lifetime", "900", "--if-match", str(revoked["version"]))
    assert updated["permissions"] == ["introspect"] and updated["token_lifetime"] == 900
    m2m("apps", "update", client_id, "--name", "x", "--if-match", str(revoked["version"]),
        code=1)

    # grants remove: the audience is no longer available to the app
    m2m("grants", "remove", client_id, api["id"], code=2)
    m2m("grants", "remove", client_id, api["id"], "--yes")
    assert m2m_json("grants", "list", client_id)["items"] == []
    get_token(client_id, secret, code=1)

    m2m("apps", "delete", client_id, "--yes")
    assert "HTTP 404" in m2m("apps", "get", client_id, code=1).stderr
    m2m("apis", "delete", api["id"], "--yes")


def test_validation_errors_print_detail_and_fields(server: LocalServer) -> None:
    result = m2m("apis", "create", "--name", "Bad", "--identifier", "has space",
                 "--scope", "bad scope", code=1)
    assert "HTTP 400" in result.stderr and "The request has invalid fields." in result.stderr
    assert "  identifier: must be" in result.stderr
    assert "  scopes[0].value: must be a scope-token" in result.stderr
    assert result.stdout == ""


# --- signing keys and audit -----------------------------------------------------------------


def test_keys_add_rotate_and_audit(server: LocalServer) -> None:
    demo = server.banner
    client_id = demo.split("client_id", 1)[1].split()[0]
    secret = demo.split("client_secret", 1)[1].split()[0]

    keys = m2m_json("keys", "list")["items"]
    assert [k["state"] for k in keys] == ["current"]
    old_kid = keys[0]["kid"]
    old_token = json.loads(get_token(client_id, secret, DEMO_AUDIENCE).stdout)["access_token"]
    assert jwt.get_unverified_header(old_token)["kid"] == old_kid

    arn = server.create_kms_key()
    added = m2m_json("keys", "add", arn)
    assert (added["state"], added["alg"], added["kms_key_arn"]) == ("next", "RS256", arn)
    assert [k["state"] for k in m2m_json("keys", "list")["items"]] == ["next", "current"]
    assert "next" in m2m("keys", "list").stdout

    rotated = m2m_json("keys", "rotate")["items"]
    states = {k["kid"]: k["state"] for k in rotated}
    assert states == {added["kid"]: "current", old_kid: "previous"}
    again = m2m("keys", "rotate", code=1)
    assert "HTTP 409" in again.stderr

    new_token = json.loads(get_token(client_id, secret, DEMO_AUDIENCE).stdout)["access_token"]
    assert jwt.get_unverified_header(new_token)["kid"] == added["kid"]
    for token in (new_token, old_token):  # the previous key is still published
        assert json.loads(m2m("decode", token, "--json").stdout)["verification"]["valid"]

    entries = m2m_json("audit", "--limit", "200")["items"]
    mine = [e for e in entries if e["action"] in ("key.add", "key.rotate")]
    assert [e["action"] for e in mine] == ["key.rotate", "key.add"]  # newest first
    assert {e["actor"] for e in mine} == {"local"}
    table = m2m("audit", "--limit", "5").stdout.splitlines()
    assert table[0].split() == ["TIME", "ACTOR", "ACTION", "TARGET"]
    assert "local" in table[1] and "key.rotate" in table[1]


# --- exit codes and configuration -----------------------------------------------------------


@pytest.mark.parametrize(
    "args",
    [
        ["apps", "create"],  # missing required --name
        ["apis", "create", "--name", "x"],  # missing --identifier
        ["apps", "update", "some-id"],  # nothing to update
        ["apps", "create", "--name", "x", "--claims", "[1]"],  # claims not an object
        ["apps", "create", "--name", "x", "--claims", "{"],  # not JSON
        ["apis", "list", "--limit", "0"],
        ["apis", "update", "x", "--scope", "a", "--clear-scopes"],
        ["no-such-command"],
        ["token", "--audience", "x"],  # no client credentials
    ],
)
def test_usage_errors_exit_2(server: LocalServer, args: list[str]) -> None:
    m2m(*args, code=2)


def test_no_endpoint_is_a_usage_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("M2M_ENDPOINT")
    assert "no endpoint" in m2m("apis", "list", code=2).stderr


def test_plain_http_is_refused_for_a_remote_endpoint() -> None:
    result = m2m("--endpoint", "http://auth.example.com", "apis", "list", code=2)
    assert "must be an https URL" in result.stderr


def test_no_credentials_loopback_goes_unsigned_quietly_and_notes_it_once_with_v(
    server: LocalServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(name)
    for n in range(2):
        create_api(f"https://api.example.com/unsigned-{n}")
    quiet = m2m("apis", "list", "--json")
    assert quiet.stderr == ""
    assert json.loads(quiet.stdout)["items"]
    # -v: the note, once for the run, though --all --limit 1 makes several requests
    verbose = m2m("-v", "apis", "list", "--all", "--limit", "1", "--json")
    assert len(json.loads(verbose.stdout)["items"]) >= 3
    assert verbose.stderr.count("note: no AWS credentials found") == 1


def test_no_credentials_remote_endpoint_exits_2_without_a_request(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(name)
    result = m2m("--endpoint", "https://abc123.execute-api.eu-west-1.amazonaws.com/dev",
                 "apis", "list", code=2)
    assert "no AWS credentials found" in result.stderr


def test_unknown_profile_exits_2() -> None:
    result = m2m("--profile", "no-such-profile", "apis", "list", code=2)
    assert "no-such-profile" in result.stderr


def test_delete_asks_on_a_terminal(server: LocalServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("m2m_client.cli.common.stdin_is_tty", lambda: True)
    api_id = create_api("https://api.example.com/confirm")["id"]
    declined = m2m("apis", "delete", api_id, input="n\n", code=1)
    assert "Delete the API" in declined.stderr
    m2m_json("apis", "get", api_id)
    m2m("apis", "delete", api_id, input="y\n")
    m2m("apis", "get", api_id, code=1)


def test_global_json_flag_and_version() -> None:
    result = m2m("--json", "keys", "list")
    assert "items" in json.loads(result.stdout)
    assert result.stderr == ""  # signed with the fake credentials: no unsigned-request note
    assert "0.1.0" in m2m("--version").stdout


# --- token reuse and quotas -------------------------------------------------------------


def test_quotas_token_reuse_and_usage(server: LocalServer) -> None:
    audience = "https://api.example.com/cli-quota"
    api = create_api(audience, "q:read")
    assert api["token_reuse"] == 0.5
    assert m2m_json("apis", "update", api["id"], "--no-token-reuse")["token_reuse"] is None
    app = m2m_json("apps", "create", "--name", "Quota app", "--quota-per-hour", "2",
                   "--quota-per-day", "2")
    assert app["quota"] == {"per_hour": 2, "per_day": 2, "enforce": True}
    client_id, secret = app["client_id"], app["client_secret"]
    m2m("grants", "set", client_id, api["id"], "--scope", "q:read")

    # two fresh tokens, then the quota refuses (Retry-After: the day's end, not waited for)
    get_token(client_id, secret, audience)
    get_token(client_id, secret, audience)
    refused = get_token(client_id, secret, audience, code=1)
    assert "too_many_requests" in refused.stderr

    usage = m2m_json("apps", "usage", client_id)
    assert (len(usage["hourly"]), len(usage["daily"])) == (48, 30)
    assert usage["hourly"][-1]["count"] == 2 and usage["daily"][-1]["count"] == 2
    table = m2m("apps", "usage", client_id).stdout
    assert table.startswith("quota: 2/hour, 2/day\n")
    assert "DAY (UTC)" in table and "HOUR (UTC)" in table
    today = usage["daily"][-1]["start"][:10]
    assert any(line.split() == [today, "2"] for line in table.splitlines())

    monitored = m2m_json("apps", "update", client_id, "--quota-per-hour", "1",
                         "--quota-monitor")
    assert monitored["quota"] == {"per_hour": 1, "per_day": None, "enforce": False}
    get_token(client_id, secret, audience)  # over, but monitor mode never refuses
    assert "1/hour (monitor)" in m2m("apps", "list").stdout
    assert m2m_json("apps", "update", client_id, "--no-quota")["quota"] is None
    m2m("apps", "update", client_id, "--no-quota", "--quota-per-day", "5", code=2)
    m2m("apps", "usage", "c_unknown", code=1)


# --- --output ---------------------------------------------------------------------------


def test_output_yaml_and_json_print_the_same_data_and_table_the_default(
    server: LocalServer,
) -> None:
    import yaml

    api = create_api("https://api.example.com/cli-output", "o:read=Read")
    as_json = m2m_json("apis", "get", api["id"])
    as_yaml = yaml.safe_load(m2m("apis", "get", api["id"], "-o", "yaml").stdout)
    assert as_yaml == as_json
    before = yaml.safe_load(m2m("--output", "yaml", "apis", "list", "--all").stdout)
    assert before["next"] is None and api["id"] in [i["id"] for i in before["items"]]
    assert m2m("apis", "get", api["id"], "--output", "table").stdout == m2m(
        "apis", "get", api["id"]).stdout
    assert "identifier:" in m2m("apis", "get", api["id"]).stdout
    # created resources and other commands take it too
    app = yaml.safe_load(m2m("apps", "create", "--name", "yaml app", "-o", "yaml").stdout)
    assert app["client_secret"].startswith("m2msec_")
    grant = yaml.safe_load(m2m("grants", "set", app["client_id"], api["id"], "--scope",
                               "o:read", "-o", "yaml").stdout)
    assert grant["scopes"] == ["o:read"]
    # a 204 prints nothing on stdout with structured output
    assert m2m("apis", "delete", api["id"], "--yes", "-o", "yaml").stdout == ""


def test_two_different_output_choices_are_a_usage_error(server: LocalServer) -> None:
    refused = m2m("-o", "yaml", "apis", "list", "--json", code=2)
    assert "conflicts" in refused.stderr
    m2m("--json", "apis", "list", "-o", "json")  # the same choice twice is fine


def test_apps_list_shows_last_use_and_apis_apps_the_authorized_apps(
    server: LocalServer,
) -> None:
    api = create_api("https://api.example.com/cli-authorized", "x:read")
    app = m2m_json("apps", "create", "--name", "authorized by CLI")
    m2m("grants", "set", app["client_id"], api["id"], "--scope", "x:read")
    get_token(app["client_id"], app["client_secret"], "https://api.example.com/cli-authorized")

    listed = {i["client_id"]: i for i in m2m_json("apps", "list", "--all")["items"]}
    assert listed[app["client_id"]]["last_used"].endswith("Z")
    assert "LAST_USED" in m2m("apps", "list").stdout.splitlines()[0]
    authorized = m2m_json("apis", "apps", api["id"])["items"]
    assert [(g["client_id"], g["scopes"]) for g in authorized] == [(app["client_id"], ["x:read"])]
    assert app["client_id"] in m2m("apis", "apps", api["id"]).stdout


def test_dpop_and_sender_constrained_flags(server: LocalServer) -> None:
    # GIVEN an API that requires sender-constrained tokens and an app that must use DPoP
    api = m2m_json("apis", "create", "--name", "Bound API", "--identifier",
                   "https://bound.example.com", "--scope", "bound:read",
                   "--require-sender-constrained")
    app = m2m_json("apps", "create", "--name", "DPoP app", "--dpop")
    assert api["sender_constrained_tokens_required"] is True
    assert app["dpop_bound_access_tokens"] is True
    m2m("grants", "set", app["client_id"], api["id"], "--scope", "bound:read")

    # THEN a bearer token request is refused, by the app's setting first
    refused = get_token(app["client_id"], app["client_secret"], "https://bound.example.com",
                        code=1)
    assert "invalid_dpop_proof" in refused.stderr

    # WHEN both are turned off, the same request gets a bearer token
    assert m2m_json("apps", "update", app["client_id"], "--no-dpop")[
        "dpop_bound_access_tokens"] is False
    assert m2m_json("apis", "update", api["id"], "--allow-bearer")[
        "sender_constrained_tokens_required"] is False
    issued = json.loads(get_token(app["client_id"], app["client_secret"],
                                  "https://bound.example.com").stdout)
    assert issued["token_type"] == "Bearer"
