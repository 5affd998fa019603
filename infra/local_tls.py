"""The TLS port of ``make local`` (docs/mtls.md): the same app and handler as the plain
port, behind a TLS handshake that asks for a client certificate (``ssl.CERT_OPTIONAL``,
verified against the local truststore). The handshake runs in the connection's own
thread, never in the accept loop, so a slow or silent client blocks nobody; a failed
handshake (an untrusted certificate, plain HTTP on the TLS port) closes the connection
and is logged as one line."""

from __future__ import annotations

import contextlib
import socket
import ssl
import sys
from typing import Any

from infra.local_http import LocalHTTPServer

HANDSHAKE_TIMEOUT = 10.0


class TlsHTTPServer(LocalHTTPServer):
    """``LocalHTTPServer`` whose connections are TLS; ``context`` is set once built."""

    context: ssl.SSLContext | None = None

    def finish_request(self, request: Any, client_address: Any) -> None:
        if self.context is None:
            raise RuntimeError("TlsHTTPServer has no SSL context")
        request.settimeout(HANDSHAKE_TIMEOUT)
        try:
            connection = self.context.wrap_socket(request, server_side=True)
        except (ssl.SSLError, OSError) as exc:
            print(f"TLS handshake refused from {client_address[0]}: "
                  f"{getattr(exc, 'reason', None) or type(exc).__name__}", file=sys.stderr)
            return
        try:
            connection.settimeout(None)
            self.RequestHandlerClass(connection, client_address, self)
        finally:
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)
            connection.close()

