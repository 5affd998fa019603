"""Guarded HTTP GET for issuers' discovery documents and key sets (docs/federation.md).

The server fetches only URLs an admin registered, and still treats them as hostile
(server-side request forgery): https only (local mode also ``http://127.0.0.1``),
the host's *resolved* addresses must all be public — never loopback, link-local
(169.254.169.254 is the instance metadata endpoint), private, shared or reserved —
and the connection goes to the address that was checked (no second lookup that a
rebinding DNS server could answer differently). Redirects are followed only to the
same scheme, host and port, at most twice; the body is capped in size and the whole
exchange in time. The resolver and the connector are injected so tests assert what
was asked without opening a connection to anything but loopback.
"""

from __future__ import annotations

import contextlib
import http.client
import ipaddress
import json
import logging
import socket
import ssl
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol
from urllib.parse import urljoin, urlsplit

log = logging.getLogger(__name__)

MAX_BODY_BYTES = 64 * 1024
"""A JWKS of a dozen RSA-4096 keys is under 10 KB; GitHub's and EKS's are ~2 KB."""
TIMEOUT_SECONDS = 2.0
"""Connect and per-read timeout, and the deadline of the whole exchange."""
MAX_REDIRECTS = 2
MAX_URL_LENGTH = 512
LOCAL_HTTP_HOST = "127.0.0.1"

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


class FetchRefused(Exception):
    """The URL or the address it resolves to is not one the server may fetch."""


class FetchFailed(Exception):
    """The fetch was allowed but did not give a usable answer (down, slow, too big)."""


@dataclass(frozen=True)
class Target:
    """Where one GET goes: the URL's parts plus the one checked address to connect to."""

    scheme: str
    host: str
    port: int
    path: str
    address: str


@dataclass(frozen=True)
class Response:
    status: int
    headers: Mapping[str, str] = field(default_factory=dict)
    """Lower-case names."""
    body: bytes = b""


Resolver = Callable[[str, int], list[str]]
"""``(host, port) -> addresses`` (``socket.getaddrinfo`` by default)."""


class Connector(Protocol):
    def __call__(self, target: Target, timeout: float, max_bytes: int) -> Response:
        """GET ``target.path`` from ``target.address``; raise FetchFailed when the
        body exceeds ``max_bytes`` or the exchange takes longer than ``timeout``."""
        ...


def system_resolver(host: str, port: int) -> list[str]:
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError) as exc:
        raise FetchFailed(f"cannot resolve {host}") from exc
    return [str(info[4][0]) for info in infos]


def address_allowed(address: IPAddress, local_mode: bool) -> bool:
    """Public unicast addresses only; local mode adds loopback."""
    if isinstance(address, ipaddress.IPv6Address):
        mapped = address.ipv4_mapped or address.sixtofour
        if mapped is not None:
            return address_allowed(mapped, local_mode)
        if address.teredo is not None:
            return False
    if local_mode and address.is_loopback:
        return True
    return address.is_global and not (
        address.is_multicast or address.is_reserved or address.is_link_local
        or address.is_private or address.is_loopback or address.is_unspecified
    )


@dataclass(frozen=True)
class ParsedUrl:
    scheme: str
    host: str
    port: int
    path: str


def check_url(url: str, local_mode: bool) -> ParsedUrl:
    """The URL rules that need no lookup (used at registration and before each fetch)."""
    if not isinstance(url, str) or len(url) > MAX_URL_LENGTH or not url.isascii():
        raise FetchRefused("not a URL the server fetches")
    if any(c.isspace() or ord(c) < 0x20 for c in url):
        raise FetchRefused("not a URL the server fetches")
    try:
        parts = urlsplit(url)  # ValueError on a bracketed host that is no IPv6 address
    except ValueError as exc:
        raise FetchRefused("not a URL the server fetches") from exc
    try:
        port = parts.port
    except ValueError as exc:
        raise FetchRefused("the URL has an invalid port") from exc
    host = (parts.hostname or "").lower()
    if parts.username is not None or parts.password is not None or parts.fragment or not host:
        raise FetchRefused("the URL must have a host and no user info or fragment")
    local_http = parts.scheme == "http" and local_mode and host == LOCAL_HTTP_HOST
    if parts.scheme != "https" and not local_http:
        raise FetchRefused("only https URLs are fetched")
    try:
        literal: IPAddress | None = ipaddress.ip_address(host)
    except ValueError:
        literal = None
    if literal is not None and not address_allowed(literal, local_mode):
        raise FetchRefused("the URL names an address the server never fetches")
    path = parts.path or "/"
    if parts.query:
        path += "?" + parts.query
    return ParsedUrl(parts.scheme, host, port or (443 if parts.scheme == "https" else 80), path)


class _Watchdog:
    """Shuts the connection down when the exchange's deadline passes. A per-read socket
    timeout alone never fires against a peer that sends one byte a second, in the TLS
    handshake, the status line or the headers (the body loop checks its own deadline)."""

    def __init__(self, seconds: float) -> None:
        self._lock = threading.Lock()
        self._watched: socket.socket | None = None
        self.fired = False
        self._timer = threading.Timer(seconds, self._fire)
        self._timer.daemon = True
        self._timer.start()

    def watch(self, sock: socket.socket) -> None:
        """Watch a duplicate of the socket's descriptor: it outlives the TLS wrapping
        (which detaches the original) and shutting it down ends every read on it."""
        with self._lock:
            self._watched = sock.dup()
            if self.fired:
                self._shut()

    def _fire(self) -> None:
        with self._lock:
            self.fired = True
            self._shut()

    def _shut(self) -> None:
        if self._watched is not None:
            with contextlib.suppress(OSError):  # already closed
                self._watched.shutdown(socket.SHUT_RDWR)

    def stop(self) -> None:
        self._timer.cancel()
        with self._lock:
            if self._watched is not None:
                self._watched.close()
                self._watched = None


