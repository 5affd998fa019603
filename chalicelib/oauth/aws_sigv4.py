"""AWS IAM client authentication: a SigV4-signed ``sts:GetCallerIdentity`` request as the
client assertion (RFC 7521 §4.2 extension type; wire format in docs/aws-iam-auth.md).

Built against CVE-2020-16250 (HashiCorp Vault's AWS auth trusted the client's URL, Host
and headers): the server never forwards what the client sent. It *reconstructs* the
request — method POST, its own regional STS URL for a region on its allow-list, the
fixed body — and copies only allow-listed headers, each of which must be covered by the
signature. The signature must cover ``X-M2M-Auth-Server-ID`` holding our issuer
identifier (a request signed for another deployment cannot be replayed here) and be
recent. Only a JSON STS answer is read. This module is pure: the HTTP call is the
injected :class:`StsCaller`.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import re
from calendar import timegm
from dataclasses import dataclass
from time import strptime
from typing import Any, Protocol

from .json_members import DuplicateMember, loads_unique

ASSERTION_TYPE = "urn:m2m-auth:params:oauth:client-assertion-type:aws-sigv4"
BODY = "Action=GetCallerIdentity&Version=2011-06-15"
SERVER_ID_HEADER = "X-M2M-Auth-Server-ID"
NONCE_HEADER = "X-M2M-Auth-Nonce"
"""Random per assertion: SigV4 is deterministic, so without it two requests signed with
the same credentials in the same second would be byte-identical, and single use
(by signature) would refuse the second."""
MAX_ASSERTION_LENGTH = 8192
"""Encoded characters (as for every assertion: ``oauth.assertion``); a role's session
token is 1-2 KB."""
MAX_HEADER_VALUE = 8 * 1024
DATE_WINDOW = 300
"""Seconds an ``X-Amz-Date`` may lie before or after the server's clock."""
MAX_REPLY_BYTES = 64 * 1024
ALGORITHM = "AWS4-HMAC-SHA256"

# The only headers copied into the reconstructed request, in their canonical spelling.
# Content-Length and X-Amz-Content-Sha256 are derived from the fixed body (some SDKs'
# signers add them); a value other than the body's own is refused.
ALLOWED_HEADERS = {
    name.lower(): name
    for name in (
        "Authorization", "X-Amz-Date", "X-Amz-Security-Token", SERVER_ID_HEADER, NONCE_HEADER,
        "Content-Type", "Host", "Content-Length", "X-Amz-Content-Sha256",
    )
}
REQUIRED_HEADERS = frozenset(
    {"authorization", "x-amz-date", SERVER_ID_HEADER.lower(), NONCE_HEADER.lower()}
)
CONTENT_TYPES = frozenset(
    {"application/x-www-form-urlencoded", "application/x-www-form-urlencoded; charset=utf-8"}
)
_BODY_SHA256 = hashlib.sha256(BODY.encode()).hexdigest()
_FIXED_VALUES = {"content-length": str(len(BODY)), "x-amz-content-sha256": _BODY_SHA256}

_B64URL = re.compile(r"[A-Za-z0-9_-]+")
_NONCE = re.compile(r"[A-Za-z0-9_-]{16,128}")
_VALUE = re.compile(r"[\x20-\x7e]*")
_REGION = re.compile(r"[a-z]{2}(?:-[a-z]+)+-\d{1,2}")
_AMZ_DATE = re.compile(r"\d{8}T\d{6}Z")
_AUTHORIZATION = re.compile(
    ALGORITHM
    + r" Credential=(?P<key>[A-Z0-9]{16,128})/(?P<date>\d{8})/(?P<region>[a-z0-9-]{1,32})"
    r"/(?P<service>[a-z0-9-]+)/aws4_request,"
    r" ?SignedHeaders=(?P<signed>[a-z0-9-]+(?:;[a-z0-9-]+)*),"
    r" ?Signature=(?P<signature>[0-9a-f]{64})"
)
_THROTTLED = frozenset({"Throttling", "ThrottlingException", "RequestLimitExceeded"})


