"""AWS IAM assertions (signed sts:GetCallerIdentity): the server rebuilds the request
exactly — botocore's own signer reproduces its signature byte for byte — and refuses
every tampering before anything reaches STS (CVE-2020-16250)."""

from __future__ import annotations

import datetime

import pytest
from m2m_client.aws_iam import AwsIam

from chalicelib.oauth.aws_sigv4 import (
    BODY,
    MAX_ASSERTION_LENGTH,
    AssertionRejected,
    StsReply,
    StsUnreachable,
    caller_arn,
    reconstruct,
)
from tests.aws_sigv4_support import (
    ASSUMED_ARN,
    ISSUER,
    NOW,
    REGION,
    ROLE_CREDENTIALS,
    SIGNED_AT,
    USER_CREDENTIALS,
    XML_REPLY,
    assertion_of,
    error_reply,
    json_reply,
    reproduce_authorization,
    sign,
    signed_headers_of,
    signing_clock,
)

REGIONS = frozenset({REGION, "eu-west-1"})


class FixedSession:
    """A botocore session stand-in holding fixed credentials."""

    def __init__(self, credentials: object) -> None:
        self._credentials = credentials

    def get_credentials(self) -> object:
        return self._credentials

    def get_config_variable(self, name: str) -> str | None:
        return None


def client_assertion(credentials: object = ROLE_CREDENTIALS, region: str = REGION) -> str:
    """What m2m_client.AwsIam sends, with fixed credentials at the fixed time."""
    with signing_clock():
        return AwsIam(region, session=FixedSession(credentials)).assertion(ISSUER)  # type: ignore[arg-type]


def rebuild(assertion: str, now: int = NOW, regions: frozenset[str] = REGIONS) -> object:
    return reconstruct(assertion, ISSUER, regions, now)


# -- reconstruction is exact --------------------------------------------------------


@pytest.mark.parametrize("credentials", [ROLE_CREDENTIALS, USER_CREDENTIALS],
                         ids=["role-with-session-token", "user-long-term-key"])
def test_rebuilt_request_carries_a_signature_botocore_reproduces_byte_for_byte(
    credentials: object,
) -> None:
    # GIVEN the client library's assertion, made with fixed credentials at a fixed time
    assertion = client_assertion(credentials)

    # WHEN the server rebuilds the request it will send to STS
    request = reconstruct(assertion, ISSUER, REGIONS, NOW)

    # THEN it goes to our regional endpoint with the fixed body, and botocore's SigV4Auth,
    # given the caller's secret, computes exactly the Authorization the request carries
    headers = dict(request.headers)
    assert request.url == "https://sts.us-east-1.amazonaws.com/"
    assert request.body == BODY.encode()
    assert headers["Host"] == "sts.us-east-1.amazonaws.com"
    assert headers["Accept"] == "application/json"
    assert headers["X-M2M-Auth-Server-ID"] == ISSUER
    assert reproduce_authorization(request, credentials) == headers["Authorization"]  # type: ignore[arg-type]
    assert {"x-m2m-auth-server-id", "x-m2m-auth-nonce"} <= set(signed_headers_of(request))


def test_rebuilt_request_forwards_only_allow_listed_headers() -> None:
    request = reconstruct(client_assertion(), ISSUER, REGIONS, NOW)

    assert {name for name, _ in request.headers} == {
        "Authorization", "X-Amz-Date", "X-Amz-Security-Token", "X-M2M-Auth-Server-ID",
        "X-M2M-Auth-Nonce", "Content-Type", "Host", "Accept",
    }


def test_a_signature_for_another_host_does_not_reproduce_on_the_rebuilt_request() -> None:
    # A client that signs for its own endpoint and omits Host from the assertion gets a
    # request rebuilt for OUR endpoint, whose signature STS will not accept.
    headers = sign(url="https://sts.attacker.example/")
    request = reconstruct(assertion_of(headers), ISSUER, REGIONS, NOW)

    assert request.url == "https://sts.us-east-1.amazonaws.com/"
    assert reproduce_authorization(request, ROLE_CREDENTIALS) != dict(request.headers)[
        "Authorization"
    ]


def test_accepts_a_signature_made_by_hand_with_botocore_including_host() -> None:
    headers = sign(extra={"Host": "sts.us-east-1.amazonaws.com"})

    request = reconstruct(assertion_of(headers), ISSUER, REGIONS, NOW)

    assert reproduce_authorization(request, ROLE_CREDENTIALS) == dict(request.headers)[
        "Authorization"
    ]