class _PinnedHTTPSConnection(http.client.HTTPSConnection):
    """Connects to the checked address, verifies the certificate for the host name."""

    def __init__(
        self, target: Target, timeout: float, context: ssl.SSLContext, watchdog: _Watchdog
    ) -> None:
        super().__init__(target.host, target.port, timeout=timeout, context=context)
        self._address = target.address
        self._tls = context
        self._watchdog = watchdog

    def connect(self) -> None:
        sock = socket.create_connection((self._address, self.port), self.timeout)
        self._watchdog.watch(sock)
        self.sock = self._tls.wrap_socket(sock, server_hostname=self.host)


class _PinnedHTTPConnection(http.client.HTTPConnection):
    def __init__(self, target: Target, timeout: float, watchdog: _Watchdog) -> None:
        super().__init__(target.host, target.port, timeout=timeout)
        self._address = target.address
        self._watchdog = watchdog

    def connect(self) -> None:
        self.sock = socket.create_connection((self._address, self.port), self.timeout)
        self._watchdog.watch(self.sock)


class HttpConnector:
    """The real connector: http.client to the pinned address, never following redirects
    itself, reading at most ``max_bytes + 1`` bytes within the deadline."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._tls = ssl.create_default_context()

    def __call__(self, target: Target, timeout: float, max_bytes: int) -> Response:
        deadline = self._clock() + timeout
        watchdog = _Watchdog(timeout)
        connection: http.client.HTTPConnection = (
            _PinnedHTTPSConnection(target, timeout, self._tls, watchdog)
            if target.scheme == "https" else _PinnedHTTPConnection(target, timeout, watchdog)
        )
        try:
            connection.request("GET", target.path, headers={
                "Accept": "application/json, application/jwk-set+json",
                "User-Agent": "m2m-auth-jwks/1",
            })
            reply = connection.getresponse()
            headers = {k.lower(): v for k, v in reply.getheaders()}
            declared = headers.get("content-length", "")
            if declared.isdigit() and int(declared) > max_bytes:
                raise FetchFailed("response too large")
            body = bytearray()
            while True:
                if self._clock() > deadline:
                    raise FetchFailed("response too slow")
                chunk = reply.read1(8192)
                if not chunk:
                    break
                body.extend(chunk)
                if len(body) > max_bytes:
                    raise FetchFailed("response too large")
            if watchdog.fired:  # the body ended because the deadline cut it short
                raise FetchFailed("response too slow")
            return Response(reply.status, headers, bytes(body))
        except (OSError, http.client.HTTPException) as exc:
            raise FetchFailed(f"fetch failed: {type(exc).__name__}") from exc
        finally:
            watchdog.stop()
            connection.close()


class SafeFetcher:
    """GET a JSON document from a URL that passes :func:`check_url` and the address guard."""

    def __init__(
        self,
        local_mode: bool,
        resolver: Resolver = system_resolver,
        connector: Connector | None = None,
        timeout: float = TIMEOUT_SECONDS,
        max_bytes: int = MAX_BODY_BYTES,
    ) -> None:
        self._local_mode = local_mode
        self._resolve = resolver
        self._connect: Connector = connector or HttpConnector()
        self._timeout = timeout
        self._max_bytes = max_bytes

    def target(self, url: str) -> Target:
        """Check the URL and resolve its host; every address must be allowed."""
        parsed = check_url(url, self._local_mode)
        try:
            ipaddress.ip_address(parsed.host)
            addresses = [parsed.host]
        except ValueError:
            addresses = self._resolve(parsed.host, parsed.port)
        if not addresses:
            raise FetchFailed(f"{parsed.host} has no address")
        for address in addresses:
            try:
                checked = ipaddress.ip_address(address.split("%", 1)[0])
            except ValueError as exc:
                raise FetchRefused("the host resolved to something not an address") from exc
            if not address_allowed(checked, self._local_mode):
                log.warning("refused fetch host=%s reason=non-public address", parsed.host)
                raise FetchRefused("the host resolves to an address the server never fetches")
        return Target(parsed.scheme, parsed.host, parsed.port, parsed.path, addresses[0])

    def get_json(self, url: str) -> tuple[dict[str, Any], Mapping[str, str]]:
        """The JSON object at ``url`` and the response headers."""
        current = url
        for _ in range(MAX_REDIRECTS + 1):
            target = self.target(current)
            response = self._connect(target, self._timeout, self._max_bytes)
            if len(response.body) > self._max_bytes:
                raise FetchFailed("response too large")
            if response.status in (301, 302, 303, 307, 308):
                location = response.headers.get("location", "")
                following = urljoin(current, location)
                moved = check_url(following, self._local_mode)
                if (moved.scheme, moved.host, moved.port) != (
                    target.scheme, target.host, target.port
                ):
                    raise FetchRefused("redirect to another host")
                current = following
                continue
            if response.status != 200:
                raise FetchFailed(f"HTTP {response.status}")
            try:
                document = json.loads(response.body)
            except (ValueError, UnicodeDecodeError, RecursionError) as exc:
                raise FetchFailed("not JSON") from exc  # RecursionError: nested too deep
            if not isinstance(document, dict):
                raise FetchFailed("not a JSON object")
            return document, response.headers
        raise FetchFailed("too many redirects")
