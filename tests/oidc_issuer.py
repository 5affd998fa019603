"""A test OpenID provider served on loopback: discovery document, JWKS, and workload
tokens it signs (like GitHub Actions, EKS or AWS outbound federation would).

Served on ``http://127.0.0.1:<port>``, which only local mode accepts as an issuer.
Its misbehaviours (oversized, drip-fed, redirecting key sets) are switches, so the
fetcher's limits can be shown against a real socket.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from chalicelib.tokens.jwk import public_jwk


@dataclass
class IssuerBehaviour:
    cache_control: str = "public, max-age=600"
    jwks_padding: int = 0
    """Extra bytes in the key set (oversized responses)."""
    chunked: bool = False
    """Send the key set without Content-Length."""
    drip_seconds: float = 0.0
    """Pause between chunks of the key set (slow responses)."""
    redirect_to: str | None = None
    """Answer the JWKS path with a 302 to this URL."""
    status: int = 200
    requests: list[str] = field(default_factory=list)


class TestIssuer:
    """Signs workload tokens with its RSA (and one EC) key; serves its keys."""

    __test__ = False  # not a pytest class

    def __init__(self, port: int) -> None:
        self.issuer = f"http://127.0.0.1:{port}"
        self.rsa = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.ec = ec.generate_private_key(ec.SECP256R1())
        self.kids = {"rsa": "rsa-1", "ec": "ec-1"}
        self.behaviour = IssuerBehaviour()
        self.served_keys: list[dict[str, Any]] | None = None

    @property
    def jwks_uri(self) -> str:
        return f"{self.issuer}/jwks"

    def jwks(self) -> dict[str, Any]:
        if self.served_keys is not None:
            return {"keys": self.served_keys}
        return {"keys": [
            {**public_jwk(self.rsa.public_key()), "kid": self.kids["rsa"], "use": "sig"},
            {**public_jwk(self.ec.public_key()), "kid": self.kids["ec"], "use": "sig"},
        ]}

    def token(
        self,
        subject: str,
        audience: str | list[str],
        lifetime: int = 300,
        now: float | None = None,
        alg: str = "RS256",
        kid: str | None = None,
        headers: dict[str, Any] | None = None,
        **claims: Any,
    ) -> str:
        issued = int(time.time() if now is None else now)
        payload: dict[str, Any] = {
            "iss": self.issuer, "sub": subject, "aud": audience,
            "iat": issued, "nbf": issued, "exp": issued + lifetime,
            "jti": uuid.uuid4().hex, **claims,
        }
        payload = {k: v for k, v in payload.items() if v is not None}
        key = self.ec if alg.startswith("ES") else self.rsa
        default_kid = self.kids["ec" if alg.startswith("ES") else "rsa"]
        return jwt.encode(payload, key, algorithm=alg,
                          headers={"kid": kid or default_kid, **(headers or {})})


def _handler(issuer: TestIssuer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

        def do_GET(self) -> None:  # noqa: N802 - http.server's name
            behaviour = issuer.behaviour
            behaviour.requests.append(self.path)
            if self.path == "/.well-known/openid-configuration":
                self._json({"issuer": issuer.issuer, "jwks_uri": issuer.jwks_uri,
                            "id_token_signing_alg_values_supported": ["RS256", "ES256"]})
            elif self.path == "/jwks":
                if behaviour.redirect_to:
                    self.send_response(302)
                    self.send_header("Location", behaviour.redirect_to)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                document = issuer.jwks()
                if behaviour.jwks_padding:
                    document["padding"] = "x" * behaviour.jwks_padding
                self._json(document, behaviour.status, behaviour.cache_control)
            elif self.path == "/jwks-moved":
                self._json(issuer.jwks())
            else:
                self._json({"error": "not found"}, 404)

        def _json(self, document: Any, status: int = 200, cache: str | None = None) -> None:
            body = json.dumps(document).encode()
            behaviour = issuer.behaviour
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            if cache:
                self.send_header("Cache-Control", cache)
            if behaviour.chunked or behaviour.drip_seconds:
                self.send_header("Connection", "close")
                self.end_headers()
                for start in range(0, len(body), 256):
                    self.wfile.write(body[start:start + 256])
                    self.wfile.flush()
                    if behaviour.drip_seconds:
                        time.sleep(behaviour.drip_seconds)
                return
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    return Handler


@contextmanager
def serve_issuer() -> Iterator[TestIssuer]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), BaseHTTPRequestHandler)
    issuer = TestIssuer(server.server_address[1])
    server.RequestHandlerClass = _handler(issuer)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield issuer
    finally:
        server.shutdown()
        server.server_close()
