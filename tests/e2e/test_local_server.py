"""End to end: start the service the way ``make local`` does, get tokens with a real
OAuth client library (requests-oauthlib) using Basic and post client authentication,
run the printed curl, and verify every token with PyJWT's PyJWKClient."""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import jwt
import pytest
import requests
from oauthlib.oauth2 import BackendApplicationClient
from requests_oauthlib import OAuth2Session

PROJECT = Path(__file__).resolve().parents[2]
AUDIENCE = "https://api.example.com/orders"

pytestmark = pytest.mark.e2e


@dataclass
class LocalServer:
    base: str
    client_id: str
    client_secret: str
    curl: str
    banner: str


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalServer]:
    port = _free_port()
    log_path = tmp_path_factory.mktemp("local") / "out.txt"
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_ENDPOINT_URL")}
    env["PORT"] = str(port)
    with open(log_path, "w") as out:
        proc = subprocess.Popen(  # noqa: S603 - our own module, fixed arguments
            [sys.executable, "-m", "infra.local"], cwd=PROJECT, env=env,
            stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            text = log_path.read_text()
            if "Press Ctrl-C" in text:
                try:
                    requests.get(base + "/.well-known/jwks.json", timeout=2)
                    break
                except requests.ConnectionError:
                    pass
            if proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"local server did not start:\n{text}")
            time.sleep(0.3)
        client_id = re.search(r"client_id\s+(\S+)", text)
        client_secret = re.search(r"client_secret\s+(\S+)", text)
        curl = re.search(r"^\s*(curl .+)$", text, re.MULTILINE)
        assert client_id and client_secret and curl, text
        yield LocalServer(base, client_id[1], client_secret[1], curl[1], text)
    finally:
        os.killpg(proc.pid, signal.SIGINT)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)


def _verify(server: LocalServer, token: str) -> dict[str, object]:
    jwks = jwt.PyJWKClient(server.base + "/.well-known/jwks.json", cache_keys=False)
    signing_key = jwks.get_signing_key_from_jwt(token)
    claims: dict[str, object] = jwt.decode(
        token, signing_key.key, algorithms=["RS256"], audience=AUDIENCE, issuer=server.base
    )
    return claims


def test_banner_says_loopback_only_and_iam_is_not_enforced(server: LocalServer) -> None:
    assert f"Serving on {server.base}" in server.banner
    assert "IAM is NOT enforced" in server.banner


