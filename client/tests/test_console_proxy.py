"""The console's local proxy (m2m_client.console): what it refuses (wrong Host, missing
token, cross-origin requests, anything but the admin routes), the headers it sends, and
the SigV4 signature of what it forwards (checked with the independent implementation of
test_admin_http). The upstream is a loopback server that records what reaches it."""

from __future__ import annotations

import json
import re
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from html.parser import HTMLParser
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources
from typing import Any

import pytest
import requests
from botocore.credentials import Credentials
from click.testing import CliRunner
from m2m_localserver import PROJECT
from test_admin_http import ACCESS_KEY, SECRET_KEY, reference_signature

from m2m_client.admin_http import SigV4Signer
from m2m_client.cli import cli
from m2m_client.console import ConsoleServer, Upstream, serve_in_thread
from m2m_client.console.routes import RouteRefused, route

REGION = "eu-west-1"


@dataclass
class Seen:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class Recorder:
    """A fake admin API: records every request; answers 200 JSON with an ETag, or what
    `reply` says for a path."""

    url: str = ""
    seen: list[Seen] = field(default_factory=list)
    reply: dict[str, tuple[int, dict[str, str], bytes]] = field(default_factory=dict)


def _recorder_server(recorder: Recorder) -> ThreadingHTTPServer:
    class Handler(BaseHTTPRequestHandler):
        def _any(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            recorder.seen.append(Seen(self.command, self.path, dict(self.headers.items()), body))
            status, headers, answer = recorder.reply.get(
                self.path.split("?")[0],
                (200, {"Content-Type": "application/json", "ETag": '"7"',
                       "Set-Cookie": "upstream=1", "X-Upstream-Secret": "no"}, b'{"ok":true}'),
            )
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)

        do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _any  # noqa: N815

        def log_message(self, *args: Any) -> None:
            pass

    return ThreadingHTTPServer(("127.0.0.1", 0), Handler)


@dataclass
class Console:
    server: ConsoleServer
    upstream: Recorder
    base: str
    http: requests.Session

    @property
    def cookie(self) -> str:
        return f"{self.server.cookie_name}={self.server.token}"

    def call(self, method: str, path: str, *, headers: dict[str, str] | None = None,
             cookie: bool = True, api_header: bool = True, **kwargs: Any) -> requests.Response:
        sent = {"Host": self.server.authority}
        if cookie:
            sent["Cookie"] = self.cookie
        if api_header:
            sent["X-M2M-Console"] = "1"
        sent.update(headers or {})
        return self.http.request(method, self.base + path, headers=sent,
                                 allow_redirects=False, timeout=10, **kwargs)


@pytest.fixture
def console() -> Iterator[Console]:
    recorder = Recorder()
    upstream = _recorder_server(recorder)
    recorder.url = f"http://127.0.0.1:{upstream.server_address[1]}/dev"
    threading.Thread(target=upstream.serve_forever, daemon=True).start()
    signer = SigV4Signer(Credentials(ACCESS_KEY, SECRET_KEY), REGION)
    server = ConsoleServer(Upstream(recorder.url, signer, 5.0), port=0)
    serve_in_thread(server)
    http = requests.Session()
    http.trust_env = False
    try:
        yield Console(server, recorder, server.origin, http)
    finally:
        server.shutdown()
        server.server_close()
        upstream.shutdown()
        upstream.server_close()


# --- the token ------------------------------------------------------------------------------


def test_the_printed_url_sets_an_httponly_samesite_strict_cookie_and_drops_the_token(
    console: Console,
) -> None:
    answer = console.call("GET", "/?token=" + console.server.token, cookie=False,
                          api_header=False)
    assert answer.status_code == 303
    assert answer.headers["Location"] == "/"  # the token leaves the address bar
    cookie = answer.headers["Set-Cookie"]
    assert cookie.startswith(console.cookie + ";")
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and "Path=/" in cookie


def test_each_run_has_its_own_random_token(console: Console) -> None:
    other = ConsoleServer(Upstream(console.upstream.url, None), port=0)
    try:
        assert other.token != console.server.token
        assert len(console.server.token) >= 40
        assert other.url == f"{other.origin}/?token={other.token}"
    finally:
        other.server_close()


