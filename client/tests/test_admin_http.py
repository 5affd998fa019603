"""The admin client's HTTP: SigV4 for execute-api (checked against an independent
implementation of the signing process), credentials and region resolution, errors."""

from __future__ import annotations

import datetime
import hashlib
import hmac
import json
from collections.abc import Mapping
from pathlib import Path
from urllib.parse import urlsplit

import botocore.auth
import pytest
import requests
from m2m_localserver import offline_aws
from m2m_testkit import Reply, ScriptedAdapter, session_with

from m2m_client.admin_http import (
    USER_AGENT,
    AdminClient,
    ApiError,
    ConfigurationError,
    TransportError,
    admin_path,
    check_endpoint,
    region_from_host,
)

ACCESS_KEY = "AKIDEXAMPLE"
SECRET_KEY = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
ENDPOINT = "https://abc123defg.execute-api.eu-west-1.amazonaws.com/dev"
HOST = "abc123defg.execute-api.eu-west-1.amazonaws.com"
NOW = datetime.datetime(2026, 1, 2, 3, 4, 5)
AMZ_DATE = "20260102T030405Z"
ACCEPT = "application/json, application/problem+json"


# --- an independent SigV4 (https://docs.aws.amazon.com/IAM/latest/UserGuide/create-signed-request.html)


def reference_signature(
    *,
    method: str,
    path: str,
    query: str,
    headers: Mapping[str, str],
    payload: bytes,
    amz_date: str,
    region: str,
    service: str,
    secret_key: str,
) -> str:
    """SigV4 by the book: `headers` are the signed ones, lower-case names; `query` is
    already canonical (sorted, RFC 3986-encoded); `path` needs no encoding."""
    names = sorted(headers)
    canonical_request = "\n".join([
        method,
        path,
        query,
        "".join(f"{name}:{' '.join(headers[name].split())}\n" for name in names),
        ";".join(names),
        hashlib.sha256(payload).hexdigest(),
    ])
    date = amz_date[:8]
    scope = f"{date}/{region}/{service}/aws4_request"
    string_to_sign = "\n".join([
        "AWS4-HMAC-SHA256",
        amz_date,
        scope,
        hashlib.sha256(canonical_request.encode()).hexdigest(),
    ])

    def mac(key: bytes, message: str) -> bytes:
        return hmac.new(key, message.encode(), hashlib.sha256).digest()

    key = mac(("AWS4" + secret_key).encode(), date)
    for part in (region, service, "aws4_request"):
        key = mac(key, part)
    return hmac.new(key, string_to_sign.encode(), hashlib.sha256).hexdigest()


def test_reference_implementation_matches_the_aws_test_suite() -> None:
    """AWS SigV4 test suite, `get-vanilla`: proves the reference above is right."""
    signature = reference_signature(
        method="GET", path="/", query="",
        headers={"host": "example.amazonaws.com", "x-amz-date": "20150830T123600Z"},
        payload=b"", amz_date="20150830T123600Z", region="us-east-1", service="service",
        secret_key=SECRET_KEY,
    )
    assert signature == "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"


# --- fixtures -------------------------------------------------------------------------------


@pytest.fixture(autouse=True)
def aws(monkeypatch: pytest.MonkeyPatch) -> None:
    """The known credential set, a fixed signing time, and nothing that reaches AWS."""
    offline_aws(monkeypatch)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", ACCESS_KEY)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET_KEY)
    monkeypatch.delenv("AWS_SESSION_TOKEN")
    monkeypatch.delenv("AWS_REGION")  # AWS_DEFAULT_REGION=us-east-1 stays: the host must win
    # botocore.auth reads the clock through botocore.compat.get_current_datetime
    monkeypatch.setattr(botocore.auth, "get_current_datetime", lambda *a, **k: NOW)


def client_with(*replies: Reply | Exception, endpoint: str = ENDPOINT, **kwargs: str) -> tuple[
    AdminClient, ScriptedAdapter
]:
    adapter = ScriptedAdapter(*replies)
    client = AdminClient.from_aws_config(endpoint, session=session_with(adapter), **kwargs)
    return client, adapter


def authorization(request: requests.PreparedRequest) -> dict[str, str]:
    value = request.headers["Authorization"]
    algorithm, _, rest = value.partition(" ")
    assert algorithm == "AWS4-HMAC-SHA256"
    return dict(part.strip().split("=", 1) for part in rest.split(","))


# --- SigV4 ----------------------------------------------------------------------------------


