"""End to end, secretless: the local server (as `make local` starts it) trusts a test
OpenID provider served on loopback, registered with `m2m issuers add` and bound to an app
with `m2m apps federate`; `TokenClient(credentials=FederatedToken(path))` then gets a token
that verifies with PyJWT's PyJWKClient. Nothing leaves loopback."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jwt
import pytest
from click.testing import CliRunner
from m2m_client import FederatedToken, TokenClient, TokenEndpointError
from m2m_client.cli import cli

from tests.oidc_issuer import TestIssuer, serve_issuer

PROJECT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(PROJECT / "client" / "tests"))  # the shared local-server helper

from m2m_localserver import (  # noqa: E402
    DEMO_AUDIENCE,
    LocalServer,
    local_server,
    offline_aws,
)

pytestmark = pytest.mark.e2e

SUBJECT = "system:serviceaccount:billing:invoicer"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalServer]:
    with pytest.MonkeyPatch.context() as mp:
        offline_aws(mp)
        with local_server(tmp_path_factory.mktemp("federated")) as running:
            yield running


@pytest.fixture
def issuer() -> Iterator[TestIssuer]:
    with serve_issuer() as served:
        yield served


@pytest.fixture(autouse=True)
def aws_env(server: LocalServer, monkeypatch: pytest.MonkeyPatch) -> None:
    offline_aws(monkeypatch)
    monkeypatch.setenv("M2M_ENDPOINT", server.base)


def m2m_json(*args: str) -> Any:
    result = CliRunner().invoke(cli, [*args, "--json"], catch_exceptions=False)
    assert result.exit_code == 0, f"m2m {' '.join(args)}: {result.stdout}{result.stderr}"
    return json.loads(result.stdout)


def federated_app(issuer: TestIssuer, preset: str = "kubernetes",
                  subject: str = SUBJECT) -> str:
    """An app granted the demo API and federated with the issuer's workload, by the CLI."""
    api = next(a for a in m2m_json("apis", "list", "--all")["items"]
               if a["identifier"] == DEMO_AUDIENCE)
    client_id = str(m2m_json("apps", "create", "--name", "Federated workload")["client_id"])
    m2m_json("grants", "set", client_id, api["id"], "--scope", "orders:read")
    registered = m2m_json("issuers", "add", "--preset", preset, "--issuer", issuer.issuer)
    assert registered["jwks_uri"] == issuer.jwks_uri  # discovered over loopback
    m2m_json("apps", "federate", client_id, "--issuer", issuer.issuer, "--subject", subject)
    return client_id


def test_federated_token_from_a_file_gets_a_verifiable_access_token(
    server: LocalServer, issuer: TestIssuer, tmp_path: Path,
) -> None:
    # GIVEN a Kubernetes-like issuer trusted by the server and an app listing its workload
    client_id = federated_app(issuer)
    token_file = tmp_path / "token"
    token_file.write_text(issuer.token(SUBJECT, server.base))

    # WHEN the workload asks for a token with only its projected token file
    client = TokenClient(server.base + "/oauth/token", client_id, audience=DEMO_AUDIENCE,
                         credentials=FederatedToken(token_file))
    access_token = client.get_token()

    # THEN the token verifies against the server's published keys and names the app
    signing_key = jwt.PyJWKClient(server.base + "/.well-known/jwks.json") \
        .get_signing_key_from_jwt(access_token)
    claims = jwt.decode(access_token, signing_key.key, algorithms=["RS256", "ES256"],
                        audience=DEMO_AUDIENCE, issuer=server.base)
    assert claims["client_id"] == client_id
    assert claims["scope"] == "orders:read"

    # AND after the platform rotates the file, the next fetch sends the new token
    token_file.write_text(issuer.token(SUBJECT, server.base, alg="ES256"))
    again = TokenClient(server.base + "/oauth/token", client_id, audience=DEMO_AUDIENCE,
                        credentials=FederatedToken(token_file), issuer=server.base)
    assert again.get_token()


def test_single_use_issuer_refuses_a_replayed_workload_token(
    server: LocalServer, issuer: TestIssuer,
) -> None:
    client_id = federated_app(issuer, preset="oidc", subject="repo:acme/billing:ref:main")
    workload = issuer.token("repo:acme/billing:ref:main", server.base)

    def fetch() -> str:
        return TokenClient(server.base + "/oauth/token", client_id, audience=DEMO_AUDIENCE,
                           credentials=FederatedToken(lambda: workload),
                           issuer=server.base).get_token()

    assert fetch()
    with pytest.raises(TokenEndpointError) as refused:
        fetch()
    assert refused.value.error == "invalid_client"