def test_rejects_a_wrong_token_in_the_url(console: Console) -> None:
    answer = console.call("GET", "/?token=guess", cookie=False, api_header=False)
    assert answer.status_code == 403
    assert "Set-Cookie" not in answer.headers


@pytest.mark.parametrize("path", ["/", "/js/app.js", "/admin/apis", "/oauth/token"])
def test_rejects_requests_without_the_token_cookie(console: Console, path: str) -> None:
    answer = console.call("GET", path, cookie=False)
    assert answer.status_code == 401
    assert console.upstream.seen == []


def test_rejects_a_wrong_token_cookie(console: Console) -> None:
    answer = console.call("GET", "/admin/apis",
                          headers={"Cookie": f"{console.server.cookie_name}=x" + "0" * 42},
                          cookie=False)
    assert answer.status_code == 401
    assert console.upstream.seen == []


# --- Host (DNS rebinding) ---------------------------------------------------------------------


@pytest.mark.parametrize("host", ["rebind.attacker.example", "localhost:{port}",
                                  "rebind.attacker.example:{port}", "127.0.0.1:1",
                                  "127.0.0.1", "[::1]:{port}"])
def test_rejects_a_host_header_other_than_its_own_address_and_port(
    console: Console, host: str
) -> None:
    port = console.server.server_address[1]
    for path in ("/admin/apis", "/", "/?token=" + console.server.token):
        answer = console.call("GET", path, headers={"Host": host.format(port=port)})
        assert answer.status_code == 403, (host, path)
        assert "Set-Cookie" not in answer.headers
    assert console.upstream.seen == []


# --- cross-origin requests --------------------------------------------------------------------


@pytest.mark.parametrize("headers", [
    {"Origin": "https://attacker.example"},
    {"Origin": "null"},
    {"Origin": "http://localhost:1"},
    {"Origin": "http://127.0.0.1:1"},  # another loopback port: same-site, cookie sent
    {"Sec-Fetch-Site": "cross-site"},
    {"Sec-Fetch-Site": "same-site"},
    {"Sec-Fetch-Site": "none"},  # a typed URL may open a page, never call the API
])
def test_rejects_cross_origin_api_calls(console: Console, headers: dict[str, str]) -> None:
    for method, path in (("GET", "/admin/apis"), ("POST", "/admin/apps")):
        answer = console.call(method, path, headers=headers, json={"name": "x"})
        assert answer.status_code == 403, (headers, method)
    assert console.upstream.seen == []


def test_rejects_a_cross_site_navigation_to_a_page(console: Console) -> None:
    answer = console.call("GET", "/?token=" + console.server.token,
                          headers={"Sec-Fetch-Site": "cross-site"}, cookie=False)
    assert answer.status_code == 403
    assert "Set-Cookie" not in answer.headers


def test_accepts_same_origin_fetches(console: Console) -> None:
    answer = console.call("GET", "/admin/apis", headers={
        "Origin": console.server.origin, "Sec-Fetch-Site": "same-origin"})
    assert answer.status_code == 200
    assert len(console.upstream.seen) == 1


def test_requires_the_console_header_on_api_calls(console: Console) -> None:
    """A cross-origin page cannot add it without a CORS preflight, never approved."""
    answer = console.call("POST", "/admin/apps", api_header=False, json={"name": "x"})
    assert answer.status_code == 403
    preflight = console.call("OPTIONS", "/admin/apps", headers={
        "Origin": console.server.origin, "Access-Control-Request-Method": "POST"})
    assert preflight.status_code == 405
    assert not any(h.lower().startswith("access-control-") for h in preflight.headers)
    assert console.upstream.seen == []


# --- only the admin routes --------------------------------------------------------------------


