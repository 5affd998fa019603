"""TokenClient(credentials=...): secretless client authentication by assertion (RFC 7521 §4.2)."""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import parse_qs

import pytest
import requests
from m2m_testkit import FakeClock, RecordingSleep, Reply, ScriptedAdapter, session_with, token_reply

from m2m_client import AssertionCredentials, TokenClient, TokenEndpointError, TokenTransportError

ISSUER = "https://auth.example.com"
TOKEN_URL = ISSUER + "/oauth/token"
METADATA_URL = ISSUER + "/.well-known/oauth-authorization-server"
CLIENT_ID = "abcdefghijklmnopqrstuvwxyz"
TYPE = "urn:example:assertion"


@dataclass
class CountingAssertions:
    """Makes ``assertion-<n>`` and remembers the issuer each was made for."""

    assertion_type: str = TYPE
    issuers: list[str] = field(default_factory=list)

    def assertion(self, issuer: str) -> str:
        self.issuers.append(issuer)
        return f"assertion-{len(self.issuers)}"


def make_client(
    adapter: ScriptedAdapter, source: CountingAssertions, **options: object
) -> TokenClient:
    return TokenClient(
        TOKEN_URL, CLIENT_ID, audience="https://api.example.com", credentials=source,
        session=session_with(adapter), clock=FakeClock(), sleep=RecordingSleep(),
        random=lambda: 0.5, **options,  # type: ignore[arg-type]
    )


def form_of(request: requests.PreparedRequest) -> dict[str, list[str]]:
    body = request.body
    text = body.decode() if isinstance(body, bytes) else str(body)
    return parse_qs(text, keep_blank_values=True)


def metadata_reply(issuer: str = ISSUER, token_endpoint: str = TOKEN_URL) -> Reply:
    return Reply(json_body={"issuer": issuer, "token_endpoint": token_endpoint})


def test_sends_the_assertion_with_the_client_id_and_no_secret_or_basic_header() -> None:
    adapter = ScriptedAdapter(token_reply("tok-1"))
    source = CountingAssertions()
    client = make_client(adapter, source, issuer=ISSUER)

    assert client.get_token() == "tok-1"

    (sent,) = adapter.sent
    form = form_of(sent)
    assert form["client_id"] == [CLIENT_ID]
    assert form["client_assertion_type"] == [TYPE]
    assert form["client_assertion"] == ["assertion-1"]
    assert "client_secret" not in form
    assert "Authorization" not in sent.headers
    assert source.issuers == [ISSUER]


def test_makes_a_fresh_assertion_for_every_attempt_including_retries() -> None:
    adapter = ScriptedAdapter(Reply(503, {"error": "temporarily_unavailable"}), token_reply())
    source = CountingAssertions()
    client = make_client(adapter, source, issuer=ISSUER)

    client.get_token()

    assert [form_of(r)["client_assertion"] for r in adapter.sent] == [
        ["assertion-1"], ["assertion-2"],
    ]


def test_discovers_the_issuer_once_from_metadata_naming_the_token_endpoint() -> None:
    adapter = ScriptedAdapter(metadata_reply(), token_reply("tok-1"), token_reply("tok-2"))
    source = CountingAssertions()
    client = make_client(adapter, source)

    client.get_token()
    client.invalidate()
    client.get_token()

    assert [r.url for r in adapter.sent] == [METADATA_URL, TOKEN_URL, TOKEN_URL]
    assert source.issuers == [ISSUER, ISSUER]


def test_refuses_metadata_that_names_another_token_endpoint() -> None:
    adapter = ScriptedAdapter(metadata_reply(token_endpoint="https://evil.example/oauth/token"))
    client = make_client(adapter, CountingAssertions())

    with pytest.raises(TokenTransportError):
        client.get_token()
    assert [r.url for r in adapter.sent] == [METADATA_URL]


def test_refuses_metadata_that_names_another_servers_issuer() -> None:
    # Audience injection (CVE-2025-27370/27371): a server the client was pointed at by
    # mistake names an honest server's issuer; an assertion made for it (aud, or the AWS
    # server-identity header) would be replayable there. RFC 8414 §3.3: the issuer must
    # be the one the metadata URL was made from.
    adapter = ScriptedAdapter(metadata_reply(issuer="https://auth.victim.example"))
    source = CountingAssertions()
    client = make_client(adapter, source)

    with pytest.raises(TokenTransportError):
        client.get_token()
    assert source.issuers == []
    assert [r.url for r in adapter.sent] == [METADATA_URL]


def test_invalid_client_with_an_assertion_is_raised_after_one_request() -> None:
    adapter = ScriptedAdapter(Reply(401, {"error": "invalid_client"}))
    client = make_client(adapter, CountingAssertions(), issuer=ISSUER)

    with pytest.raises(TokenEndpointError) as raised:
        client.get_token()
    assert raised.value.error == "invalid_client"
    assert len(adapter.sent) == 1


def test_requires_exactly_one_of_secret_and_credentials() -> None:
    with pytest.raises(ValueError):
        TokenClient(TOKEN_URL, CLIENT_ID, audience="https://api.example.com")
    with pytest.raises(ValueError):
        TokenClient(TOKEN_URL, CLIENT_ID, "secret", "https://api.example.com",
                    credentials=CountingAssertions())


def test_requires_an_issuer_when_the_token_url_does_not_reveal_it() -> None:
    with pytest.raises(ValueError):
        TokenClient("https://auth.example.com/token", CLIENT_ID,
                    audience="https://api.example.com", credentials=CountingAssertions())


def test_requires_an_audience() -> None:
    with pytest.raises(ValueError):
        TokenClient(TOKEN_URL, CLIENT_ID, credentials=CountingAssertions(), issuer=ISSUER)


def test_a_counting_source_satisfies_the_protocol_and_repr_shows_the_method() -> None:
    source = CountingAssertions()
    client = TokenClient(TOKEN_URL, CLIENT_ID, audience="https://api.example.com",
                         credentials=source, issuer=ISSUER)

    assert isinstance(source, AssertionCredentials)
    assert client.auth_method == "client_assertion"
    assert "assertion-" not in repr(client)
