"""Key rotation against the real server (issue 5): one Verifier instance, never restarted,
accepts tokens of the key the server rotates to, and keeps accepting the previous key's
tokens while the server still publishes it."""

from __future__ import annotations

import time
from collections.abc import Iterator

import jwt
import pytest
import requests
from m2m_localserver import LocalServer, local_server, offline_aws

from m2m_client import CachePolicy, HttpResponse, RequestsFetcher, TokenClient, Verifier
from m2m_client.admin_http import AdminClient, admin_path

pytestmark = pytest.mark.e2e

AUDIENCE = "https://api.example.com/rotation"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalServer]:
    with pytest.MonkeyPatch.context() as mp:
        offline_aws(mp)
        with local_server(tmp_path_factory.mktemp("rotation")) as running:
            yield running


class OffsetClock:
    """Real time plus an offset the test moves forward (the verifier's clock only)."""

    def __init__(self) -> None:
        self.offset = 0.0

    def __call__(self) -> float:
        return time.time() + self.offset


class CountingFetcher:
    def __init__(self) -> None:
        self.urls: list[str] = []
        self._inner = RequestsFetcher()

    def __call__(self, url: str) -> HttpResponse:
        self.urls.append(url)
        return self._inner(url)


def test_verifier_follows_a_rotation_without_restart(
    server: LocalServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    offline_aws(monkeypatch)  # the admin client signs with fake credentials; local ignores them
    admin = AdminClient.from_aws_config(server.base)
    assert admin.signed
    api = admin.post(admin_path("apis"), {
        "name": "Rotation", "identifier": AUDIENCE,
        "scopes": [{"value": "things:read", "description": "Read things"}],
    })
    app = admin.post(admin_path("apps"), {"name": "rotation test"})
    admin.put(admin_path("apps", app["client_id"], "grants", api["id"]),
              {"scopes": ["things:read"]})

    def new_token() -> str:
        with TokenClient(server.base + "/oauth/token", app["client_id"], app["client_secret"],
                         AUDIENCE) as client:
            return client.get_token()

    clock, fetcher = OffsetClock(), CountingFetcher()
    verifier = Verifier(issuer=server.base, audience=AUDIENCE, fetch=fetcher, clock=clock)
    policy = CachePolicy()  # the verifier's defaults, which the timings below rely on

    old_token = new_token()
    old_kid = jwt.get_unverified_header(old_token)["kid"]
    verified = verifier.verify(old_token, required_scopes=["things:read"])
    assert verified.client_id == app["client_id"]
    jwks_url = server.base + "/.well-known/jwks.json"
    assert fetcher.urls.count(jwks_url) == 1  # found through the RFC 8414 metadata

    # the server registers a next key and rotates to it
    next_key = admin.post(admin_path("keys"), {"kms_key_id": server.create_kms_key()})
    rotated = admin.post(admin_path("keys", "rotate"))["items"]
    assert {k["kid"]: k["state"] for k in rotated} == {
        next_key["kid"]: "current", old_kid: "previous",
    }
    new_token_value = new_token()
    assert jwt.get_unverified_header(new_token_value)["kid"] == next_key["kid"]
    published = requests.get(jwks_url, timeout=5).json()
    assert {k["kid"] for k in published["keys"]} == {old_kid, next_key["kid"]}

    # Time passes (the unknown-kid refetch is rate-limited to one per 30 s, so a flood of
    # forged kids cannot hammer the JWKS endpoint). The same instance, with its cached key
    # set still fresh (max-age 600), meets a kid it does not know and refetches once.
    clock.offset = policy.min_refresh_interval + 1
    assert verifier.verify(new_token_value).client_id == app["client_id"]
    assert fetcher.urls.count(jwks_url) == 2
    # the previous key's token is still accepted while the server publishes that key
    assert verifier.verify(old_token).jwt_id == verified.jwt_id
    assert verifier.verify(new_token_value).client_id == app["client_id"]
    assert fetcher.urls.count(jwks_url) == 2  # both keys now cached: no more fetches