@pytest.mark.parametrize(("method", "path"), [
    ("GET", "/openapi.json"),
    ("GET", "/admin"),
    ("GET", "/admin/"),
    ("GET", "/admin/unknown"),
    ("PUT", "/admin/apis"),
    ("DELETE", "/admin/keys/rotate"),
    ("GET", "/admin/../oauth/introspect"),
    ("GET", "/admin/%2e%2e/openapi.json"),
    ("GET", "/admin/apps/%2Fevil"),
    ("GET", "/admin/apps/a%5c..%5cb/grants"),
    ("GET", "/admin/apps//grants"),
    ("GET", "/admin/apps/%0a/grants"),
    ("GET", "/admin/apis?foo=1"),
    ("GET", "/admin/apis?limit=1&limit=2"),
    ("POST", "/admin/apis?limit=1"),
    ("POST", "/oauth/introspect"),
    ("POST", "/oauth/revoke"),
    ("GET", "/oauth/token"),
    ("GET", "/.well-known/oauth-authorization-server"),
    ("PUT", "/admin/apps/a/keys/k1"),
    ("GET", "/admin/apps/a/keys/k1"),
    ("PATCH", "/admin/apps/a/aws-principals/p1"),
    ("GET", "/admin/apps/a/federated-identities/f1"),
    ("GET", "/admin/issuers/iss_1"),  # the pages list issuers; no read of one
    ("PATCH", "/admin/issuers/iss_1"),
    ("POST", "/admin/issuers/iss_1/keys"),
    ("GET", "/admin/issuers/iss_1/keys/k1"),
    ("POST", "/admin/apis/api_1/grants"),
    ("GET", "/admin/apis/api_1/grants/a"),
])
def test_forwards_nothing_but_the_admin_routes_and_methods(
    console: Console, method: str, path: str
) -> None:
    answer = console.call(method, path)
    assert answer.status_code in (404, 405), (method, path)
    assert console.upstream.seen == []


@pytest.mark.parametrize("target", [
    "http://attacker.example/admin/apis",
    "//attacker.example/admin/apis",
    "attacker.example:443",
])
def test_refuses_absolute_and_authority_form_targets(console: Console, target: str) -> None:
    port = console.server.server_address[1]
    request = (f"GET {target} HTTP/1.1\r\nHost: {console.server.authority}\r\n"
               f"Cookie: {console.cookie}\r\nX-M2M-Console: 1\r\nConnection: close\r\n\r\n")
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(request.encode())
        status_line = sock.makefile("rb").readline().decode()
    assert status_line.split()[1] in ("404", "405"), status_line
    assert console.upstream.seen == []


@pytest.mark.parametrize(("method", "path", "body"), [
    ("GET", "/admin/apis/api_1/grants", None),
    ("POST", "/admin/apps/a/keys", {"jwk": {"kty": "EC"}}),
    ("DELETE", "/admin/apps/a/keys/k%201", None),
    ("POST", "/admin/apps/a/aws-principals", {"arn": "arn:aws:iam::123456789012:role/r"}),
    ("DELETE", "/admin/apps/a/aws-principals/awsp_1", None),
    ("POST", "/admin/apps/a/federated-identities", {"issuer": "https://i", "subject": "s"}),
    ("DELETE", "/admin/apps/a/federated-identities/fed_1", None),
    ("GET", "/admin/issuers", None),
    ("POST", "/admin/issuers", {"preset": "github-actions"}),
    ("DELETE", "/admin/issuers/iss_1", None),
    ("GET", "/admin/issuers/iss_1/keys", None),
])
def test_forwards_the_credential_issuer_and_api_grant_routes_the_pages_use(
    console: Console, method: str, path: str, body: Any
) -> None:
    answer = console.call(method, path, json=body, headers={"If-Match": '"4"'}
                          if method == "DELETE" else None)
    assert answer.status_code == 200, answer.text
    [seen] = console.upstream.seen
    assert (seen.method, seen.path) == (method, "/dev" + path)
    assert json.loads(seen.body or b"null") == body
    if method == "DELETE":
        assert seen.headers["If-Match"] == '"4"'
    assert seen.headers["Authorization"].startswith("AWS4-HMAC-SHA256 ")


