"""Which requests the console's proxy forwards: the admin routes and methods, the token
endpoint and the JWKS. Everything else is refused before anything leaves the machine.

A request path is split into segments, each percent-decoded once and checked (no empty
segment, no `.` or `..`, no `/` or `\\` hidden in an escape), matched against the
route table, and rebuilt from the decoded segments exactly as the CLI builds it
(`admin_path`), so what is sent upstream is always one of the routes below.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import parse_qsl, quote, unquote

from m2m_client.admin_http import _query

ANY = "*"  # one path segment (an id)

# (method, segments) of the admin routes the console's pages call (docs/admin-contract.md;
# client/tests/test_console_proxy.py checks each is an operation of openapi.json).
ADMIN_ROUTES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("GET", ("apis",)),
    ("POST", ("apis",)),
    ("GET", ("apis", ANY)),
    ("PATCH", ("apis", ANY)),
    ("DELETE", ("apis", ANY)),
    ("GET", ("apis", ANY, "grants")),
    ("GET", ("apps",)),
    ("POST", ("apps",)),
    ("GET", ("apps", ANY)),
    ("PATCH", ("apps", ANY)),
    ("DELETE", ("apps", ANY)),
    ("GET", ("apps", ANY, "usage")),
    ("POST", ("apps", ANY, "revoke-tokens")),
    ("GET", ("apps", ANY, "grants")),
    ("PUT", ("apps", ANY, "grants", ANY)),
    ("DELETE", ("apps", ANY, "grants", ANY)),
    ("POST", ("apps", ANY, "secrets")),
    ("DELETE", ("apps", ANY, "secrets", ANY)),
    ("GET", ("apps", ANY, "keys")),
    ("POST", ("apps", ANY, "keys")),
    ("DELETE", ("apps", ANY, "keys", ANY)),
    ("GET", ("apps", ANY, "aws-principals")),
    ("POST", ("apps", ANY, "aws-principals")),
    ("DELETE", ("apps", ANY, "aws-principals", ANY)),
    ("GET", ("apps", ANY, "federated-identities")),
    ("POST", ("apps", ANY, "federated-identities")),
    ("DELETE", ("apps", ANY, "federated-identities", ANY)),
    ("GET", ("apps", ANY, "tls-clients")),
    ("POST", ("apps", ANY, "tls-clients")),
    ("DELETE", ("apps", ANY, "tls-clients", ANY)),
    ("GET", ("apps", ANY, "exchange-policies")),
    ("PUT", ("apps", ANY, "exchange-policies", ANY)),
    ("DELETE", ("apps", ANY, "exchange-policies", ANY)),
    ("GET", ("issuers",)),
    ("POST", ("issuers",)),
    ("DELETE", ("issuers", ANY)),
    ("GET", ("issuers", ANY, "keys")),
    ("GET", ("keys",)),
    ("POST", ("keys",)),
    ("POST", ("keys", "rotate")),
    ("GET", ("audit",)),
)
# Public routes the "Try it" page uses; never signed.
PUBLIC_ROUTES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("POST", ("oauth", "token")),
    ("GET", (".well-known", "jwks.json")),
)
QUERY_NAMES = frozenset({"limit", "next"})  # the admin lists' only parameters


class RouteRefused(Exception):
    """The request is not one the console may forward (a 404 for the browser)."""


@dataclass(frozen=True)
class Forward:
    """A request to send upstream: `path` (canonical, percent-encoded) plus `query`."""

    method: str
    path: str
    query: str
    admin: bool  # signed with SigV4; False for the public token endpoint and JWKS


def _segments(raw_path: str) -> list[str]:
    if not raw_path.startswith("/") or raw_path.startswith("//"):
        raise RouteRefused("not an origin-form path")  # absolute URLs, authority forms
    segments = []
    for part in raw_path[1:].split("/"):
        decoded = unquote(part, errors="strict")
        if decoded in ("", ".", "..") or "/" in decoded or "\\" in decoded:
            raise RouteRefused("empty, dot or slash segment")
        if not decoded.isprintable():
            raise RouteRefused("control character in a segment")
        segments.append(decoded)
    return segments


def _matches(pattern: tuple[str, ...], segments: list[str]) -> bool:
    return len(pattern) == len(segments) and all(
        p in (ANY, s) for p, s in zip(pattern, segments, strict=True)
    )


def is_api_path(raw_path: str) -> bool:
    """True for paths the console's scripts call (they need the API request header)."""
    return raw_path.startswith(("/admin/", "/oauth/", "/.well-known/"))


def route(method: str, target: str) -> Forward:
    """The request to forward for `method target`, or `RouteRefused`."""
    raw_path, _, raw_query = target.partition("?")
    try:
        segments = _segments(raw_path)
    except UnicodeDecodeError:
        raise RouteRefused("invalid percent-encoding") from None
    if segments and segments[0] == "admin":
        rest = segments[1:]
        if not any(m == method and _matches(p, rest) for m, p in ADMIN_ROUTES):
            raise RouteRefused("not an admin route")
        path = "/admin/" + "/".join(quote(s, safe="") for s in rest)
        return Forward(method, path, _canonical_query(method, raw_query), admin=True)
    if any(m == method and _matches(p, segments) for m, p in PUBLIC_ROUTES):
        if raw_query:
            raise RouteRefused("no query on public routes")
        return Forward(method, "/" + "/".join(segments), "", admin=False)
    raise RouteRefused("not a console route")


def _canonical_query(method: str, raw_query: str) -> str:
    if not raw_query:
        return ""
    if method != "GET":
        raise RouteRefused("a query only on GET")
    try:
        pairs = parse_qsl(raw_query, keep_blank_values=True, strict_parsing=True)
    except ValueError:
        raise RouteRefused("malformed query") from None
    names = [name for name, _ in pairs]
    if len(set(names)) != len(names) or not set(names) <= QUERY_NAMES:
        raise RouteRefused("unknown or repeated query parameter")
    return _query(dict(pairs))
