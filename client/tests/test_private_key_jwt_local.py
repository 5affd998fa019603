"""End to end against the local server: an app with no secret registers public keys with
`m2m apps keys add`, then a real OAuth client library (Authlib's `PrivateKeyJWT`) and
`TokenClient(credentials=PrivateKeyJwt(...))` get tokens that verify with PyJWT's
PyJWKClient (RFC 7523 §2.2 private_key_jwt)."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jwt
import pytest
from click.testing import CliRunner, Result
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from m2m_localserver import LocalServer, local_server, offline_aws

from m2m_client import PrivateKeyJwt, TokenClient, TokenEndpointError
from m2m_client.cli import cli

pytestmark = pytest.mark.e2e

AUDIENCE = "https://api.example.com/pkjwt-e2e"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalServer]:
    with pytest.MonkeyPatch.context() as mp:
        offline_aws(mp)
        with local_server(tmp_path_factory.mktemp("pkjwt")) as running:
            yield running


@pytest.fixture(autouse=True)
def aws_env(server: LocalServer, monkeypatch: pytest.MonkeyPatch) -> None:
    offline_aws(monkeypatch)
    monkeypatch.setenv("M2M_ENDPOINT", server.base)


def m2m(*args: str, code: int = 0) -> Result:
    result = CliRunner().invoke(cli, list(args), catch_exceptions=False)
    assert result.exit_code == code, (result.stdout, result.stderr)
    return result


def m2m_json(*args: str) -> Any:
    return json.loads(m2m(*args, "--json").stdout)


def verify_with_pyjwkclient(server: LocalServer, token: str) -> dict[str, Any]:
    signing_key = jwt.PyJWKClient(server.base + "/.well-known/jwks.json")
    key = signing_key.get_signing_key_from_jwt(token).key
    claims: dict[str, Any] = jwt.decode(token, key, algorithms=["RS256", "ES256"],
                                        audience=AUDIENCE, issuer=server.base)
    return claims


def secretless_app(tmp_path: Path, pub: dict[str, Any]) -> str:
    """`m2m apps create --no-secret`, a grant, and `m2m apps keys add --jwk-file`."""
    api = _api_exists() or m2m_json("apis", "create", "--name", "pkjwt e2e", "--identifier",
                                    AUDIENCE, "--scope", "things:read")
    app = m2m_json("apps", "create", "--name", "keyed job", "--no-secret")
    assert "client_secret" not in app and app["secrets"] == []
    m2m("grants", "set", app["client_id"], api["id"], "--scope", "things:read")
    jwk_file = tmp_path / "pub.json"
    jwk_file.write_text(json.dumps(pub))
    added = m2m_json("apps", "keys", "add", app["client_id"], "--jwk-file", str(jwk_file))
    assert added["kid"] == pub["kid"]
    return str(app["client_id"])


def _api_exists() -> dict[str, Any] | None:
    items = m2m_json("apis", "list", "--all")["items"]
    return next((a for a in items if a["identifier"] == AUDIENCE), None)


def test_authlib_private_key_jwt_gets_a_token_that_verifies(
    server: LocalServer, tmp_path: Path
) -> None:
    from authlib.integrations.requests_client import OAuth2Session
    from authlib.oauth2.rfc7523 import PrivateKeyJWT

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption())
    client_id = secretless_app(tmp_path, PrivateKeyJwt("x" * 26, key, kid="authlib-1")
                               .public_jwk())
    token_url = server.base + "/oauth/token"

    def session() -> OAuth2Session:
        # Authlib puts the token endpoint URL in `aud` unless told otherwise, and signs for
        # an hour: name the issuer as the audience and a short exp explicitly.
        auth = PrivateKeyJWT(token_endpoint=server.base,
                             claims={"exp": int(time.time()) + 120},
                             headers={"kid": "authlib-1"})
        return OAuth2Session(client_id, pem, token_endpoint_auth_method=auth)

    oauth = session()
    token = oauth.fetch_token(token_url, grant_type="client_credentials", audience=AUDIENCE)

    claims = verify_with_pyjwkclient(server, token["access_token"])
    assert claims["client_id"] == claims["sub"] == client_id
    assert claims["scope"] == "things:read"
    # Authlib keeps the jti it generated in the claims dict it was given, so the same
    # session's next request replays the assertion: refused as invalid_client.
    from authlib.integrations.base_client import OAuthError

    with pytest.raises(OAuthError) as replay:
        oauth.fetch_token(token_url, grant_type="client_credentials", audience=AUDIENCE)
    assert replay.value.error == "invalid_client"
    assert session().fetch_token(token_url, grant_type="client_credentials",
                                 audience=AUDIENCE)["access_token"]


def test_token_client_with_private_key_jwt_gets_tokens_until_the_key_is_removed(
    server: LocalServer, tmp_path: Path
) -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    client_id = secretless_app(tmp_path, PrivateKeyJwt("x" * 26, key, kid="tc-1").public_jwk())
    credentials = PrivateKeyJwt(client_id, key, kid="tc-1")

    # the issuer is discovered from the server's metadata (its token_endpoint matches)
    with TokenClient(server.base + "/oauth/token", client_id, audience=AUDIENCE,
                     credentials=credentials) as client:
        first = client.get_token()
        client.invalidate()
        second = client.get_token()  # a fresh assertion: accepted, not a replay

        assert second == first  # the server reuses the token it already issued (issue 9)
        for token in (first, second):
            assert verify_with_pyjwkclient(server, token)["client_id"] == client_id

        listed = m2m_json("apps", "keys", "list", client_id)["items"]
        assert [k["kid"] for k in listed] == ["tc-1"]
        m2m("apps", "keys", "remove", client_id, "tc-1", "--yes")
        client.invalidate()
        with pytest.raises(TokenEndpointError) as refused:
            client.get_token()
        assert refused.value.error == "invalid_client"
