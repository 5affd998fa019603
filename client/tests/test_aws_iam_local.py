"""End to end, no secret anywhere: an IAM role of the local server's embedded AWS (moto)
is registered with `m2m apps aws-principal add`, and `TokenClient(credentials=AwsIam())`
signs GetCallerIdentity with the role's session credentials; the server rebuilds the
request, asks moto's STS who signed it, and issues a token that PyJWT's PyJWKClient
verifies. moto checks no signature: tests/unit/test_aws_sigv4.py shows the rebuilt
request's signature is exact."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import boto3
import jwt
import pytest
from botocore.session import Session as BotocoreSession
from click.testing import CliRunner, Result
from m2m_localserver import DEMO_AUDIENCE, LocalServer, local_server, offline_aws

from m2m_client import AwsIam, TokenClient, TokenEndpointError
from m2m_client.cli import cli

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalServer]:
    with pytest.MonkeyPatch.context() as mp:
        offline_aws(mp)
        with local_server(tmp_path_factory.mktemp("awsiam")) as running:
            yield running


@pytest.fixture(autouse=True)
def aws_env(server: LocalServer, monkeypatch: pytest.MonkeyPatch) -> None:
    offline_aws(monkeypatch)
    monkeypatch.setenv("M2M_ENDPOINT", server.base)


def m2m(*args: str) -> Result:
    result = CliRunner().invoke(cli, list(args), catch_exceptions=False)
    assert result.exit_code == 0, f"m2m {args}: {result.stdout}\n{result.stderr}"
    return result


def m2m_json(*args: str) -> Any:
    return json.loads(m2m(*args, "--json").stdout)


def role_session(server: LocalServer, name: str) -> tuple[str, BotocoreSession]:
    """A role in the embedded IAM, and a botocore session holding its assumed credentials
    (what a Lambda function's runtime gets from its execution role)."""
    kwargs: dict[str, Any] = {"endpoint_url": server.moto_endpoint, "region_name": "us-east-1"}
    role = boto3.client("iam", **kwargs).create_role(
        RoleName=name, Path="/service-role/", AssumeRolePolicyDocument="{}"
    )["Role"]
    credentials = boto3.client("sts", **kwargs).assume_role(
        RoleArn=role["Arn"], RoleSessionName="lambda"
    )["Credentials"]
    session = BotocoreSession()
    session.set_credentials(credentials["AccessKeyId"], credentials["SecretAccessKey"],
                            credentials["SessionToken"])
    return str(role["Arn"]), session


def new_app(name: str) -> str:
    app = m2m_json("apps", "create", "--name", name, "--no-secret")
    assert "client_secret" not in app
    api = next(a for a in m2m_json("apis", "list", "--all")["items"]
               if a["identifier"] == DEMO_AUDIENCE)
    m2m("grants", "set", app["client_id"], api["id"], "--scope", "orders:read")
    return str(app["client_id"])


def verify(server: LocalServer, token: str) -> dict[str, Any]:
    jwks = jwt.PyJWKClient(server.base + "/.well-known/jwks.json", cache_keys=False)
    claims: dict[str, Any] = jwt.decode(
        token, jwks.get_signing_key_from_jwt(token).key, algorithms=["RS256"],
        audience=DEMO_AUDIENCE, issuer=server.base,
    )
    return claims


def test_lambda_role_gets_a_verifiable_token_with_no_secret(server: LocalServer) -> None:
    # GIVEN an app that lists a role (added with the CLI), and that role's session
    client_id = new_app("Billing Lambda")
    role_arn, session = role_session(server, "billing-lambda")
    added = m2m_json("apps", "aws-principal", "add", client_id, role_arn)
    assert added["arn"] == role_arn

    # WHEN the token client authenticates as the role
    with TokenClient(server.base + "/oauth/token", client_id=client_id,
                     credentials=AwsIam("us-east-1", session=session),
                     audience=DEMO_AUDIENCE) as client:
        token = client.get_token()
        client.invalidate()
        second = client.get_token()  # a fresh signature per fetch (each is single-use)

    # THEN both tokens are the app's and verify against the server's JWKS
    for value in (token, second):
        claims = verify(server, value)
        assert claims["client_id"] == client_id and claims["scope"] == "orders:read"


def test_removed_principal_gets_invalid_client(server: LocalServer) -> None:
    client_id = new_app("Reports Lambda")
    role_arn, session = role_session(server, "reports-lambda")
    m2m("apps", "aws-principal", "add", client_id, role_arn)
    listed = m2m_json("apps", "aws-principal", "list", client_id)["items"]
    assert [p["arn"] for p in listed] == [role_arn]

    m2m("apps", "aws-principal", "remove", client_id, role_arn, "--yes")

    assert m2m_json("apps", "aws-principal", "list", client_id)["items"] == []
    with TokenClient(server.base + "/oauth/token", client_id=client_id,
                     credentials=AwsIam("us-east-1", session=session),
                     audience=DEMO_AUDIENCE) as client, pytest.raises(TokenEndpointError) as info:
        client.get_token()
    assert info.value.error == "invalid_client"
