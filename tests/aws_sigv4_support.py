"""SigV4 test kit for AWS IAM client authentication: fixed credentials, a fixed signing
clock, a signer that can tamper, and a fake STS that checks signatures the way STS does
(moto checks none), by recomputing them with botocore's own SigV4Auth."""

from __future__ import annotations

import datetime
import json
import secrets
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from unittest import mock

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from m2m_client.aws_iam import encode_assertion

from chalicelib.oauth.aws_sigv4 import BODY, StsReply, StsRequest, StsUnreachable

ISSUER = "https://auth.example.test/v1"
REGION = "us-east-1"
ACCOUNT = "123456789012"
SIGNED_AT = datetime.datetime(2027, 1, 15, 12, 0, 0, tzinfo=datetime.UTC)
NOW = int(SIGNED_AT.timestamp())
ROLE_CREDENTIALS = Credentials("ASIAROLEEXAMPLE0001", "role-secret-key", "role-session-token")
USER_CREDENTIALS = Credentials("AKIAUSEREXAMPLE0001", "user-secret-key")
ROLE_ARN = f"arn:aws:iam::{ACCOUNT}:role/service/Billing"
ASSUMED_ARN = f"arn:aws:sts::{ACCOUNT}:assumed-role/Billing/lambda-session"
USER_ARN = f"arn:aws:iam::{ACCOUNT}:user/ci/deployer"


@contextmanager
def signing_clock(when: datetime.datetime = SIGNED_AT) -> Iterator[None]:
    """botocore's SigV4 signer reads the time from ``get_current_datetime``."""
    with mock.patch("botocore.auth.get_current_datetime", return_value=when):
        yield


def sign(
    credentials: Credentials = ROLE_CREDENTIALS,
    *,
    issuer: str | None = ISSUER,
    region: str = REGION,
    url: str | None = None,
    body: str = BODY,
    extra: Mapping[str, str] | None = None,
    when: datetime.datetime = SIGNED_AT,
    nonce: str | None = None,
) -> dict[str, str]:
    """Headers of a GetCallerIdentity request signed with botocore (possibly tampered:
    another URL, body or region, no server-identity header, extra signed headers)."""
    headers = {"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"}
    if nonce != "":  # "" signs without a nonce, None with a random one
        headers["X-M2M-Auth-Nonce"] = nonce or secrets.token_urlsafe(16)
    if issuer is not None:
        headers["X-M2M-Auth-Server-ID"] = issuer
    headers.update(extra or {})
    request = AWSRequest(method="POST", url=url or f"https://sts.{region}.amazonaws.com/",
                         data=body, headers=headers)
    with signing_clock(when):
        SigV4Auth(credentials, "sts", region).add_auth(request)
    return {k: str(v) for k, v in request.headers.items()}


def assertion_of(headers: Mapping[str, str], body: str = BODY) -> str:
    if body == BODY:
        return encode_assertion(dict(headers))
    import base64

    raw = json.dumps({"headers": dict(headers), "body": body}).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def assertion_repeating(
    headers: Mapping[str, str], name: str, first: object, *, in_headers: bool
) -> str:
    """The assertion of ``headers`` with the member ``name`` given twice, in the document
    (``in_headers=False``) or in its ``headers``: first ``first``, then the real value, the
    one a parser that keeps the last duplicate would use."""
    import base64

    if in_headers:
        inner = "{" + json.dumps(name) + ": " + json.dumps(first) + ", " + json.dumps(
            dict(headers))[1:]
        text = '{"headers": ' + inner + ', "body": ' + json.dumps(BODY) + "}"
    else:
        text = "{" + json.dumps(name) + ": " + json.dumps(first) + ", " + json.dumps(
            {"headers": dict(headers), "body": BODY})[1:]
    assert json.loads(text) == {"headers": dict(headers), "body": BODY}  # last one wins
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def signed_headers_of(request: StsRequest) -> list[str]:
    authorization = dict(request.headers)["Authorization"]
    return authorization.split("SignedHeaders=")[1].split(",")[0].split(";")


def reproduce_authorization(request: StsRequest, credentials: Credentials) -> str:
    """What STS computes: the SigV4 Authorization of exactly the signed headers of the
    rebuilt request, its URL and body, at its X-Amz-Date, with the caller's secret."""
    headers = dict(request.headers)
    signed = signed_headers_of(request)
    by_name = {k.lower(): v for k, v in headers.items()}
    copy = AWSRequest(
        method="POST", url=request.url, data=request.body,
        headers={name: by_name[name] for name in signed
                 if name not in ("x-amz-date", "x-amz-security-token")},
    )
    when = datetime.datetime.strptime(by_name["x-amz-date"], "%Y%m%dT%H%M%SZ").replace(
        tzinfo=datetime.UTC
    )
    with signing_clock(when):
        SigV4Auth(credentials, "sts", request.region).add_auth(copy)
    return str(copy.headers["Authorization"])


def json_reply(arn: str, account: str = ACCOUNT) -> StsReply:
    body = {"GetCallerIdentityResponse": {
        "GetCallerIdentityResult": {"Arn": arn, "Account": account, "UserId": "AROAEXAMPLE"},
        "ResponseMetadata": {"RequestId": "r-1"},
    }}
    return StsReply(200, "application/json", json.dumps(body).encode())


def error_reply(status: int, code: str) -> StsReply:
    body = {"Error": {"Code": code, "Message": "no", "Type": "Sender"}, "RequestId": "r-1"}
    return StsReply(status, "application/json", json.dumps(body).encode())


XML_REPLY = StsReply(200, "text/xml", (
    f"<GetCallerIdentityResponse><GetCallerIdentityResult><Arn>{ASSUMED_ARN}</Arn>"
    f"<Account>{ACCOUNT}</Account></GetCallerIdentityResult></GetCallerIdentityResponse>"
).encode())


@dataclass
class SignatureCheckingSts:
    """A fake STS: answers for known access keys when the signature reproduces, 403
    SignatureDoesNotMatch otherwise; or fails the way it is told to."""

    identities: dict[str, tuple[Credentials, str]] = field(default_factory=lambda: {
        ROLE_CREDENTIALS.access_key: (ROLE_CREDENTIALS, ASSUMED_ARN),
        USER_CREDENTIALS.access_key: (USER_CREDENTIALS, USER_ARN),
    })
    calls: list[StsRequest] = field(default_factory=list)
    answer: StsReply | None = None
    down: bool = False

    def call(self, request: StsRequest) -> StsReply:
        self.calls.append(request)
        if self.down:
            raise StsUnreachable("connection refused")
        if self.answer is not None:
            return self.answer
        authorization = dict(request.headers)["Authorization"]
        key = authorization.split("Credential=")[1].split("/")[0]
        if key not in self.identities:
            return error_reply(403, "InvalidClientTokenId")
        credentials, arn = self.identities[key]
        if reproduce_authorization(request, credentials) != authorization:
            return error_reply(403, "SignatureDoesNotMatch")
        return json_reply(arn)
