"""The STS adapter sends exactly the rebuilt request to the URL the protocol code chose,
and turns transport failures into StsUnreachable (no connection is opened here: the
HTTP session is injected)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest
from botocore.exceptions import ConnectTimeoutError, EndpointConnectionError

from chalicelib.aws.sts import HttpStsCaller
from chalicelib.oauth.aws_sigv4 import BODY, MAX_REPLY_BYTES, StsRequest, StsUnreachable

REQUEST = StsRequest(
    region="us-east-1",
    url="https://sts.us-east-1.amazonaws.com/",
    headers=(("Authorization", "AWS4-HMAC-SHA256 ..."), ("Host", "sts.us-east-1.amazonaws.com"),
             ("Accept", "application/json")),
    body=BODY.encode(),
    signed_at=0,
    signature="0" * 64,
)


@dataclass
class Response:
    status_code: int = 200
    headers: dict[str, str] = field(default_factory=lambda: {"content-type": "application/json"})
    content: bytes = b"{}"


@dataclass
class Session:
    answer: Any = field(default_factory=Response)
    sent: list[Any] = field(default_factory=list)

    def send(self, prepared: Any) -> Any:
        self.sent.append(prepared)
        if isinstance(self.answer, Exception):
            raise self.answer
        return self.answer


def test_sends_the_rebuilt_request_to_its_url_unchanged() -> None:
    session = Session()

    reply = HttpStsCaller(session=session).call(REQUEST)

    [sent] = session.sent
    assert sent.method == "POST" and sent.url == REQUEST.url
    assert sent.body == BODY.encode()
    assert sent.headers["Host"] == "sts.us-east-1.amazonaws.com"
    assert sent.headers["Accept"] == "application/json"
    assert (reply.status, reply.content_type, reply.body) == (200, "application/json", b"{}")


def test_local_mode_sends_to_the_embedded_server_and_asks_moto_for_json() -> None:
    session = Session()

    HttpStsCaller("http://127.0.0.1:5000", session=session).call(REQUEST)

    [sent] = session.sent
    assert sent.url == "http://127.0.0.1:5000/"
    assert sent.headers["Host"] == "sts.us-east-1.amazonaws.com"
    assert sent.body == BODY.encode() + b"&ContentType=JSON"


@pytest.mark.parametrize(
    "error",
    [EndpointConnectionError(endpoint_url="https://sts"),
     ConnectTimeoutError(endpoint_url="https://sts")],
    ids=["connection-refused", "timeout"],
)
def test_transport_failures_are_sts_unreachable(error: Exception) -> None:
    with pytest.raises(StsUnreachable):
        HttpStsCaller(session=Session(answer=error)).call(REQUEST)


def test_an_oversized_answer_is_cut_beyond_the_cap() -> None:
    session = Session(answer=Response(content=b"x" * (MAX_REPLY_BYTES * 2)))

    reply = HttpStsCaller(session=session).call(REQUEST)

    assert len(reply.body) == MAX_REPLY_BYTES + 1