class AssertionRejected(Exception):
    """The assertion fails a check. The reason is for logs only, never for the client."""


class StsUnreachable(Exception):
    """STS could not be reached, failed (5xx) or throttled: nothing is known about the caller."""


@dataclass(frozen=True)
class StsRequest:
    """The request the server rebuilt and sends to STS (headers in canonical spelling)."""

    region: str
    url: str
    headers: tuple[tuple[str, str], ...]
    body: bytes
    signed_at: int
    """``X-Amz-Date`` as epoch seconds."""
    signature: str
    """The hex signature: names this exact signed request (single use)."""

    def __repr__(self) -> str:  # the Authorization and session token stay out of logs
        return f"StsRequest(url={self.url!r}, signed_at={self.signed_at})"


@dataclass(frozen=True)
class StsReply:
    status: int
    content_type: str
    body: bytes


class StsCaller(Protocol):
    """Sends a reconstructed request to STS (the adapter is in :mod:`chalicelib.aws.sts`)."""

    def call(self, request: StsRequest) -> StsReply:
        """The answer, whatever its status; ``StsUnreachable`` if there is none."""


def sts_endpoint(region: str) -> str:
    """The regional STS endpoint this server sends a request signed for ``region`` to."""
    suffix = "amazonaws.com.cn" if region.startswith("cn-") else "amazonaws.com"
    return f"https://sts.{region}.{suffix}/"


def _host(url: str) -> str:
    return url.split("://", 1)[1].split("/", 1)[0]