def test_every_forwarded_admin_route_is_an_operation_of_the_openapi_document() -> None:
    from m2m_client.console.routes import ADMIN_ROUTES

    openapi = PROJECT / "chalicelib" / "openapi.json"
    if not openapi.is_file():
        pytest.skip("needs the m2m-auth repository (chalicelib/openapi.json) beside client/")
    document = json.loads(openapi.read_text())
    operations = {
        (method.upper(), tuple("*" if p.startswith("{") else p for p in path.split("/")[2:]))
        for path, item in document["paths"].items() if path.startswith("/admin/")
        for method in item if method != "parameters"
    }
    assert set(ADMIN_ROUTES) <= operations, set(ADMIN_ROUTES) - operations
    # the only admin operations the console leaves out: reads of one issuer (the list
    # has everything the page shows)
    assert operations - set(ADMIN_ROUTES) == {("GET", ("issuers", "*"))}


def test_route_table_rebuilds_each_path_from_its_decoded_segments() -> None:
    forward = route("GET", "/admin/apps/a%20b/grants")
    assert (forward.path, forward.admin) == ("/admin/apps/a%20b/grants", True)
    assert route("GET", "/admin/audit?next=a%2Fb&limit=5").query == "?limit=5&next=a%2Fb"
    assert route("POST", "/oauth/token").admin is False
    with pytest.raises(RouteRefused):
        route("GET", "/admin/apps/%ff/grants")


# --- what is forwarded, and how ---------------------------------------------------------------


def _signed(seen: Seen) -> dict[str, str]:
    auth = seen.headers["Authorization"]
    match = re.fullmatch(
        r"AWS4-HMAC-SHA256 Credential=([^/]+)/(\d{8})/([^/]+)/([^/]+)/aws4_request, "
        r"SignedHeaders=([^,]+), Signature=([0-9a-f]{64})", auth)
    assert match, auth
    return dict(zip(("key", "day", "region", "service", "signed", "signature"),
                    match.groups(), strict=True))


def test_forwards_admin_calls_signed_with_sigv4_for_execute_api(console: Console) -> None:
    body = {"scopes": ["orders:read"]}
    answer = console.call("PUT", "/admin/apps/app%201/grants/api_1", json=body,
                          headers={"If-Match": '"3"', "Origin": console.server.origin})
    assert answer.status_code == 200
    [seen] = console.upstream.seen
    assert (seen.method, seen.path) == ("PUT", "/dev/admin/apps/app%201/grants/api_1")
    auth = _signed(seen)
    assert (auth["key"], auth["region"], auth["service"]) == (ACCESS_KEY, REGION,
                                                              "execute-api")
    lower = {k.lower(): v for k, v in seen.headers.items()}
    signed_names = auth["signed"].split(";")
    assert {"host", "x-amz-date", "content-type", "if-match"} <= set(signed_names)
    assert auth["signature"] == reference_signature(
        method="PUT",
        path="/dev/admin/apps/app%25201/grants/api_1",  # SigV4 encodes the path again
        query="",
        headers={name: lower[name] for name in signed_names},
        payload=seen.body,
        amz_date=lower["x-amz-date"],
        region=REGION,
        service="execute-api",
        secret_key=SECRET_KEY,
    )
    assert json.loads(seen.body) == body


def test_a_signed_list_query_verifies(console: Console) -> None:
    console.call("GET", "/admin/audit?next=abc%3D&limit=50")
    [seen] = console.upstream.seen
    assert seen.path == "/dev/admin/audit?limit=50&next=abc%3D"
    auth = _signed(seen)
    lower = {k.lower(): v for k, v in seen.headers.items()}
    assert auth["signature"] == reference_signature(
        method="GET", path="/dev/admin/audit", query="limit=50&next=abc%3D",
        headers={n: lower[n] for n in auth["signed"].split(";")}, payload=b"",
        amz_date=lower["x-amz-date"], region=REGION, service="execute-api",
        secret_key=SECRET_KEY,
    )


