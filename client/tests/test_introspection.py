"""Optional introspection after local verification (RFC 7662)."""

from __future__ import annotations

import logging
from urllib.parse import parse_qs

import pytest
from m2m_testkit import (
    AUDIENCE,
    ISSUER,
    JWKS_URL,
    FakeClock,
    FakeFetcher,
    Reply,
    ScriptedAdapter,
    SigningKey,
    claims,
    session_with,
)

from m2m_client import IntrospectionError, Introspector, InvalidToken, Verifier

INTROSPECT_URL = f"{ISSUER}/oauth/introspect"


def make_verifier(adapter: ScriptedAdapter, fetcher: FakeFetcher, clock: FakeClock) -> Verifier:
    introspector = Introspector(
        INTROSPECT_URL,
        "orders-api",
        "introspection-secret",
        session=session_with(adapter),
        clock=clock,
    )
    return Verifier(
        ISSUER, AUDIENCE, JWKS_URL, fetch=fetcher, clock=clock, introspection=introspector
    )


def test_active_token_verifies_and_the_answer_is_cached(
    fetcher: FakeFetcher, clock: FakeClock, rsa_key: SigningKey
) -> None:
    adapter = ScriptedAdapter(Reply(200, {"active": True, "client_id": "svc-billing"}))
    verifier = make_verifier(adapter, fetcher, clock)
    token = rsa_key.sign(claims(now=clock.now))

    verifier.verify(token)
    clock.advance(59)
    verifier.verify(token)

    assert len(adapter.sent) == 1
    form = parse_qs(str(adapter.sent[0].body))
    assert form["token"] == [token]
    assert adapter.sent[0].headers["Authorization"].startswith("Basic ")


def test_cached_answer_expires_after_the_short_bound(
    fetcher: FakeFetcher, clock: FakeClock, rsa_key: SigningKey
) -> None:
    adapter = ScriptedAdapter(Reply(200, {"active": True}), Reply(200, {"active": False}))
    verifier = make_verifier(adapter, fetcher, clock)
    token = rsa_key.sign(claims(now=clock.now))
    verifier.verify(token)

    clock.advance(61)

    with pytest.raises(InvalidToken):
        verifier.verify(token)
    assert len(adapter.sent) == 2


def test_cached_answer_never_outlives_the_token(
    fetcher: FakeFetcher, clock: FakeClock, rsa_key: SigningKey
) -> None:
    adapter = ScriptedAdapter(Reply(200, {"active": True}))
    verifier = make_verifier(adapter, fetcher, clock)
    # expires in 20 s: the answer is cached 20 s, not 60 s
    token = rsa_key.sign(claims(now=clock.now, exp=int(clock.now) + 20))
    verifier.verify(token)

    clock.advance(21)  # expired, but within the 30 s leeway
    verifier.verify(token)

    assert len(adapter.sent) == 2


def test_revoked_token_is_invalid(
    fetcher: FakeFetcher, clock: FakeClock, rsa_key: SigningKey
) -> None:
    adapter = ScriptedAdapter(Reply(200, {"active": False}))
    verifier = make_verifier(adapter, fetcher, clock)

    with pytest.raises(InvalidToken) as raised:
        verifier.verify(rsa_key.sign(claims(now=clock.now)))

    assert raised.value.description == "the token is not active"


def test_locally_invalid_token_is_never_introspected(
    fetcher: FakeFetcher, clock: FakeClock, attacker_key: SigningKey
) -> None:
    adapter = ScriptedAdapter(Reply(200, {"active": True}))
    verifier = make_verifier(adapter, fetcher, clock)

    with pytest.raises(InvalidToken):
        verifier.verify(attacker_key.sign(claims(now=clock.now)))

    assert adapter.sent == []


@pytest.mark.parametrize(
    "reply", [Reply(500, {"error": "server_error"}), Reply(200, {"active": "yes"})]
)
def test_introspection_failure_fails_closed(
    fetcher: FakeFetcher, clock: FakeClock, rsa_key: SigningKey, reply: Reply
) -> None:
    verifier = make_verifier(ScriptedAdapter(reply), fetcher, clock)

    with pytest.raises(IntrospectionError):
        verifier.verify(rsa_key.sign(claims(now=clock.now)))


def test_introspection_logs_show_neither_token_nor_secret(
    fetcher: FakeFetcher,
    clock: FakeClock,
    rsa_key: SigningKey,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    verifier = make_verifier(ScriptedAdapter(Reply(200, {"active": True})), fetcher, clock)
    token = rsa_key.sign(claims(now=clock.now))

    verifier.verify(token)

    assert caplog.records
    assert token not in caplog.text
    assert token.split(".")[2] not in caplog.text
    assert "introspection-secret" not in caplog.text
