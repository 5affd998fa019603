"""`make local` serves the web console: its URL is in the banner, and the console reaches
the local server's admin routes, token endpoint and JWKS through the same proxy as
`m2m console`, unsigned (local mode has no IAM), with the same checks. No browser needed."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from m2m_localserver import DEMO_AUDIENCE, LocalServer, local_server, offline_aws

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalServer]:
    with pytest.MonkeyPatch.context() as mp:
        offline_aws(mp)
        mp.setenv("CONSOLE_PORT", "0")
        with local_server(Path(tmp_path_factory.mktemp("console-local"))) as running:
            yield running


def test_make_local_prints_the_console_url_and_the_console_reaches_the_local_server(
    server: LocalServer,
) -> None:
    found = re.search(r"Console\s+(http://127\.0\.0\.1:(\d+))/\?token=(\S+)", server.banner)
    assert found, server.banner
    origin, token = found[1], found[3]
    client_id = re.search(r"client_id\s+(\S+)", server.banner)
    secret = re.search(r"client_secret\s+(\S+)", server.banner)
    assert client_id and secret
    http = requests.Session()
    http.trust_env = False
    entry = http.get(f"{origin}/?token={token}", timeout=10, allow_redirects=False)
    assert entry.status_code == 303
    api = {"X-M2M-Console": "1"}
    apis = http.get(origin + "/admin/apis", headers=api, timeout=10)
    assert apis.status_code == 200
    assert [a["identifier"] for a in apis.json()["items"]] == [DEMO_AUDIENCE]
    answer = http.post(origin + "/oauth/token", headers=api, timeout=10, data={
        "grant_type": "client_credentials", "client_id": client_id[1],
        "client_secret": secret[1], "audience": DEMO_AUDIENCE})
    assert answer.status_code == 200, answer.text
    assert answer.json()["scope"] == "orders:read"
    assert http.get(origin + "/.well-known/jwks.json", headers=api, timeout=10).json()["keys"]
    # the same checks as m2m console
    assert http.get(origin + "/openapi.json", headers=api, timeout=10).status_code == 404
    assert requests.get(origin + "/admin/apis", headers=api, timeout=10).status_code == 401
    rebound = http.get(origin + "/admin/apis", timeout=10,
                       headers={**api, "Host": f"rebind.example:{found[2]}"})
    assert rebound.status_code == 403