def test_get_is_signed_for_execute_api_in_the_hosts_region() -> None:
    client, adapter = client_with(Reply(200, {"items": [], "next": None}))
    assert client.get(admin_path("apis"), {"limit": 2, "next": "abc+def="}) == {
        "items": [], "next": None,
    }
    [sent] = adapter.sent
    assert sent.url == f"{ENDPOINT}/admin/apis?limit=2&next=abc%2Bdef%3D"
    assert sent.headers["X-Amz-Date"] == AMZ_DATE
    assert "X-Amz-Security-Token" not in sent.headers
    auth = authorization(sent)
    assert auth["Credential"] == f"{ACCESS_KEY}/20260102/eu-west-1/execute-api/aws4_request"
    assert auth["SignedHeaders"] == "accept;host;x-amz-date"  # never user-agent (botocore)
    assert sent.headers["User-Agent"] == USER_AGENT
    assert auth["Signature"] == reference_signature(
        method="GET", path="/dev/admin/apis", query="limit=2&next=abc%2Bdef%3D",
        headers={"accept": ACCEPT, "host": HOST, "x-amz-date": AMZ_DATE},
        payload=b"", amz_date=AMZ_DATE, region="eu-west-1", service="execute-api",
        secret_key=SECRET_KEY,
    )


def test_a_json_body_and_if_match_are_signed() -> None:
    client, adapter = client_with(Reply(200, {"id": "api_1", "version": 3}))
    client.patch(admin_path("apis", "api_1"), {"name": "Orders"}, if_match=2)
    [sent] = adapter.sent
    body = b'{"name":"Orders"}'
    assert sent.body == body and sent.method == "PATCH"
    assert sent.headers["If-Match"] == '"2"'
    auth = authorization(sent)
    assert auth["SignedHeaders"] == "accept;content-type;host;if-match;x-amz-date"
    assert auth["Signature"] == reference_signature(
        method="PATCH", path="/dev/admin/apis/api_1", query="",
        headers={"accept": ACCEPT, "content-type": "application/json", "host": HOST,
                 "if-match": '"2"', "x-amz-date": AMZ_DATE},
        payload=body, amz_date=AMZ_DATE, region="eu-west-1", service="execute-api",
        secret_key=SECRET_KEY,
    )


def test_the_signature_changes_with_the_secret_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "another-secret")
    client, adapter = client_with(Reply(200, {}))
    client.get(admin_path("keys"))
    expected_with_the_known_key = reference_signature(
        method="GET", path="/dev/admin/keys", query="",
        headers={"accept": ACCEPT, "host": HOST, "x-amz-date": AMZ_DATE},
        payload=b"", amz_date=AMZ_DATE, region="eu-west-1", service="execute-api",
        secret_key=SECRET_KEY,
    )
    assert authorization(adapter.sent[0])["Signature"] != expected_with_the_known_key


def test_temporary_credentials_sign_the_session_token(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_SESSION_TOKEN", "session-token-value")
    client, adapter = client_with(Reply(204, raw=b""))
    assert client.post(admin_path("keys", "rotate")) is None
    [sent] = adapter.sent
    assert sent.headers["X-Amz-Security-Token"] == "session-token-value"
    auth = authorization(sent)
    assert auth["SignedHeaders"] == "accept;host;x-amz-date;x-amz-security-token"
    assert auth["Signature"] == reference_signature(
        method="POST", path="/dev/admin/keys/rotate", query="",
        headers={"accept": ACCEPT, "host": HOST, "x-amz-date": AMZ_DATE,
                 "x-amz-security-token": "session-token-value"},
        payload=b"", amz_date=AMZ_DATE, region="eu-west-1", service="execute-api",
        secret_key=SECRET_KEY,
    )


def test_a_profile_supplies_credentials_and_region(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    credentials = tmp_path / "credentials"
    credentials.write_text("[admin]\naws_access_key_id = AKIDPROFILE\n"
                           "aws_secret_access_key = profile-secret\n")
    config = tmp_path / "config"
    config.write_text("[profile admin]\nregion = ap-southeast-2\n")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(credentials))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(config))
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_DEFAULT_REGION"):
        monkeypatch.delenv(name)
    # a custom domain: no region in the host name, so the profile's applies
    client, adapter = client_with(Reply(200, {}), endpoint="https://auth.example.com",
                                  profile="admin")
    client.get(admin_path("audit"))
    auth = authorization(adapter.sent[0])
    assert auth["Credential"] == "AKIDPROFILE/20260102/ap-southeast-2/execute-api/aws4_request"
    assert auth["Signature"] == reference_signature(
        method="GET", path="/admin/audit", query="",
        headers={"accept": ACCEPT, "host": "auth.example.com", "x-amz-date": AMZ_DATE},
        payload=b"", amz_date=AMZ_DATE, region="ap-southeast-2", service="execute-api",
        secret_key="profile-secret",
    )


