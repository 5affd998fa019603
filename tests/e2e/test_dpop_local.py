"""End to end, DPoP (RFC 9449): the service as ``make local`` runs it, with server nonces
on, and the example Orders API under ``chalice local``, both on loopback.

An unchanged third-party client (requests-oauth2client's DPoP support) gets a
DPoP-bound token, answering the server's nonce challenge itself, and calls the Orders
API with it and its proofs; the same token without a proof, with a proof by another
key, or as a bearer token, is refused by the API. Our own TokenClient does the same.
Two DPoP header fields on the wire are refused (local mode hands them over as API
Gateway does)."""

from __future__ import annotations

import http.client
import json
import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlencode

import jwt
import pytest
import requests
from m2m_client import DpopKey, TokenClient
from requests_oauth2client import ClientSecretBasic, DPoPKey, DPoPToken, OAuth2Client

from tests.e2e.local_process import (
    PROJECT,
    LocalProcess,
    free_port,
    local_server,
    stop_process_group,
)

AUDIENCE = "https://api.example.com/orders"
EXAMPLE = PROJECT / "examples" / "orders_api"

pytestmark = pytest.mark.e2e


@dataclass
class Servers:
    auth: LocalProcess
    orders: str
    client_id: str
    client_secret: str

    @property
    def token_url(self) -> str:
        return self.auth.base + "/oauth/token"


def _demo_credentials(banner: str) -> tuple[str, str]:
    client_id = re.search(r"client_id\s+(\S+)", banner)
    secret = re.search(r"client_secret\s+(\S+)", banner)
    assert client_id and secret, banner
    return client_id[1], secret[1]


def _orders_api(issuer: str, port: int, log_path: Path) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_ENDPOINT_URL")}
    env.update(M2M_ISSUER=issuer, M2M_AUDIENCE=AUDIENCE,
               M2M_PUBLIC_ORIGIN=f"http://127.0.0.1:{port}")
    chalice = str(Path(sys.executable).with_name("chalice"))
    with open(log_path, "w") as out:
        return subprocess.Popen(  # noqa: S603 - the venv's chalice, fixed arguments
            [chalice, "local", "--no-autoreload", "--stage", "local", "--host", "127.0.0.1",
             "--port", str(port)],
            cwd=EXAMPLE, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
        )


@pytest.fixture(scope="module")
def servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Servers]:
    logs = tmp_path_factory.mktemp("dpop")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("DPOP_NONCES", "true")  # the local server inherits this environment
        with local_server(logs / "auth.txt") as auth:
            client_id, secret = _demo_credentials(auth.output())
            # the demo app may also write orders (the token asks for both scopes)
            grants = requests.get(f"{auth.base}/admin/apps/{client_id}/grants", timeout=10)
            api_id = grants.json()["items"][0]["api_id"]
            requests.put(f"{auth.base}/admin/apps/{client_id}/grants/{api_id}", timeout=10,
                         json={"scopes": ["orders:read", "orders:write"]}).raise_for_status()
            port = free_port()
            orders = _orders_api(auth.base, port, logs / "orders.txt")
            try:
                deadline = time.monotonic() + 60
                while True:
                    try:
                        requests.get(f"http://127.0.0.1:{port}/orders", timeout=2)
                        break
                    except requests.ConnectionError:
                        if orders.poll() is not None or time.monotonic() > deadline:
                            pytest.fail((logs / "orders.txt").read_text())
                        time.sleep(0.3)
                yield Servers(auth, f"http://127.0.0.1:{port}/orders", client_id, secret)
            finally:
                stop_process_group(orders)


def third_party_token(servers: Servers) -> DPoPToken:
    # testing=True: its one check that fails on loopback is "https only"
    client = OAuth2Client(token_endpoint=servers.token_url, testing=True,
                          auth=ClientSecretBasic(servers.client_id, servers.client_secret))
    token = client.client_credentials(scope="orders:read orders:write", dpop=True,
                                      audience=AUDIENCE)
    assert isinstance(token, DPoPToken)
    return token


