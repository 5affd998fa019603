"""A workload-token issuer on loopback (an OpenID provider's discovery document and key
set), for the console's trusted-issuer pages against the local server, whose local mode
accepts http://127.0.0.1 issuers. Nothing leaves the machine."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import ec


@dataclass
class LoopbackIssuer:
    issuer: str
    kids: tuple[str, ...]

    @property
    def jwks_uri(self) -> str:
        return f"{self.issuer}/keys"


@contextmanager
def loopback_issuer(kids: tuple[str, ...] = ("cluster-key-1", "cluster-key-2")
                    ) -> Iterator[LoopbackIssuer]:
    """Serve `/.well-known/openid-configuration` and `/keys` (public EC keys) on
    127.0.0.1 until the block ends."""
    keys = []
    for kid in kids:
        public = ec.generate_private_key(ec.SECP256R1()).public_key()
        jwk = json.loads(jwt.get_algorithm_by_name("ES256").to_jwk(public))
        keys.append({**jwk, "kid": kid, "alg": "ES256", "use": "sig"})
    found: dict[str, LoopbackIssuer] = {}

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

        def do_GET(self) -> None:  # noqa: N802 - http.server's name
            issuer = found["issuer"]
            documents = {
                "/.well-known/openid-configuration": {"issuer": issuer.issuer,
                                                      "jwks_uri": issuer.jwks_uri},
                "/keys": {"keys": keys},
            }
            document = documents.get(self.path)
            body = json.dumps(document if document is not None else {"error": "nf"}).encode()
            self.send_response(200 if document is not None else 404)
            self.send_header("Content-Type", "application/json")
            self.send_header("Cache-Control", "public, max-age=600")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    found["issuer"] = LoopbackIssuer(f"http://127.0.0.1:{server.server_address[1]}", kids)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield found["issuer"]
    finally:
        server.shutdown()
        server.server_close()