def test_accepts_content_length_and_payload_hash_when_they_describe_the_fixed_body() -> None:
    import hashlib

    extra = {"Content-Length": str(len(BODY)),
             "X-Amz-Content-Sha256": hashlib.sha256(BODY.encode()).hexdigest()}
    request = reconstruct(assertion_of(sign(extra=extra)), ISSUER, REGIONS, NOW)

    assert reproduce_authorization(request, ROLE_CREDENTIALS) == dict(request.headers)[
        "Authorization"
    ]


def test_accepts_a_region_on_the_allow_list_and_sends_to_that_regions_endpoint() -> None:
    request = reconstruct(client_assertion(region="eu-west-1"), ISSUER, REGIONS, NOW)

    assert request.url == "https://sts.eu-west-1.amazonaws.com/"
    assert reproduce_authorization(request, ROLE_CREDENTIALS) == dict(request.headers)[
        "Authorization"
    ]


# -- every tampering is refused -------------------------------------------------------


def _without(headers: dict[str, str], name: str) -> dict[str, str]:
    return {k: v for k, v in headers.items() if k.lower() != name.lower()}


@pytest.mark.parametrize(
    "assertion",
    [
        pytest.param(assertion_of(sign(body=BODY + "&x=1"), body=BODY + "&x=1"),
                     id="other-body"),
        pytest.param(assertion_of(sign(), body="Action=GetCallerIdentity&Version=2011-06-15 "),
                     id="body-with-trailing-space"),
        pytest.param(assertion_of(sign(extra={"Host": "sts.attacker.example"},
                                       url="https://sts.attacker.example/")),
                     id="other-host"),
        pytest.param(assertion_of(sign(issuer=None)), id="missing-server-identity-header"),
        pytest.param(assertion_of({**sign(issuer=None), "X-M2M-Auth-Server-ID": ISSUER}),
                     id="server-identity-header-not-signed"),
        pytest.param(assertion_of(sign(issuer="https://other-deployment.example")),
                     id="server-identity-of-another-server"),
        pytest.param(assertion_of(_without(sign(), "X-M2M-Auth-Nonce")), id="missing-nonce"),
        pytest.param(assertion_of({**sign(nonce=""), "X-M2M-Auth-Nonce": "A" * 22}),
                     id="nonce-not-signed"),
        pytest.param(assertion_of(sign(nonce="short")), id="nonce-too-short"),
        pytest.param(assertion_of(sign(nonce="x" * 15 + "!")), id="nonce-not-base64url"),
        pytest.param(assertion_of(sign(extra={"X-Forwarded-Host": "evil.example"})),
                     id="signed-header-not-in-allow-list"),
        pytest.param(assertion_of({**sign(), "X-Amz-Target": "AWSSecurityTokenService.X"}),
                     id="unsigned-header-not-in-allow-list"),
        pytest.param(assertion_of({**sign(), "x-amz-date": "20270115T120000Z"}),
                     id="header-given-twice"),
        pytest.param(assertion_of(_without(sign(), "Content-Type")),
                     id="signed-header-missing"),
        pytest.param(assertion_of(sign(extra={"Content-Type": "text/plain"})),
                     id="other-content-type"),
        pytest.param(assertion_of(sign(extra={"Content-Length": "999"})),
                     id="content-length-of-another-body"),
        pytest.param(assertion_of(sign(when=SIGNED_AT - datetime.timedelta(minutes=6))),
                     id="stale-date"),
        pytest.param(assertion_of(sign(when=SIGNED_AT + datetime.timedelta(minutes=6))),
                     id="future-date"),
        pytest.param(assertion_of(sign(region="ap-south-1")), id="region-outside-allow-list"),
        pytest.param(assertion_of(_without(sign(), "Authorization")), id="no-authorization"),
        pytest.param(assertion_of({**sign(), "Authorization": "AWS4-HMAC-SHA256 nonsense"}),
                     id="malformed-authorization"),
        pytest.param(assertion_of({**sign(), "X-Amz-Date": "20270116T120000Z"}),
                     id="date-not-the-credential-scope-date"),
        pytest.param(assertion_of({**sign(), "X-M2M-Auth-Server-ID": ISSUER + "\r\nX: y"}),
                     id="header-injection"),
        pytest.param("not base64url!", id="not-base64url"),
        pytest.param("A" * (MAX_ASSERTION_LENGTH + 4), id="oversized"),
        pytest.param(assertion_of(sign()) + "==", id="padded"),
    ],
)
def test_rejects_tampered_assertions(assertion: str) -> None:
    with pytest.raises(AssertionRejected):
        rebuild(assertion)