def test_the_browser_cookie_and_authorization_never_reach_the_service(console: Console) -> None:
    console.call("GET", "/admin/apis", headers={"Authorization": "Basic Zm9vOmJhcg==",
                                                "X-Forwarded-For": "1.2.3.4",
                                                "X-Api-Key": "k"})
    [seen] = console.upstream.seen
    names = {name.lower() for name in seen.headers}
    assert "cookie" not in names and "x-forwarded-for" not in names and "x-api-key" not in names
    assert seen.headers["Authorization"].startswith("AWS4-HMAC-SHA256 ")
    assert console.server.token not in json.dumps(seen.headers)


def test_only_the_admin_apis_headers_come_back(console: Console) -> None:
    answer = console.call("GET", "/admin/apis/api_1")
    assert answer.headers["ETag"] == '"7"'
    assert "Set-Cookie" not in answer.headers and "X-Upstream-Secret" not in answer.headers


def test_the_token_endpoint_and_jwks_are_forwarded_unsigned(console: Console) -> None:
    form = {"grant_type": "client_credentials", "client_id": "c", "client_secret": "s"}
    console.call("POST", "/oauth/token", data=form)
    console.call("GET", "/.well-known/jwks.json")
    token, jwks = console.upstream.seen
    assert token.path == "/dev/oauth/token" and jwks.path == "/dev/.well-known/jwks.json"
    assert "Authorization" not in token.headers and "Authorization" not in jwks.headers
    assert token.headers["Content-Type"] == "application/x-www-form-urlencoded"


def test_refuses_unexpected_bodies_and_if_match_values(console: Console) -> None:
    assert console.call("POST", "/admin/apps", data="name=x",
                        headers={"Content-Type": "text/plain"}).status_code == 415
    assert console.call("PATCH", "/admin/apps/a", json={},
                        headers={"If-Match": '"1", "2"'}).status_code == 400
    assert console.call("POST", "/admin/apps",
                        data=b"x" * (70 * 1024),
                        headers={"Content-Type": "application/json"}).status_code == 413
    assert console.upstream.seen == []


def test_does_not_follow_a_redirect_of_a_signed_request(console: Console) -> None:
    console.upstream.reply["/dev/admin/apis"] = (302, {"Location": "http://127.0.0.1:9/x"}, b"")
    answer = console.call("GET", "/admin/apis")
    assert answer.status_code == 502
    assert "Location" not in answer.headers
    assert len(console.upstream.seen) == 1


def test_an_unreachable_service_is_a_502_problem(console: Console) -> None:
    dead = ConsoleServer(Upstream("http://127.0.0.1:9", None, 2.0), port=0)
    serve_in_thread(dead)
    try:
        answer = requests.get(dead.origin + "/admin/apis", timeout=10, headers={
            "Host": dead.authority, "Cookie": f"{dead.cookie_name}={dead.token}",
            "X-M2M-Console": "1"})
        assert answer.status_code == 502
        assert answer.headers["Content-Type"] == "application/problem+json"
    finally:
        dead.shutdown()
        dead.server_close()


# --- what the browser is told ---------------------------------------------------------------


@pytest.mark.parametrize(("method", "path", "cookie"), [
    ("GET", "/", True), ("GET", "/js/app.js", True), ("GET", "/admin/apis", True),
    ("GET", "/admin/apis", False), ("GET", "/nothing", True), ("HEAD", "/", True),
])
def test_every_answer_carries_a_strict_content_security_policy(
    console: Console, method: str, path: str, cookie: bool
) -> None:
    answer = console.call(method, path, cookie=cookie)
    csp = answer.headers["Content-Security-Policy"]
    directives = dict(d.strip().split(" ", 1) for d in csp.split(";"))
    assert directives["default-src"] == "'none'"
    assert directives["script-src"] == "'self'"  # no inline script, no eval
    assert directives["frame-ancestors"] == "'none'"
    assert "unsafe" not in csp
    assert answer.headers["X-Content-Type-Options"] == "nosniff"
    assert answer.headers["Referrer-Policy"] == "no-referrer"
    assert answer.headers["X-Frame-Options"] == "DENY"
    assert answer.headers["Cache-Control"] == "no-store"