def test_real_oauth_client_gets_a_verifiable_token_with_basic_auth(
    server: LocalServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OAUTHLIB_INSECURE_TRANSPORT", "1")  # http on loopback only
    session = OAuth2Session(client=BackendApplicationClient(client_id=server.client_id))
    token = session.fetch_token(
        token_url=server.base + "/oauth/token",
        client_id=server.client_id, client_secret=server.client_secret,
        audience=AUDIENCE,
    )
    assert token["token_type"] == "Bearer"
    claims = _verify(server, token["access_token"])
    assert claims["client_id"] == server.client_id and claims["scope"] == "orders:read"


def test_real_oauth_client_gets_a_verifiable_token_with_post_auth(
    server: LocalServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OAUTHLIB_INSECURE_TRANSPORT", "1")
    session = OAuth2Session(client=BackendApplicationClient(client_id=server.client_id))
    token = session.fetch_token(
        token_url=server.base + "/oauth/token",
        client_id=server.client_id, client_secret=server.client_secret,
        include_client_id=True, audience=AUDIENCE, scope=["orders:read"],
    )
    assert _verify(server, token["access_token"])["scp"] == ["orders:read"]


@pytest.mark.skipif(shutil.which("curl") is None, reason="curl is not installed")
def test_printed_curl_returns_a_token_that_verifies(server: LocalServer) -> None:
    result = subprocess.run(  # noqa: S602 - the exact command the banner tells users to paste
        server.curl, shell=True, capture_output=True, text=True, timeout=30, check=True
    )
    token = requests.models.complexjson.loads(result.stdout)["access_token"]
    assert _verify(server, token)["aud"] == AUDIENCE


def test_metadata_issuer_matches_token_issuer(server: LocalServer) -> None:
    doc = requests.get(server.base + "/.well-known/oauth-authorization-server", timeout=5).json()
    assert doc["issuer"] == server.base
    assert doc["token_endpoint"] == server.base + "/oauth/token"


@pytest.mark.skipif(not Path("/proc/net/tcp").exists(), reason="needs Linux /proc")
def test_server_listens_on_loopback_only(server: LocalServer) -> None:
    port = int(server.base.rsplit(":", 1)[1])
    listening = []
    for path in ("/proc/net/tcp", "/proc/net/tcp6"):
        if not Path(path).exists():
            continue
        for line in Path(path).read_text().splitlines()[1:]:
            local, state = line.split()[1], line.split()[3]
            address, port_hex = local.rsplit(":", 1)
            if int(port_hex, 16) == port and state == "0A":  # 0A = LISTEN
                listening.append(address)
    assert listening, "the server socket was not found"
    assert set(listening) == {"0100007F"}, f"listening on {listening}, not only 127.0.0.1"


# -- answers Chalice and its local gateway would give themselves (issue 8 §1.3) ----------


def _assert_oauth_error(response: requests.Response, status: int) -> dict[str, object]:
    assert response.status_code == status, response.text
    assert response.headers["Content-Type"] == "application/json"
    assert response.headers["Cache-Control"] == "no-store"
    assert response.headers["Pragma"] == "no-cache"
    body: dict[str, object] = response.json()
    assert set(body) == {"error", "error_description"}
    return body


def _assert_problem(response: requests.Response, status: int, slug: str) -> dict[str, object]:
    assert response.status_code == status, response.text
    assert response.headers["Content-Type"] == "application/problem+json"
    assert response.headers["Cache-Control"] == "no-store"
    body: dict[str, object] = response.json()
    assert body["type"] == f"urn:m2m-auth:problem:{slug}" and body["status"] == status
    return body


@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE"])
def test_other_methods_with_a_form_type_get_an_oauth_405(server: LocalServer, method: str) -> None:
    response = requests.request(
        method, server.base + "/oauth/token", data="grant_type=client_credentials",
        headers={"Content-Type": "application/x-www-form-urlencoded"}, timeout=5,
    )
    _assert_oauth_error(response, 405)
    assert response.headers["Allow"] == "POST"


@pytest.mark.parametrize("path", ["/.well-known/jwks.json", "/admin/apps"])
def test_get_with_a_text_content_type_is_served(server: LocalServer, path: str) -> None:
    response = requests.get(server.base + path, headers={"Content-Type": "text/plain"}, timeout=5)
    assert response.status_code == 200, response.text


@pytest.mark.parametrize("method", ["PUT", "OPTIONS"])
def test_unregistered_admin_methods_get_a_405_problem(server: LocalServer, method: str) -> None:
    response = requests.request(method, server.base + "/admin/apps", timeout=5)
    _assert_problem(response, 405, "method-not-allowed")
    assert {m.strip() for m in response.headers["Allow"].split(",")} == {"GET", "POST"}


@pytest.mark.parametrize("auth", [None, ("someone", "a-secret-value")])
def test_unknown_paths_get_the_gateway_404_without_echoing_credentials(
    server: LocalServer, auth: tuple[str, str] | None
) -> None:
    response = requests.get(server.base + "/no/such/path", auth=auth, timeout=5)
    assert response.status_code == 404
    assert response.headers["Content-Type"] == "application/json"
    assert response.headers["Cache-Control"] == "no-store"
    body = response.json()
    assert body["error"] == "invalid_request" and body["type"].endswith(":not-found")
    assert body["status"] == 404 and body["title"] and body["detail"]
    assert "a-secret-value" not in response.text and "c29tZW9uZ" not in response.text
