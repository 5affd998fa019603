"""FederatedToken: a workload's own token (file re-read on every fetch, or a callable)
sent by TokenClient as the client assertion."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import parse_qs

import pytest
import requests
from m2m_testkit import FakeClock, RecordingSleep, ScriptedAdapter, session_with, token_reply

from m2m_client import FederatedToken, TokenClient
from m2m_client.federated import JWT_BEARER, JWT_SPIFFE

ISSUER = "https://auth.example.com"
CLIENT_ID = "abcdefghijklmnopqrstuvwxyz"
TOKEN_A = "aaa.bbb.ccc"
TOKEN_B = "ddd.eee.fff"


def client_for(adapter: ScriptedAdapter, source: FederatedToken, clock: FakeClock) -> TokenClient:
    return TokenClient(
        ISSUER + "/oauth/token", CLIENT_ID, audience="https://api.example.com",
        credentials=source, issuer=ISSUER, session=session_with(adapter), clock=clock,
        sleep=RecordingSleep(), random=lambda: 0.5,
    )


def sent_assertions(adapter: ScriptedAdapter) -> list[str]:
    out = []
    for request in adapter.sent:
        body = request.body
        text = body.decode() if isinstance(body, bytes) else str(body)
        form = parse_qs(text)
        assert form["client_assertion_type"] == [JWT_BEARER]
        assert form["client_id"] == [CLIENT_ID]
        out.append(form["client_assertion"][0])
    return out


def test_rereads_the_token_file_on_every_fetch(tmp_path: Path) -> None:
    # GIVEN a projected token file that the platform rotates between two fetches
    path = tmp_path / "token"
    path.write_text(TOKEN_A + "\n")
    adapter = ScriptedAdapter(token_reply("t1", expires_in=60), token_reply("t2"))
    clock = FakeClock()
    client = client_for(adapter, FederatedToken(path), clock)

    client.get_token()
    path.write_text(TOKEN_B)
    clock.advance(3600)
    client.get_token()

    # THEN each request carried the file's content at that time
    assert sent_assertions(adapter) == [TOKEN_A, TOKEN_B]


def test_calls_the_callable_on_every_fetch() -> None:
    tokens = iter([TOKEN_A, TOKEN_B])
    adapter = ScriptedAdapter(token_reply("t1", expires_in=60), token_reply("t2"))
    clock = FakeClock()
    client = client_for(adapter, FederatedToken(lambda: next(tokens)), clock)

    client.get_token()
    clock.advance(3600)
    client.get_token()

    assert sent_assertions(adapter) == [TOKEN_A, TOKEN_B]


def test_spiffe_flag_sends_the_jwt_spiffe_type(tmp_path: Path) -> None:
    assert FederatedToken(lambda: TOKEN_A, spiffe=True).assertion_type == JWT_SPIFFE
    assert FederatedToken.from_file(tmp_path / "svid").assertion_type == JWT_BEARER


@pytest.mark.parametrize("value", ["", "   ", "not-a-jwt", "a.b", "a." * 5000 + "b"])
def test_rejects_a_source_that_gives_no_compact_jwt(value: str) -> None:
    with pytest.raises(ValueError):
        FederatedToken(lambda: value).assertion(ISSUER)


def test_missing_token_file_raises_before_any_request(tmp_path: Path) -> None:
    adapter = ScriptedAdapter(token_reply("t1"))
    client = client_for(adapter, FederatedToken(tmp_path / "absent"), FakeClock())

    with pytest.raises(OSError):
        client.get_token()

    assert adapter.sent == []


def test_repr_names_the_source_never_a_token(tmp_path: Path) -> None:
    path = tmp_path / "token"
    path.write_text(TOKEN_A)

    assert TOKEN_A not in repr(FederatedToken(path))
    assert "callable" in repr(FederatedToken(lambda: TOKEN_A))


def test_github_actions_source_asks_the_runner_for_each_token(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from m2m_client.federated import github_actions_token

    asked: list[tuple[str, dict[str, str], str]] = []

    def fake_get(url: str, params: dict[str, str], timeout: float,
                 headers: dict[str, str]) -> requests.Response:
        asked.append((url, params, headers["Authorization"]))
        response = requests.Response()
        response.status_code = 200
        response._content = b'{"value": "' + TOKEN_A.encode() + b'"}'
        return response

    monkeypatch.setenv("ACTIONS_ID_TOKEN_REQUEST_URL", "https://runner.example/token?v=2")
    monkeypatch.setenv("ACTIONS_ID_TOKEN_REQUEST_TOKEN", "runner-bearer")
    monkeypatch.setattr(requests, "get", fake_get)
    source = FederatedToken(github_actions_token(ISSUER))

    assert source.assertion(ISSUER) == TOKEN_A
    assert source.assertion(ISSUER) == TOKEN_A
    assert asked == [("https://runner.example/token?v=2", {"audience": ISSUER},
                      "Bearer runner-bearer")] * 2


def test_github_actions_source_outside_a_job_says_so(monkeypatch: pytest.MonkeyPatch) -> None:
    from m2m_client.federated import github_actions_token

    monkeypatch.delenv("ACTIONS_ID_TOKEN_REQUEST_URL", raising=False)

    with pytest.raises(RuntimeError, match="id-token"):
        github_actions_token(ISSUER)()
