"""The HTTP side of ``make local``: chalice's local server, one request at a time, with
request lines logged without their query strings.

**One request at a time.** ``chalice local`` serves every connection on its own thread,
and our app was written for Lambda, where a container handles one event at a time: its
lazily built services and caches are shared by every request of the process, and the
embedded moto it talks to is not thread-safe either (``TransactWriteItems`` copies and
restores the whole table without a lock, so racing admin requests got spurious 503s and
a fourth and fifth active secret without an audit record). The handler therefore runs
the app under one process-wide lock, which makes local mode behave like one Lambda
container: requests are still accepted concurrently (each connection keeps its thread,
and reading a request body or writing a response happens outside the lock, so a slow or
idle keep-alive client blocks nobody), but only one at a time runs app code. The app
never calls itself over HTTP, so the lock cannot deadlock. It costs nothing that
matters: moto and the GIL already made concurrent requests run one after the other.

**Logs.** ``BaseHTTPRequestHandler`` logs the raw request line, query string included,
and its errors quote that line. A client that puts its secret in the query (which the
token endpoint refuses, RFC 6749 §2.3.1) would leave it in the log, so only the method,
the path and the status are logged.
"""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler
from typing import Any

from chalice.app import Chalice
from chalice.config import Config
from chalice.local import (
    ChaliceRequestHandler,
    LocalDevServer,
    ThreadedHTTPServer,
)

from infra.local_gateway import LocalGateway, ReceivedHeaders

APP_LOCK = threading.Lock()


class SerialisedGateway(LocalGateway):
    """Our API Gateway emulation (unknown paths answered as the deployed gateway
    does, infra/local_gateway.py) running the authorizer and view under `APP_LOCK`."""

    def handle_request(
        self, method: str, path: str, headers: dict[str, Any], body: bytes | None
    ) -> Any:
        with APP_LOCK:
            return super().handle_request(method=method, path=path, headers=headers, body=body)


class LocalRequestHandler(ChaliceRequestHandler):
    """chalice's request handler with a serialised gateway and query-free log lines."""

    def __init__(
        self, request: Any, client_address: Any, server: Any, app_object: Chalice, config: Config
    ) -> None:
        # What ChaliceRequestHandler.__init__ does, with our gateway: the request is
        # handled inside BaseHTTPRequestHandler.__init__, so the gateway comes first.
        # On the TLS port (infra/local_tls.py) the connection's client certificate goes
        # into every event of the connection, as API Gateway's mutual TLS forwards it.
        from infra.local_mtls import peer_certificate

        self.local_gateway = SerialisedGateway(
            app_object, config, client_certificate=peer_certificate(request)
        )
        BaseHTTPRequestHandler.__init__(self, request, client_address, server)

    def _parse_payload(self) -> tuple[Any, bytes | None]:
        """Chalice's, keeping every value of a repeated header field (its ``dict`` of
        the headers keeps the first only)."""
        _, body = super()._parse_payload()
        return ReceivedHeaders(list(self.headers.items())), body

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        self.log_message('"%s" %s %s', self._loggable_request_line(), getattr(code, "value", code),
                         size)

    def log_error(self, format: str, *args: Any) -> None:
        # Its messages quote the raw request line (e.g. "Bad request syntax ('GET /?...')").
        code = args[0] if args and isinstance(args[0], int) else "-"
        self.log_message("refused %s: %s", code, self._loggable_request_line())

    def _loggable_request_line(self) -> str:
        command = getattr(self, "command", None)
        path = getattr(self, "path", None)
        version = getattr(self, "request_version", None)
        if not command or not isinstance(path, str):
            return "<unparsable request line>"
        return f"{command} {path.split('?', 1)[0]} {version}"


class LocalHTTPServer(ThreadedHTTPServer):
    """chalice's threaded server with a listen backlog for bursts of clients: with
    chalice's 5, a burst of 20 new connections overflows the accept queue and some
    clients are reset."""

    request_queue_size = 128


def build_server(
    app: Chalice, config: Config, host: str, port: int,
    server_cls: type[LocalHTTPServer] = LocalHTTPServer,
) -> LocalDevServer:
    """chalice's `LocalDevServer` with `LocalRequestHandler` and `LocalHTTPServer`.

    chalice's own `create_local_server` also makes ``app.current_request`` thread-local;
    under `APP_LOCK` only one request at a time runs app code, so it cannot cross
    between requests either way.
    """
    return LocalDevServer(
        app, config, host, port, handler_cls=LocalRequestHandler, server_cls=server_cls
    )
