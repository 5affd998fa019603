"""The console's local server: static files, and a signing proxy to the admin API.

It runs on the operator's machine with the operator's AWS credentials, so any web page
the operator visits could try to use it. Every request must pass, in this order:

1. `Host` is exactly this server's loopback address and port (DNS rebinding: a name that
   resolves to 127.0.0.1 still sends its own name as Host);
2. no cross-origin request: an `Origin` other than our own, or a `Sec-Fetch-Site` other
   than `same-origin` (`none`, a typed or pasted URL, only for a page, not the API);
3. the per-run token: in the printed URL once (answered with an HttpOnly, SameSite=Strict
   cookie and a redirect that drops it from the address bar), then the cookie;
4. API calls carry `X-M2M-Console: 1`, a header no cross-origin page can add without a
   CORS preflight, which this server never approves;
5. only the admin routes and methods, the token endpoint and the JWKS are forwarded
   (`routes.py`); the admin ones are signed with SigV4 here, so credentials never reach
   the browser; only a few request and response headers pass.

Every answer carries a strict Content-Security-Policy (scripts and styles from this
origin only, no inline script, no framing), `X-Content-Type-Options: nosniff`,
`Referrer-Policy: no-referrer` and `Cache-Control: no-store`.
"""

from __future__ import annotations

import hmac
import json
import logging
import re
import secrets
import socket
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources
from typing import Any

import requests

from m2m_client.admin_http import DEFAULT_TIMEOUT, USER_AGENT, SigV4Signer, check_endpoint
from m2m_client.console.routes import RouteRefused, is_api_path, route

log = logging.getLogger(__name__)

LOOPBACK = "127.0.0.1"
API_HEADER = "X-M2M-Console"
MAX_BODY = 64 * 1024 + 1024  # the admin API refuses bodies over 64 KiB itself
CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Resource-Policy": "same-origin",
    "Cache-Control": "no-store",
}
# Response headers of the admin API the console's pages read.
PASSED_RESPONSE_HEADERS = ("Content-Type", "ETag", "Allow", "Retry-After", "RateLimit",
                           "RateLimit-Policy")
_IF_MATCH = re.compile(r'^(W/)?"\d{1,18}"$')
_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".txt": "text/plain; charset=utf-8",
    ".ico": "image/x-icon",
}
_ENTRY_HELP = (
    "<!doctype html><title>m2m console</title><p>Open the URL that <code>m2m console</code> "
    "printed (it carries this run's token).</p>"
)


def load_static() -> dict[str, tuple[bytes, str]]:
    """The package's static files by URL path (`/` is index.html); nothing else is served."""
    files: dict[str, tuple[bytes, str]] = {}
    root = resources.files("m2m_client.console").joinpath("static")

    def walk(node: Any, prefix: str) -> None:
        for child in node.iterdir():
            if child.is_dir():
                walk(child, f"{prefix}{child.name}/")
                continue
            suffix = "." + child.name.rsplit(".", 1)[-1] if "." in child.name else ""
            if suffix in _TYPES:
                files[f"{prefix}{child.name}"] = (child.read_bytes(), _TYPES[suffix])

    walk(root, "/")
    files["/"] = files["/index.html"]
    return files


@dataclass(frozen=True)
class Upstream:
    """Where the console's API calls go: the service's base URL and, outside local
    mode, the SigV4 signer of the operator's credentials."""

    endpoint: str
    signer: SigV4Signer | None
    timeout: float = DEFAULT_TIMEOUT


class ConsoleServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, upstream: Upstream, *, port: int = 0, host: str = LOOPBACK) -> None:
        if host not in (LOOPBACK, "::1") and not host.startswith("127."):
            raise ValueError("the console binds to a loopback address only")
        if ":" in host:
            self.address_family = socket.AF_INET6
        super().__init__((host, port), ConsoleHandler)
        self.upstream = Upstream(check_endpoint(upstream.endpoint), upstream.signer,
                                 upstream.timeout)
        self.token = secrets.token_urlsafe(32)
        self.static = load_static()
        bound_port = int(self.server_address[1])
        self.authority = f"[{host}]:{bound_port}" if ":" in host else f"{host}:{bound_port}"
        self.origin = f"http://{self.authority}"
        self.cookie_name = f"m2m_console_{bound_port}"  # cookies ignore ports: one per server
        self._sessions = threading.local()

    @property
    def url(self) -> str:
        """The URL to open: the only place the token appears."""
        return f"{self.origin}/?token={self.token}"

    def session(self) -> requests.Session:
        session = getattr(self._sessions, "value", None)
        if session is None:
            session = requests.Session()
            session.trust_env = False  # no proxy from the environment sees signed requests
            self._sessions.value = session
        return session


class ConsoleHandler(BaseHTTPRequestHandler):
    server: ConsoleServer
    protocol_version = "HTTP/1.1"
    server_version = "m2m-console"
    sys_version = ""

    # --- entry points -------------------------------------------------------------------

    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        self._handle()

    def do_POST(self) -> None:  # noqa: N802
        self._handle()

    def do_PUT(self) -> None:  # noqa: N802
        self._handle()

    def do_PATCH(self) -> None:  # noqa: N802
        self._handle()

    def do_DELETE(self) -> None:  # noqa: N802
        self._handle()

    def do_HEAD(self) -> None:  # noqa: N802
        self._refuse(405, "method not allowed")

    def do_OPTIONS(self) -> None:  # noqa: N802 - never a CORS preflight approval
        self._refuse(405, "method not allowed")

    def do_TRACE(self) -> None:  # noqa: N802
        self._refuse(405, "method not allowed")

    def do_CONNECT(self) -> None:  # noqa: N802
        self._refuse(405, "method not allowed")

    def send_error(self, code: int, message: str | None = None,
                   explain: str | None = None) -> None:
        """http.server's own refusals (a malformed request line, headers too long) in the
        console's form, with its security headers; never echoing the request."""
        self._refuse(code, "malformed request")

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        path = str(getattr(self, "path", "")).split("?", 1)[0]  # the query may hold the token
        log.info("console %s %s %s", self.command, path[:200], code)

    def log_error(self, format: str, *args: Any) -> None:  # noqa: A002 - signature
        log.info("console: refused a malformed request")

    # --- the checks ---------------------------------------------------------------------

    def _handle(self) -> None:
        path = self.path.split("?", 1)[0]
        api = is_api_path(path)
        if self.headers.get_all("Host") != [self.server.authority]:
            return self._refuse(403, "wrong Host header: open the URL m2m console printed")
        problem = self._cross_origin(api)
        if problem:
            return self._refuse(403, problem)
        if self.command == "GET" and path == "/" and "token=" in self.path:
            return self._enter()
        if not self._has_cookie():
            if not api and self.command == "GET" and path == "/":
                return self._send(401, _ENTRY_HELP.encode(), "text/html; charset=utf-8")
            return self._refuse(401, "missing or wrong console token")
        if not api:
            static = self.server.static.get(self.path) if self.command == "GET" else None
            if static is None:
                return self._refuse(404, "not found")
            return self._send(200, static[0], static[1])
        if self.headers.get(API_HEADER) != "1":
            return self._refuse(403, f"API calls need the {API_HEADER} header")
        try:
            forward = route(self.command, self.path)
        except RouteRefused:
            return self._refuse(404, "not a route the console forwards")
        self._forward(forward.method, forward.path + forward.query, forward.admin)

    def _cross_origin(self, api: bool) -> str | None:
        origin = self.headers.get_all("Origin") or []
        if origin and origin != [self.server.origin]:
            return "cross-origin request refused"
        site = self.headers.get_all("Sec-Fetch-Site") or []
        allowed = ["same-origin"] if api else ["same-origin", "none"]
        if site and (len(site) != 1 or site[0] not in allowed):
            return "cross-site request refused"
        return None

    def _has_cookie(self) -> bool:
        for header in self.headers.get_all("Cookie") or []:
            for pair in header.split(";"):
                name, _, value = pair.strip().partition("=")
                if name == self.server.cookie_name and hmac.compare_digest(
                    value.encode(), self.server.token.encode()
                ):
                    return True
        return False

    def _enter(self) -> None:
        query = self.path.split("?", 1)[1]
        given = [v for k, _, v in (p.partition("=") for p in query.split("&")) if k == "token"]
        if len(given) != 1 or not hmac.compare_digest(given[0].encode(),
                                                      self.server.token.encode()):
            return self._refuse(403, "wrong console token")
        cookie = (f"{self.server.cookie_name}={self.server.token}; Path=/; HttpOnly; "
                  "SameSite=Strict")
        self._send(303, b"", "text/plain; charset=utf-8",
                   {"Location": "/", "Set-Cookie": cookie})

    # --- forwarding ---------------------------------------------------------------------

    def _read_body(self) -> bytes | None:
        if self.headers.get("Transfer-Encoding"):
            self._refuse(411, "send a Content-Length")
            return None
        raw = self.headers.get("Content-Length", "0")
        if not (raw.isascii() and raw.isdigit()):
            self._refuse(400, "bad Content-Length")
            return None
        length = int(raw)
        if length > MAX_BODY:
            self._refuse(413, "request body too large")
            return None
        return self.rfile.read(length) if length else b""

    def _forward(self, method: str, path: str, admin: bool) -> None:
        body = self._read_body()
        if body is None:
            return
        upstream = self.server.upstream
        url = upstream.endpoint + path
        headers = {"Accept": "application/json, application/problem+json",
                   "User-Agent": f"{USER_AGENT} console"}
        if body:
            kind = "application/json" if admin else "application/x-www-form-urlencoded"
            if (self.headers.get("Content-Type") or "").split(";")[0].strip().lower() != kind:
                return self._refuse(415, f"the body must be {kind}")
            headers["Content-Type"] = kind
        if_match = self.headers.get("If-Match")
        if admin and if_match is not None:
            if not _IF_MATCH.match(if_match):
                return self._refuse(400, "If-Match must be an ETag of the admin API")
            headers["If-Match"] = if_match
        try:
            if admin and upstream.signer is not None:
                headers = upstream.signer.sign(method, url, headers, body)
            response = self.server.session().request(
                method, url, data=body or None, headers=headers, timeout=upstream.timeout,
                allow_redirects=False,  # never replay a signed request elsewhere
            )
        except Exception as exc:  # noqa: BLE001 - any failure is a 502 for the page
            log.warning("console: %s %s failed: %s", method, path.split("?")[0],
                        type(exc).__name__)
            return self._refuse(502, f"the service could not be reached ({type(exc).__name__})")
        with response:
            if 300 <= response.status_code < 400:
                return self._refuse(502, "the service answered with a redirect")
            passed = {name: response.headers[name] for name in PASSED_RESPONSE_HEADERS
                      if name in response.headers and name != "Content-Type"}
            kind = response.headers.get("Content-Type", "application/octet-stream")
            self._send(response.status_code, response.content, kind, passed)

    # --- answers ------------------------------------------------------------------------

    def _refuse(self, status: int, detail: str) -> None:
        # The request's body may be unread: never read another request from this stream.
        self.close_connection = True
        body = {"type": "urn:m2m-auth:problem:console", "title": "Refused by the console",
                "status": status, "detail": detail}
        self._send(status, json.dumps(body).encode(), "application/problem+json")

    def _send(self, status: int, body: bytes, content_type: str,
              headers: Mapping[str, str] | None = None) -> None:
        self.send_response(status)
        for name, value in {**SECURITY_HEADERS, **(headers or {})}.items():
            self.send_header(name, value)
        if self.close_connection:
            self.send_header("Connection", "close")
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)


def serve_in_thread(server: ConsoleServer) -> threading.Thread:
    """Serve until `server.shutdown()`, on a daemon thread (tests, `make local`)."""
    thread = threading.Thread(target=server.serve_forever, name="m2m-console", daemon=True)
    thread.start()
    return thread
