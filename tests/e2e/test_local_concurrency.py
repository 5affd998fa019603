"""Local mode under concurrency, against the real local server (``python -m infra.local``).

chalice local serves every connection on its own thread and moto's DynamoDB is not
thread-safe (``TransactWriteItems`` copies and restores the whole table without a lock).
Local mode serialises both, so racing admin requests behave as they do on AWS."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from tests.e2e.local_process import LocalProcess, local_server

pytestmark = pytest.mark.e2e

RACERS = 20
ROUNDS = 3
FILLER_APPS = 30
SENTINEL_SECRET = "m2msec_QUERYSTRINGSENTINELmustneverbelogged0000000"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalProcess]:
    with local_server(tmp_path_factory.mktemp("local") / "out.txt") as running:
        yield running


def test_racing_secret_creations_keep_at_most_three_active_secrets_each_audited(
    server: LocalProcess,
) -> None:
    # GIVEN a table with some apps in it: moto's TransactWriteItems copies the whole
    # table, so without serialisation a fuller table loses the race more often
    for n in range(FILLER_APPS):
        filler = requests.post(
            server.base + "/admin/apps", json={"name": f"Filler {n}"}, timeout=30
        )
        assert filler.status_code == 201, filler.text
    for _ in range(ROUNDS):
        _race_secret_creations(server)


def _race_secret_creations(server: LocalProcess) -> None:
    # GIVEN an app with its first secret
    created = requests.post(server.base + "/admin/apps", json={"name": "Racer"}, timeout=30)
    assert created.status_code == 201, created.text
    client_id = created.json()["client_id"]
    first_secret = created.json()["secret_id"]
    url = f"{server.base}/admin/apps/{client_id}/secrets"
    start = threading.Barrier(RACERS)

    def add_secret(_: int) -> requests.Response:
        start.wait()
        return requests.post(url, json={}, timeout=120)

    # WHEN 20 clients add a secret at once
    with ThreadPoolExecutor(RACERS) as pool:
        responses = list(pool.map(add_secret, range(RACERS)))

    # THEN each answer is a creation or a proper 409 problem, never a 5xx
    statuses = sorted(r.status_code for r in responses)
    assert set(statuses) <= {201, 409}, statuses
    for refused in (r for r in responses if r.status_code == 409):
        assert refused.headers["Content-Type"].startswith("application/problem+json")
        assert refused.json()["status"] == 409
    new_ids = {r.json()["secret_id"] for r in responses if r.status_code == 201}
    assert 1 <= len(new_ids) <= 2, statuses
    # ... at most three secrets are active: the first and those created, no other
    app = requests.get(f"{server.base}/admin/apps/{client_id}", timeout=30).json()
    active = {s["secret_id"] for s in app["secrets"]}
    assert len(active) <= 3, statuses
    assert active == new_ids | {first_secret}
    # ... and every creation that succeeded has its audit record, and no other does
    audit = requests.get(server.base + "/admin/audit?limit=200", timeout=30).json()["items"]
    audited = {
        record["changes"]["secret_id"]
        for record in audit
        if record["action"] == "secret.create" and record["target"].startswith(f"app/{client_id}/")
    }
    assert audited == new_ids


def test_request_log_lines_leave_out_the_query_string(server: LocalProcess) -> None:
    # GIVEN a client that puts its secret in the query (refused, RFC 6749 §2.3.1)
    answer = requests.post(
        server.base + f"/oauth/token?client_secret={SENTINEL_SECRET}&grant_type=client_credentials",
        data={"grant_type": "client_credentials"}, timeout=30,
    )
    assert answer.status_code == 400
    # ... and a request line the server cannot even parse (its error quotes the line)
    with socket.create_connection(("127.0.0.1", server.port), timeout=30) as raw:
        raw.sendall(f"GET /x?client_secret={SENTINEL_SECRET} HTTP/1.1 HTTP/1.1\r\n\r\n".encode())
        assert b" 400 " in raw.recv(4096)
    # WHEN the server has logged the requests
    marker = requests.get(server.base + "/.well-known/jwks.json?after=marker", timeout=30)
    assert marker.status_code == 200
    output = server.output()
    request_log = output.split("Press Ctrl-C to stop.", 1)[1]  # after the banner
    # THEN the path is logged, its query is not
    assert '"POST /oauth/token HTTP/1.1" 400' in request_log
    assert '"GET /.well-known/jwks.json HTTP/1.1" 200' in request_log
    assert "<unparsable request line>" in request_log
    assert SENTINEL_SECRET not in output
    assert "client_secret" not in request_log
    assert "marker" not in request_log
