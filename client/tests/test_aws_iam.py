"""`AwsIam`: a fresh, unique, server-bound signed GetCallerIdentity per call, from
botocore's credential chain (no network: nothing is sent)."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
from botocore.credentials import Credentials
from botocore.session import Session

from m2m_client import AwsIam, TokenError
from m2m_client.aws_iam import ASSERTION_TYPE, BODY

ISSUER = "https://auth.example.com"


def session(credentials: Credentials | None) -> Session:
    s = Session()
    s.get_credentials = lambda: credentials  # type: ignore[method-assign]
    return s


def decode(assertion: str) -> dict[str, Any]:
    assert "=" not in assertion
    document: dict[str, Any] = json.loads(base64.urlsafe_b64decode(
        assertion + "=" * (-len(assertion) % 4)))
    return document


def test_assertion_is_the_documented_wire_format() -> None:
    iam = AwsIam("eu-west-1", session=session(Credentials("ASIAEXAMPLE0000001", "s", "tok")))

    document = decode(iam.assertion(ISSUER))

    assert iam.assertion_type == ASSERTION_TYPE
    assert set(document) == {"headers", "body"} and document["body"] == BODY
    headers = document["headers"]
    assert set(headers) == {"Authorization", "X-Amz-Date", "X-Amz-Security-Token",
                            "X-M2M-Auth-Server-ID", "X-M2M-Auth-Nonce", "Content-Type"}
    assert headers["X-M2M-Auth-Server-ID"] == ISSUER
    assert headers["X-Amz-Security-Token"] == "tok"
    assert "/eu-west-1/sts/aws4_request" in headers["Authorization"]
    assert ("SignedHeaders=content-type;host;x-amz-date;x-amz-security-token;"
            "x-m2m-auth-nonce;x-m2m-auth-server-id,") in headers["Authorization"]


def test_every_assertion_is_new() -> None:
    iam = AwsIam("us-east-1", session=session(Credentials("AKIAEXAMPLE0000001", "s")))

    first, second = decode(iam.assertion(ISSUER)), decode(iam.assertion(ISSUER))

    assert first["headers"]["X-M2M-Auth-Nonce"] != second["headers"]["X-M2M-Auth-Nonce"]
    assert first["headers"]["Authorization"] != second["headers"]["Authorization"]


def test_region_defaults_to_aws_region(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_REGION", "ap-southeast-2")

    iam = AwsIam(session=session(Credentials("AKIAEXAMPLE0000001", "s")))

    assert "/ap-southeast-2/sts/" in decode(iam.assertion(ISSUER))["headers"]["Authorization"]


def test_no_credentials_is_a_token_error() -> None:
    with pytest.raises(TokenError):
        AwsIam("us-east-1", session=session(None)).assertion(ISSUER)


def test_repr_shows_no_credentials() -> None:
    iam = AwsIam("us-east-1", session=session(Credentials("AKIAEXAMPLE0000001", "secret")))

    assert "AKIA" not in repr(iam) and "secret" not in repr(iam)