def test_a_third_party_client_gets_a_dpop_token_and_calls_the_orders_api(
    servers: Servers,
) -> None:
    token = third_party_token(servers)  # answers the server's use_dpop_nonce itself

    claims = jwt.decode(token.access_token, options={"verify_signature": False})
    assert token.token_type == "DPoP"
    assert claims["cnf"] == {"jkt": token.dpop_key.dpop_jkt}
    created = requests.post(servers.orders, json={"item": "widget", "quantity": 2},
                            auth=token, timeout=10)
    assert created.status_code == 201, created.text
    listed = requests.get(servers.orders, auth=token, timeout=10)
    assert listed.status_code == 200, listed.text
    assert created.json() in listed.json()["orders"]


def test_the_same_token_without_its_proof_or_with_another_key_is_refused(
    servers: Servers,
) -> None:
    token = third_party_token(servers)
    thief = DPoPKey.generate()
    stolen_proof = str(thief.proof(htm="GET", htu=servers.orders,
                                   ath=_ath(token.access_token)))

    without = requests.get(servers.orders, timeout=10,
                           headers={"Authorization": f"DPoP {token.access_token}"})
    other_key = requests.get(servers.orders, timeout=10, headers={
        "Authorization": f"DPoP {token.access_token}", "DPoP": stolen_proof})
    as_bearer = requests.get(servers.orders, timeout=10,
                             headers={"Authorization": f"Bearer {token.access_token}"})

    for refused in (without, other_key):
        assert refused.status_code == 401, refused.text
        assert refused.headers["WWW-Authenticate"].startswith("DPoP ")
        assert refused.json()["error"] == "invalid_dpop_proof"
    assert "another key" in other_key.json()["error_description"]
    assert as_bearer.status_code == 401  # the authorizer refuses it (RFC 9449 §7.2)


def test_a_replayed_request_is_refused(servers: Servers) -> None:
    token = third_party_token(servers)
    proof = str(token.dpop_key.proof(htm="GET", htu=servers.orders,
                                     ath=_ath(token.access_token)))
    headers = {"Authorization": f"DPoP {token.access_token}", "DPoP": proof}

    first = requests.get(servers.orders, headers=headers, timeout=10)
    again = requests.get(servers.orders, headers=headers, timeout=10)

    assert (first.status_code, again.status_code) == (200, 401)
    assert "used before" in again.json()["error_description"]


def test_our_token_client_gets_a_dpop_token_through_the_nonce_and_calls_the_api(
    servers: Servers,
) -> None:
    key = DpopKey.generate()
    with TokenClient(servers.token_url, servers.client_id, servers.client_secret, AUDIENCE,
                     scope="orders:read", dpop_key=key) as client:
        response = requests.get(servers.orders, auth=client, timeout=10)

        assert client.token().token_type == "DPoP"
    assert response.status_code == 200, response.text


def test_two_dpop_header_fields_at_the_token_endpoint_are_refused(servers: Servers) -> None:
    key = DpopKey.generate()
    connection = http.client.HTTPConnection("127.0.0.1", servers.auth.port, timeout=10)
    body = urlencode({"grant_type": "client_credentials", "audience": AUDIENCE,
                      "client_id": servers.client_id, "client_secret": servers.client_secret})
    connection.putrequest("POST", "/oauth/token")
    connection.putheader("Content-Type", "application/x-www-form-urlencoded")
    connection.putheader("Content-Length", str(len(body)))
    for _ in range(2):
        connection.putheader("DPoP", key.proof("POST", servers.token_url))
    connection.endheaders(body.encode())
    response = connection.getresponse()

    answer = json.loads(response.read())
    connection.close()
    assert response.status == 400
    assert answer["error"] == "invalid_dpop_proof"
    assert "exactly one" in answer["error_description"]
    assert response.getheader("DPoP-Nonce")  # nonces are on: every response has one


def test_metadata_names_the_dpop_algorithms(servers: Servers) -> None:
    metadata = requests.get(servers.auth.base + "/.well-known/oauth-authorization-server",
                            timeout=10).json()

    assert "ES256" in metadata["dpop_signing_alg_values_supported"]


def _ath(token: str) -> str:
    from m2m_client.dpop import access_token_hash

    return access_token_hash(token)