def test_rejects_a_signature_for_another_service() -> None:
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest

    request = AWSRequest(method="POST", url="https://sts.us-east-1.amazonaws.com/", data=BODY,
                         headers={"X-M2M-Auth-Server-ID": ISSUER})
    with signing_clock():
        SigV4Auth(ROLE_CREDENTIALS, "iam", REGION).add_auth(request)

    with pytest.raises(AssertionRejected):
        rebuild(assertion_of(dict(request.headers)))


def test_rejects_a_document_with_extra_members() -> None:
    import base64
    import json

    raw = json.dumps({"headers": sign(), "body": BODY, "url": "https://evil.example/"})
    with pytest.raises(AssertionRejected):
        rebuild(base64.urlsafe_b64encode(raw.encode()).decode().rstrip("="))


def test_each_client_assertion_is_unique_even_within_one_second() -> None:
    first, second = client_assertion(), client_assertion()

    assert rebuild(first).signature != rebuild(second).signature  # type: ignore[attr-defined]


def test_date_window_is_five_minutes_either_way() -> None:
    assertion = client_assertion()

    rebuild(assertion, now=NOW + 300)
    rebuild(assertion, now=NOW - 300)
    with pytest.raises(AssertionRejected):
        rebuild(assertion, now=NOW + 301)


# -- the STS answer -------------------------------------------------------------------


def test_reads_the_arn_of_a_json_answer() -> None:
    assert caller_arn(json_reply(ASSUMED_ARN)) == ASSUMED_ARN


@pytest.mark.parametrize(
    "reply",
    [
        pytest.param(XML_REPLY, id="xml"),
        pytest.param(StsReply(200, "application/json", b"<xml/>"), id="json-type-xml-body"),
        pytest.param(StsReply(200, "text/html", json_reply(ASSUMED_ARN).body),
                     id="json-body-labelled-html"),
        pytest.param(StsReply(200, "application/json", b'{"Arn": "x"}'), id="other-json"),
        pytest.param(json_reply(ASSUMED_ARN, account="999999999999"), id="arn-of-other-account"),
        pytest.param(error_reply(403, "SignatureDoesNotMatch"), id="signature-mismatch"),
        pytest.param(error_reply(403, "InvalidClientTokenId"), id="unknown-key"),
        pytest.param(error_reply(400, "ExpiredToken"), id="expired-session"),
    ],
)
def test_rejects_answers_that_do_not_identify_a_caller(reply: StsReply) -> None:
    with pytest.raises(AssertionRejected):
        caller_arn(reply)


@pytest.mark.parametrize(
    "reply",
    [error_reply(500, "InternalFailure"), error_reply(503, "ServiceUnavailable"),
     error_reply(400, "Throttling"), StsReply(429, "text/plain", b"slow down")],
    ids=["500", "503", "throttling", "429"],
)
def test_sts_failures_and_throttling_are_unreachable_not_refusals(reply: StsReply) -> None:
    with pytest.raises(StsUnreachable):
        caller_arn(reply)


def _raw_assertion(text: str) -> str:
    import base64

    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def _document_with_a_member_twice(where: str) -> str:
    """A good document's JSON text with one member name repeated, the last occurrence
    good (what a plain json.loads keeps): ``body`` at the top, or ``X-Amz-Date`` among
    the headers."""
    import json

    headers = sign()
    if where == "body":  # a parser that keeps the first would read another action
        return ('{"body": ' + json.dumps(BODY + "&Extra=1") + ', "headers": '
                + json.dumps(headers) + ', "body": ' + json.dumps(BODY) + "}")
    inner = json.dumps(headers)
    twice = inner[:-1] + ', "X-Amz-Date": ' + json.dumps(headers["X-Amz-Date"]) + "}"
    return json.dumps({"body": BODY})[:-1] + ', "headers": ' + twice + "}"


@pytest.mark.parametrize("where", ["body", "X-Amz-Date"])
def test_rejects_a_document_that_names_a_member_twice(where: str) -> None:
    # GIVEN a document that is valid but for a member name given twice, same spelling
    text = _document_with_a_member_twice(where)
    # THEN it is refused, though the last occurrence alone would be a good assertion
    with pytest.raises(AssertionRejected, match="twice"):
        rebuild(_raw_assertion(text))
