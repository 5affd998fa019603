"""The resource-server side of token exchange (RFC 8693 §4.1): `VerifiedToken.actors`
(the act chain, outermost first), what authorizers pass on, and `TokenClient.exchange`."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs

import pytest
from m2m_testkit import FakeClock, ScriptedAdapter, SigningKey, claims, session_with, token_reply

from m2m_client import InvalidToken, TokenClient, Verifier
from m2m_client.lambda_authorizer import authorizer_context
from m2m_client.token_client import ACCESS_TOKEN_TYPE, TOKEN_EXCHANGE

TOKEN_URL = "https://auth.example.com/oauth/token"
INVENTORY = "https://api.example.com/inventory"


def test_actors_list_the_act_chain_outermost_first(
    verifier: Verifier, rsa_key: SigningKey
) -> None:
    token = rsa_key.sign(claims(sub="svc-billing", client_id="svc-inventory", act={
        "sub": "svc-inventory", "act": {"sub": "svc-orders"}}))

    verified = verifier.verify(token)

    assert verified.actors == ("svc-inventory", "svc-orders")
    assert verified.delegated and verified.subject == "svc-billing"
    assert authorizer_context(verified) == {
        "client_id": "svc-inventory", "scope": verified.scope, "subject": "svc-billing",
        "actors": "svc-inventory svc-orders"}


def test_a_token_without_act_has_no_actors(verifier: Verifier, rsa_key: SigningKey) -> None:
    verified = verifier.verify(rsa_key.sign(claims()))

    assert verified.actors == () and not verified.delegated
    assert set(authorizer_context(verified)) == {"client_id", "scope"}


@pytest.mark.parametrize("act", [
    "svc-orders", {"client_id": "svc-orders"}, {"sub": ""}, {"sub": "a", "act": ["b"]},
    {"sub": "a", "act": {"sub": 7}},
])
def test_a_malformed_act_claim_is_an_invalid_token(
    verifier: Verifier, rsa_key: SigningKey, act: Any
) -> None:
    with pytest.raises(InvalidToken):
        verifier.verify(rsa_key.sign(claims(act=act)))


def test_an_act_chain_nested_too_deep_is_an_invalid_token(
    verifier: Verifier, rsa_key: SigningKey
) -> None:
    act: dict[str, Any] = {"sub": "a0"}
    for i in range(1, 11):
        act = {"sub": f"a{i}", "act": act}

    with pytest.raises(InvalidToken):
        verifier.verify(rsa_key.sign(claims(act=act)))


def make_client(adapter: ScriptedAdapter, clock: FakeClock) -> TokenClient:
    return TokenClient(TOKEN_URL, "svc-orders", "secret", INVENTORY,
                       session=session_with(adapter), clock=clock)


def test_exchange_sends_the_rfc_8693_request_and_caches_per_subject_token(
    clock: FakeClock,
) -> None:
    adapter = ScriptedAdapter(token_reply("exchanged-1"), token_reply("exchanged-2"))
    client = make_client(adapter, clock)

    first = client.exchange("subject-1", scope="inventory:read")
    again = client.exchange("subject-1", scope="inventory:read")
    other = client.exchange("subject-2", scope="inventory:read")

    assert (first.value, again.value, other.value) == ("exchanged-1", "exchanged-1",
                                                       "exchanged-2")
    assert len(adapter.sent) == 2
    form = parse_qs(str(adapter.sent[0].body))
    assert form == {"grant_type": [TOKEN_EXCHANGE], "subject_token": ["subject-1"],
                    "subject_token_type": [ACCESS_TOKEN_TYPE], "audience": [INVENTORY],
                    "requested_token_type": [ACCESS_TOKEN_TYPE],
                    "scope": ["inventory:read"]}
    assert adapter.sent[0].headers["Authorization"].startswith("Basic ")


def test_an_exchanged_token_is_fetched_again_after_its_refresh_time(clock: FakeClock) -> None:
    adapter = ScriptedAdapter(token_reply("exchanged-1", expires_in=100),
                              token_reply("exchanged-2"))
    client = make_client(adapter, clock)

    client.exchange("subject-1")
    clock.advance(81)

    assert client.exchange("subject-1").value == "exchanged-2"