def test_an_empty_aws_profile_counts_as_unset(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_PROFILE", "")  # as the Makefile's offline environment sets it
    client, adapter = client_with(Reply(200, {}))
    client.get(admin_path("apps"))
    assert authorization(adapter.sent[0])["Credential"].startswith(f"{ACCESS_KEY}/")


def test_an_explicit_region_wins() -> None:
    client, adapter = client_with(Reply(200, {}), region="us-west-2")
    client.get(admin_path("apps"))
    assert "/us-west-2/execute-api/" in authorization(adapter.sent[0])["Credential"]


@pytest.mark.parametrize(
    ("url", "region"),
    [
        ("https://abc.execute-api.eu-west-1.amazonaws.com/dev", "eu-west-1"),
        ("https://abc.execute-api-fips.us-gov-west-1.amazonaws.com/", "us-gov-west-1"),
        ("https://abc.execute-api.cn-north-1.amazonaws.com.cn/prod", "cn-north-1"),
        ("https://abc-vpce-0123.execute-api.ap-south-1.vpce.amazonaws.com/x", "ap-south-1"),
        ("https://auth.example.com", None),
        ("https://execute-api.eu-west-1.amazonaws.com.evil.example", None),
        ("http://127.0.0.1:8000", None),
    ],
)
def test_region_from_host(url: str, region: str | None) -> None:
    assert region_from_host(url) == region


def test_no_region_for_a_custom_domain_is_a_configuration_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("AWS_DEFAULT_REGION")
    with pytest.raises(ConfigurationError, match="no AWS region"):
        AdminClient.from_aws_config("https://auth.example.com")


# --- without credentials --------------------------------------------------------------------


@pytest.fixture
def no_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.delenv(name)


@pytest.mark.usefixtures("no_credentials")
def test_no_credentials_goes_unsigned_to_loopback_only() -> None:
    client, adapter = client_with(Reply(200, {}), endpoint="http://127.0.0.1:8000")
    assert not client.signed
    client.get(admin_path("apis"))
    assert "Authorization" not in adapter.sent[0].headers
    with pytest.raises(ConfigurationError, match="no AWS credentials found"):
        AdminClient.from_aws_config(ENDPOINT)
    with pytest.raises(ConfigurationError):
        AdminClient.from_aws_config("http://localhost:8000", allow_unsigned_loopback=False)


def test_an_unknown_profile_is_a_configuration_error() -> None:
    with pytest.raises(ConfigurationError, match="no-such-profile"):
        AdminClient.from_aws_config(ENDPOINT, profile="no-such-profile")


@pytest.mark.parametrize(
    "endpoint",
    ["http://auth.example.com", "ftp://127.0.0.1", "https://", "https://x.example/?q=1"],
)
def test_endpoints_must_be_https_unless_loopback(endpoint: str) -> None:
    with pytest.raises(ConfigurationError):
        check_endpoint(endpoint)


def test_endpoint_trailing_slash_is_dropped() -> None:
    assert check_endpoint("http://localhost:8000/") == "http://localhost:8000"


# --- answers --------------------------------------------------------------------------------


def test_a_problem_becomes_an_api_error() -> None:
    problem = {
        "type": "urn:m2m-auth:problem:validation", "title": "Validation failed", "status": 400,
        "detail": "The request has invalid fields.",
        "errors": [{"field": "name", "message": "must be a non-empty string"}],
    }
    client, _ = client_with(Reply(400, problem, {"Content-Type": "application/problem+json"}))
    with pytest.raises(ApiError) as caught:
        client.post(admin_path("apis"), {"name": ""})
    error = caught.value
    assert (error.status, error.title, error.detail) == (400, "Validation failed",
                                                          "The request has invalid fields.")
    assert error.errors == [("name", "must be a non-empty string")]
    assert error.problem == problem
    assert str(error) == "HTTP 400: The request has invalid fields."


def test_an_api_gateway_message_becomes_the_detail() -> None:
    body = {"message": "The security token included in the request is invalid."}
    client, _ = client_with(Reply(403, body))
    with pytest.raises(ApiError) as caught:
        client.get(admin_path("apis"))
    assert caught.value.status == 403
    assert caught.value.detail == "The security token included in the request is invalid."


def test_redirects_are_not_followed() -> None:
    client, adapter = client_with(Reply(302, {}, {"Location": "https://elsewhere.example/"}))
    with pytest.raises(ApiError) as caught:
        client.get(admin_path("apis"))
    assert caught.value.status == 302 and len(adapter.sent) == 1


def test_connection_failures_are_transport_errors() -> None:
    client, _ = client_with(requests.ConnectionError("refused"))
    with pytest.raises(TransportError, match="ConnectionError"):
        client.get(admin_path("apis"))


def test_pages_follow_next_until_null() -> None:
    client, adapter = client_with(
        Reply(200, {"items": [1, 2], "next": "c1"}),
        Reply(200, {"items": [3], "next": None}),
    )
    assert [p["items"] for p in client.pages(admin_path("audit"), limit=2)] == [[1, 2], [3]]
    assert [urlsplit(r.url or "").query for r in adapter.sent] == ["limit=2", "limit=2&next=c1"]
    # each page is signed on its own
    assert all("Signature=" in r.headers["Authorization"] for r in adapter.sent)


def test_ids_are_percent_encoded_in_paths() -> None:
    assert admin_path("apps", "a/b c", "grants") == "/admin/apps/a%2Fb%20c/grants"


def test_repr_shows_no_credentials() -> None:
    client, _ = client_with(Reply(200, {}))
    assert SECRET_KEY not in repr(client) and ACCESS_KEY not in repr(client)
    assert SECRET_KEY not in repr(client.signer)
    assert json.dumps(repr(client))  # plain text
