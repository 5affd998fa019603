"""End to end, mutual TLS (RFC 8705) on loopback: the service as ``make local`` runs it,
with its TLS port and test CA, and a resource server of our own over TLS that checks
tokens with m2m_client's Verifier against the certificate its TLS layer saw.

A client with certificate A authenticates by it alone (tls_client_auth, the demo app's
subject DN) and gets a certificate-bound token (``cnf.x5t#S256``); the resource server
accepts it on a connection made with A, and refuses it on a connection made with
certificate B (issued by the same CA, so the TLS layer accepts it) or with none; B is
not the demo app's certificate at the token endpoint either."""

from __future__ import annotations

import datetime
import json
import re
import ssl
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import jwt
import pytest
import requests
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from m2m_client import TokenClient, Verifier
from m2m_client.errors import BearerTokenError
from m2m_client.mtls import certificate_thumbprint

from infra.local_mtls import peer_certificate
from tests.e2e.local_process import PROJECT, LocalProcess, free_port, local_server

AUDIENCE = "https://api.example.com/orders"

pytestmark = pytest.mark.e2e


@dataclass
class Setup:
    auth: LocalProcess
    mtls_endpoint: str
    directory: Path
    client_id: str
    resource: str
    other: tuple[str, str]  # certificate B (PEM file, key file), same CA

    @property
    def ca(self) -> str:
        return str(self.directory / "ca.pem")

    @property
    def demo(self) -> tuple[str, str]:
        return (str(self.directory / "demo-client.pem"),
                str(self.directory / "demo-client-key.pem"))


def _issue(directory: Path, out: Path, subject: str) -> tuple[str, str]:
    """A client certificate from the local test CA (its key is in the directory, as
    docs/mtls.md says, for issuing more with openssl)."""
    ca_certificate = x509.load_pem_x509_certificate((directory / "ca.pem").read_bytes())
    ca_key = serialization.load_pem_private_key((directory / "ca-key.pem").read_bytes(), None)
    assert isinstance(ca_key, ec.EllipticCurvePrivateKey)
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.datetime.now(datetime.UTC)
    built = (x509.CertificateBuilder().subject_name(x509.Name.from_rfc4514_string(subject))
             .issuer_name(ca_certificate.subject).public_key(key.public_key())
             .serial_number(x509.random_serial_number())
             .not_valid_before(now - datetime.timedelta(minutes=1))
             .not_valid_after(now + datetime.timedelta(days=1))
             .add_extension(x509.ExtendedKeyUsage([x509.ExtendedKeyUsageOID.CLIENT_AUTH]),
                            critical=False)
             .sign(ca_key, hashes.SHA256()))
    cert, key_file = out / "other.pem", out / "other-key.pem"
    cert.write_bytes(built.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                           serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return str(cert), str(key_file)


def _resource_server(verifier: Verifier, directory: Path) -> ThreadingHTTPServer:
    """GET /orders over TLS: the Verifier checks the bearer token against the certificate
    of this very connection (what API Gateway forwards as requestContext.identity.clientCert)."""

    class Orders(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - http.server's name
            token = (self.headers.get("Authorization") or "").removeprefix("Bearer ")
            try:
                claims = verifier.verify(token, client_certificate=peer_certificate(
                    self.connection))
                status, body = 200, {"orders": [], "client_id": claims.get("client_id")}
            except BearerTokenError as exc:
                status, body = 401, {"error": exc.error, "error_description": str(exc)}
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Orders)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(directory / "server.pem", directory / "server-key.pem")
    context.load_verify_locations(cafile=str(directory / "ca.pem"))
    context.verify_mode = ssl.CERT_OPTIONAL
    server.socket = context.wrap_socket(server.socket, server_side=True)
    return server


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Setup]:
    logs = tmp_path_factory.mktemp("mtls")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("MTLS_PORT", str(free_port()))
        mp.setenv("CONSOLE_PORT", "0")
        with local_server(logs / "auth.txt") as auth:
            banner = auth.output()
            endpoint = re.search(r"the same app on (https://127\.0\.0\.1:\d+)", banner)
            files = re.search(r"certificates are in (\S+)/\)", banner)
            found = re.search(r"client_id\s+(\S+)", banner)
            assert endpoint and files and found, banner
            directory, client_id = PROJECT / files[1], found[1]
            verifier = Verifier(auth.base, AUDIENCE, f"{auth.base}/.well-known/jwks.json")
            resource = _resource_server(verifier, directory)
            thread = threading.Thread(target=resource.serve_forever, daemon=True)
            thread.start()
            try:
                yield Setup(auth, endpoint[1], directory, client_id,
                            f"https://127.0.0.1:{resource.server_address[1]}/orders",
                            _issue(directory, logs, "CN=another-worker,O=Example Corp"))
            finally:
                resource.shutdown()
                resource.server_close()


def _token(s: Setup, certificate: tuple[str, str]) -> str:
    session = requests.Session()
    session.verify = s.ca
    session.trust_env = False  # else REQUESTS_CA_BUNDLE replaces the test CA
    client = TokenClient(s.mtls_endpoint + "/oauth/token", s.client_id, audience=AUDIENCE,
                         client_certificate=certificate, session=session)
    return client.get_token()


def _orders(s: Setup, token: str, certificate: tuple[str, str] | None) -> requests.Response:
    return requests.get(s.resource, headers={"Authorization": f"Bearer {token}"},
                        cert=certificate, verify=s.ca, timeout=10)


def test_a_certificate_bound_token_works_only_with_its_certificate(setup: Setup) -> None:
    # GIVEN a token the demo app got by certificate A alone (no secret sent)
    token = _token(setup, setup.demo)
    claims = jwt.decode(token, options={"verify_signature": False})
    assert claims["cnf"] == {"x5t#S256": certificate_thumbprint(
        Path(setup.demo[0]).read_text())}
    assert claims["client_id"] == setup.client_id

    # WHEN the resource server sees it on a connection with certificate A, THEN it passes
    mine = _orders(setup, token, setup.demo)
    assert mine.status_code == 200, mine.text
    assert mine.json()["client_id"] == setup.client_id

    # WHEN it comes over a connection with certificate B (trusted by TLS) or none,
    # THEN the Verifier refuses it: invalid_token
    for certificate, reason in ((setup.other, "another TLS client certificate"),
                                (None, "did not present")):
        refused = _orders(setup, token, certificate)
        assert refused.status_code == 401, refused.text
        assert refused.json()["error"] == "invalid_token"
        assert reason in refused.json()["error_description"]


def test_certificate_b_is_not_the_demo_apps_certificate_at_the_token_endpoint(
    setup: Setup,
) -> None:
    # B is from the same CA but names another subject DN than the app registered
    answer = requests.post(setup.mtls_endpoint + "/oauth/token", cert=setup.other,
                           verify=setup.ca, timeout=10,
                           data={"grant_type": "client_credentials",
                                 "client_id": setup.client_id, "audience": AUDIENCE})
    assert answer.status_code == 401
    assert answer.json()["error"] == "invalid_client"