def test_serves_the_static_files_with_their_types(console: Console) -> None:
    page = console.call("GET", "/")
    assert page.status_code == 200 and page.headers["Content-Type"].startswith("text/html")
    script = console.call("GET", "/js/app.js")
    assert script.headers["Content-Type"].startswith("text/javascript")
    assert console.call("GET", "/js/%2e%2e/index.html").status_code == 404
    assert console.call("GET", "/index.html?x").status_code == 404
    assert console.call("POST", "/index.html").status_code == 404


class _Markup(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.problems: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        names = dict(attrs)
        if tag == "script" and not names.get("src"):
            self.problems.append("inline script")
        self.problems += [f"{tag}[{n}]" for n in names if n.startswith("on") or n == "style"]


def test_the_pages_need_no_inline_script_style_or_eval() -> None:
    root = resources.files("m2m_client.console").joinpath("static")
    parser = _Markup()
    parser.feed(root.joinpath("index.html").read_text())
    assert parser.problems == []
    scripts = [p for p in root.joinpath("js").iterdir() if p.name.endswith(".js")]
    scripts += [p for p in root.joinpath("js", "pages").iterdir() if p.name.endswith(".js")]
    assert len(scripts) >= 8
    for script in scripts:
        text = script.read_text()
        for risky in ("innerHTML", "outerHTML", "insertAdjacentHTML", "eval(",
                      "new Function", "document.write", "localStorage", "sessionStorage"):
            assert risky not in text, (script.name, risky)


def test_binds_to_loopback_only() -> None:
    with pytest.raises(ValueError, match="loopback"):
        ConsoleServer(Upstream("http://127.0.0.1:9", None), host="0.0.0.0")  # noqa: S104


# --- the command ------------------------------------------------------------------------------


def test_m2m_console_prints_the_url_and_signs_with_the_credential_chain(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from m2m_localserver import offline_aws

    offline_aws(monkeypatch)
    started: list[ConsoleServer] = []

    def serve(self: ConsoleServer, *args: Any, **kwargs: Any) -> None:
        started.append(self)
        raise KeyboardInterrupt

    monkeypatch.setattr(ConsoleServer, "serve_forever", serve)
    endpoint = "https://abc123defg.execute-api.eu-west-1.amazonaws.com/dev"
    result = CliRunner().invoke(cli, ["--endpoint", endpoint, "console", "--port", "0"])
    assert result.exit_code == 0, result.output
    [server] = started
    assert server.url in result.stdout
    assert server.upstream.signer is not None
    assert server.upstream.signer.region == "eu-west-1"
    assert "testing" not in result.output  # no credential is ever printed


def test_m2m_console_refuses_a_remote_endpoint_without_credentials(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from m2m_localserver import offline_aws

    offline_aws(monkeypatch)
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(name)
    result = CliRunner().invoke(
        cli, ["--endpoint", "https://auth.example.com", "console", "--port", "0"])
    assert result.exit_code == 2
    assert "no AWS credentials" in result.output


def test_a_malformed_request_gets_the_console_headers_and_no_echo(console: Console) -> None:
    port = console.server.server_address[1]
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(b"GET /<script>?token=x HTTP/1.1\r\nX-Long: " + b"a" * 70_000 + b"\r\n\r\n")
        answer = sock.makefile("rb").read().decode()
    assert answer.startswith("HTTP/1.1 431"), answer[:200]
    assert "Content-Security-Policy: default-src 'none'" in answer
    assert "<script>" not in answer and "token" not in answer


def test_every_static_file_is_package_data() -> None:
    """The pages ship in the wheel: pyproject's package-data globs cover each file."""
    import tomllib
    from pathlib import Path

    client = Path(__file__).resolve().parents[1]
    patterns = tomllib.loads((client / "pyproject.toml").read_text())["tool"]["setuptools"][
        "package-data"]["m2m_client"]
    package = client / "src" / "m2m_client"
    covered = {p for pattern in patterns for p in package.glob(pattern) if p.is_file()}
    static = {p for p in (package / "console" / "static").rglob("*") if p.is_file()}
    assert static and static <= covered