def decode_assertion(assertion: str) -> tuple[dict[str, str], str]:
    """The wire format: unpadded base64url of ``{"headers": {...}, "body": "..."}``.
    A member named twice, at any level, is refused; header names are case-insensitive,
    so a header given twice in any spelling is refused too."""
    if not 0 < len(assertion) <= MAX_ASSERTION_LENGTH or not _B64URL.fullmatch(assertion):
        raise AssertionRejected("not unpadded base64url within the size cap")
    try:
        raw = base64.urlsafe_b64decode(assertion + "=" * (-len(assertion) % 4))
        document = loads_unique(raw.decode("utf-8"))
    except DuplicateMember as exc:
        raise AssertionRejected("a member of the document is given twice") from exc
    except (binascii.Error, UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise AssertionRejected("not base64url JSON") from exc
    if not isinstance(document, dict) or set(document) != {"headers", "body"}:
        raise AssertionRejected("the document must have exactly 'headers' and 'body'")
    headers, body = document["headers"], document["body"]
    if not isinstance(headers, dict) or not isinstance(body, str):
        raise AssertionRejected("'headers' must be an object and 'body' a string")
    folded: dict[str, str] = {}
    for name, value in headers.items():
        if not isinstance(value, str):
            raise AssertionRejected("header values must be strings")
        if name.lower() in folded:
            raise AssertionRejected("a header is given twice")
        folded[name.lower()] = value
    return folded, body


def _epoch(amz_date: str) -> int:
    return timegm(strptime(amz_date, "%Y%m%dT%H%M%SZ"))


def reconstruct(
    assertion: str, issuer: str, regions: frozenset[str], now: int
) -> StsRequest:
    """Check the presented request and rebuild the one to send to STS (module docstring)."""
    headers, body = decode_assertion(assertion)
    if body != BODY:
        raise AssertionRejected("the body is not the fixed GetCallerIdentity body")
    unknown = set(headers) - set(ALLOWED_HEADERS)
    if unknown:
        raise AssertionRejected("a header outside the allow-list")
    if not set(headers) >= REQUIRED_HEADERS:
        raise AssertionRejected("Authorization, X-Amz-Date, server identity or nonce missing")
    for value in headers.values():
        if len(value) > MAX_HEADER_VALUE or not _VALUE.fullmatch(value):
            raise AssertionRejected("a header value is not printable ASCII within the cap")

    auth = _AUTHORIZATION.fullmatch(headers["authorization"])
    if auth is None:
        raise AssertionRejected("Authorization is not a SigV4 header")
    region = auth["region"]
    if auth["service"] != "sts" or not _REGION.fullmatch(region) or region not in regions:
        raise AssertionRejected("the credential scope's service or region is not allowed")
    url = sts_endpoint(region)
    host = _host(url)

    signed = auth["signed"].split(";")
    if signed != sorted(set(signed)):
        raise AssertionRejected("SignedHeaders is not sorted and unique")
    # everything we forward (but the Authorization itself) is signed, and every signed
    # header is forwarded: host is ours, the rest are the client's. With REQUIRED_HEADERS
    # present, host, X-Amz-Date, the server identity and the nonce are therefore signed.
    if set(signed) != (set(headers) - {"authorization"}) | {"host"}:
        raise AssertionRejected("a forwarded header is not signed, or a signed one is missing")

    if headers[SERVER_ID_HEADER.lower()] != issuer:
        raise AssertionRejected("the server-identity header names another server")
    if not _NONCE.fullmatch(headers[NONCE_HEADER.lower()]):
        raise AssertionRejected("the nonce is not 16-128 base64url characters")
    if "host" in headers and headers["host"].lower() != host:
        raise AssertionRejected("the request was signed for another host")
    if "content-type" in headers and headers["content-type"].lower() not in CONTENT_TYPES:
        raise AssertionRejected("Content-Type is not form-urlencoded")
    for name, expected in _FIXED_VALUES.items():
        if name in headers and headers[name].lower() != expected:
            raise AssertionRejected(f"{name} does not describe the fixed body")

    amz_date = headers["x-amz-date"]
    if not _AMZ_DATE.fullmatch(amz_date) or amz_date[:8] != auth["date"]:
        raise AssertionRejected("X-Amz-Date is malformed or not the credential scope's date")
    try:
        signed_at = _epoch(amz_date)
    except ValueError as exc:
        raise AssertionRejected("X-Amz-Date is not a date") from exc
    if abs(now - signed_at) > DATE_WINDOW:
        raise AssertionRejected("X-Amz-Date is not recent")

    forwarded = [(ALLOWED_HEADERS[name], value) for name, value in sorted(headers.items())
                 if name != "host"]
    forwarded += [("Host", host), ("Accept", "application/json")]
    return StsRequest(region, url, tuple(forwarded), BODY.encode(), signed_at,
                      auth["signature"])


def _error_code(reply: StsReply) -> str:
    try:
        document = json.loads(reply.body)
        return str(document["Error"]["Code"])
    except (ValueError, KeyError, TypeError):
        return ""


def caller_arn(reply: StsReply) -> str:
    """The ``Arn`` of a JSON GetCallerIdentity answer. A refusal (4xx) is
    ``AssertionRejected``; throttling and 5xx are ``StsUnreachable``."""
    if reply.status >= 500 or reply.status == 429 or (
        reply.status == 400 and _error_code(reply) in _THROTTLED
    ):
        raise StsUnreachable(f"STS answered {reply.status}")
    if reply.status != 200:
        raise AssertionRejected(f"STS refused the request ({reply.status})")
    media_type = reply.content_type.split(";")[0].strip().lower()
    if media_type != "application/json":
        raise AssertionRejected("STS did not answer JSON")
    if len(reply.body) > MAX_REPLY_BYTES:
        raise AssertionRejected("the STS answer is too large")
    try:
        document: Any = json.loads(reply.body)
        result = document["GetCallerIdentityResponse"]["GetCallerIdentityResult"]
        arn, account = result["Arn"], result["Account"]
    except (ValueError, KeyError, TypeError, RecursionError) as exc:
        raise AssertionRejected("the STS answer is not a GetCallerIdentity result") from exc
    if not isinstance(arn, str) or not isinstance(account, str):
        raise AssertionRejected("the STS answer is not a GetCallerIdentity result")
    if arn.split(":")[4:5] != [account]:
        raise AssertionRejected("the STS answer's Arn is not of its Account")
    return arn
