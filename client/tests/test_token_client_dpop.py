"""TokenClient with a DPoP key (RFC 9449 §5, §7.1, §8): proofs at the token endpoint,
the nonce retry, and DPoP headers for resource requests."""

from __future__ import annotations

from typing import Any

import jwt
import pytest
import requests
from m2m_testkit import FakeClock, RecordingSleep, Reply, ScriptedAdapter, session_with

from m2m_client import DpopKey, TokenClient, TokenEndpointError, TokenTransportError
from m2m_client.dpop import access_token_hash

TOKEN_URL = "https://auth.example.com/oauth/token"
API_URL = "https://api.example.com/orders"


def dpop_reply(value: str = "tok-1", headers: dict[str, str] | None = None) -> Reply:
    return Reply(200, {"access_token": value, "token_type": "DPoP", "expires_in": 3600},
                 headers or {})


def nonce_challenge(nonce: str) -> Reply:
    return Reply(400, {"error": "use_dpop_nonce", "error_description": "use the nonce"},
                 {"DPoP-Nonce": nonce})


def client_with(adapter: ScriptedAdapter, key: DpopKey, clock: FakeClock) -> TokenClient:
    return TokenClient(TOKEN_URL, "svc-billing", "s3cr3t", "https://api.example.com",
                       session=session_with(adapter), clock=clock, sleep=RecordingSleep(),
                       random=lambda: 0.5, dpop_key=key)


def proof_claims(request: requests.PreparedRequest) -> dict[str, Any]:
    proof = request.headers["DPoP"]
    return dict(jwt.decode(proof, options={"verify_signature": False}))


@pytest.fixture
def key(clock: FakeClock) -> DpopKey:
    return DpopKey.generate(clock=clock)


def test_token_request_carries_a_proof_for_the_token_endpoint(
    key: DpopKey, clock: FakeClock
) -> None:
    adapter = ScriptedAdapter(dpop_reply())
    token = client_with(adapter, key, clock).token()

    assert token.token_type == "DPoP"
    claims = proof_claims(adapter.sent[0])
    assert claims["htm"] == "POST" and claims["htu"] == TOKEN_URL
    assert "ath" not in claims and "nonce" not in claims
    assert jwt.get_unverified_header(adapter.sent[0].headers["DPoP"])["jwk"] == key.public_jwk


def test_use_dpop_nonce_is_retried_once_with_the_nonce_and_remembered(
    key: DpopKey, clock: FakeClock
) -> None:
    adapter = ScriptedAdapter(nonce_challenge("n-1"), dpop_reply("tok-1"),
                              dpop_reply("tok-2", {"DPoP-Nonce": "n-2"}), dpop_reply("tok-3"))
    client = client_with(adapter, key, clock)

    assert client.get_token() == "tok-1"
    client.invalidate()
    client.get_token()
    client.invalidate()
    client.get_token()

    sent = [proof_claims(r).get("nonce") for r in adapter.sent]
    assert sent == [None, "n-1", "n-1", "n-2"]
    assert len({proof_claims(r)["jti"] for r in adapter.sent}) == 4


def test_a_second_nonce_challenge_in_a_row_is_an_error(key: DpopKey, clock: FakeClock) -> None:
    adapter = ScriptedAdapter(nonce_challenge("n-1"), nonce_challenge("n-2"))

    with pytest.raises(TokenEndpointError) as raised:
        client_with(adapter, key, clock).get_token()

    assert raised.value.error == "use_dpop_nonce"
    assert len(adapter.sent) == 2


def test_a_nonce_challenge_without_a_new_nonce_is_not_retried(
    key: DpopKey, clock: FakeClock
) -> None:
    adapter = ScriptedAdapter(Reply(400, {"error": "use_dpop_nonce"}))

    with pytest.raises(TokenEndpointError):
        client_with(adapter, key, clock).get_token()
    assert len(adapter.sent) == 1


def test_resource_requests_get_the_dpop_scheme_and_a_proof_with_ath(
    key: DpopKey, clock: FakeClock
) -> None:
    client = client_with(ScriptedAdapter(dpop_reply("tok-1")), key, clock)

    headers = client.authorization_headers("GET", API_URL + "?page=2")

    assert headers["Authorization"] == "DPoP tok-1"
    claims = jwt.decode(headers["DPoP"], options={"verify_signature": False})
    assert (claims["htm"], claims["htu"]) == ("GET", API_URL)
    assert claims["ath"] == access_token_hash("tok-1")


def test_as_requests_auth_it_signs_each_request(key: DpopKey, clock: FakeClock) -> None:
    adapter = ScriptedAdapter(dpop_reply("tok-1"), Reply(200, {"orders": []}))
    client = client_with(adapter, key, clock)
    session = session_with(adapter)

    session.post(API_URL, json={}, auth=client)

    [call] = adapter.sent_to(API_URL)
    assert call.headers["Authorization"] == "DPoP tok-1"
    claims = jwt.decode(call.headers["DPoP"], options={"verify_signature": False})
    assert claims["htm"] == "POST" and claims["ath"] == access_token_hash("tok-1")


def test_a_bearer_answer_to_a_proof_is_used_as_a_bearer_token(
    key: DpopKey, clock: FakeClock
) -> None:
    adapter = ScriptedAdapter(Reply(200, {"access_token": "tok-b", "token_type": "bearer",
                                          "expires_in": 60}))
    client = client_with(adapter, key, clock)

    assert client.authorization_headers("GET", API_URL) == {"Authorization": "Bearer tok-b"}


def test_without_a_dpop_key_a_dpop_token_is_refused(clock: FakeClock) -> None:
    adapter = ScriptedAdapter(dpop_reply())
    client = TokenClient(TOKEN_URL, "svc-billing", "s3cr3t", "https://api.example.com",
                         session=session_with(adapter), clock=clock)

    with pytest.raises(TokenTransportError, match="Bearer"):
        client.get_token()
    assert "DPoP" not in adapter.sent[0].headers
