"""TokenClient: caching, concurrency, refresh ahead, retries, client authentication."""

from __future__ import annotations

import base64
import logging
import threading
from email.utils import formatdate
from typing import Any
from urllib.parse import parse_qs

import pytest
import requests
from m2m_testkit import (
    NOW,
    FakeClock,
    RecordingSleep,
    Reply,
    ScriptedAdapter,
    session_with,
    token_reply,
)

from m2m_client import (
    RetryPolicy,
    TokenClient,
    TokenEndpointError,
    TokenTransportError,
)
from m2m_client.token_client import refresh_time

TOKEN_URL = "https://auth.example.com/oauth/token"
API_URL = "https://api.example.com/orders"
CLIENT_ID = "svc-billing"
SECRET = "s3cr3t-value-never-logged"


def make_client(
    adapter: ScriptedAdapter,
    clock: FakeClock | None = None,
    sleep: RecordingSleep | None = None,
    *,
    client_id: str = CLIENT_ID,
    client_secret: str = SECRET,
    **options: Any,
) -> TokenClient:
    options.setdefault("session", session_with(adapter))
    options.setdefault("random", lambda: 0.5)
    return TokenClient(
        TOKEN_URL,
        client_id,
        client_secret,
        "https://api.example.com",
        clock=clock or FakeClock(),
        sleep=sleep or RecordingSleep(),
        **options,
    )


def form_of(request: requests.PreparedRequest) -> dict[str, list[str]]:
    body = request.body
    text = body.decode() if isinstance(body, bytes) else str(body)
    return parse_qs(text, keep_blank_values=True)


# --- caching ---------------------------------------------------------------------------------


def test_second_get_token_within_lifetime_makes_no_request() -> None:
    adapter = ScriptedAdapter(token_reply("tok-1"), token_reply("tok-2"))
    client = make_client(adapter)

    first = client.get_token()
    second = client.get_token()

    assert (first, second) == ("tok-1", "tok-1")
    assert len(adapter.sent) == 1


def test_concurrent_callers_share_one_token_request() -> None:
    # GIVEN a token endpoint that takes a while to answer
    adapter = ScriptedAdapter(token_reply("tok-1"), hold=0.05)
    client = make_client(adapter)
    barrier = threading.Barrier(20)
    results: list[str] = []
    lock = threading.Lock()

    def call() -> None:
        barrier.wait()
        token = client.get_token()
        with lock:
            results.append(token)

    # WHEN 20 threads ask for a token at once
    threads = [threading.Thread(target=call) for _ in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    # THEN one request was made and everyone got its token
    assert len(adapter.sent) == 1
    assert results == ["tok-1"] * 20


def test_token_is_renewed_at_eighty_percent_of_its_lifetime_when_that_comes_first() -> None:
    # expires_in 600: 80% is 480 s, 60 s before expiry is 540 s.
    clock = FakeClock()
    adapter = ScriptedAdapter(token_reply("tok-1", expires_in=600), token_reply("tok-2"))
    client = make_client(adapter, clock=clock)
    client.get_token()

    clock.advance(479)
    assert client.get_token() == "tok-1"
    clock.advance(2)
    assert client.get_token() == "tok-2"
    assert len(adapter.sent) == 2


def test_token_is_renewed_sixty_seconds_before_expiry_when_that_comes_first() -> None:
    # expires_in 200: 80% is 160 s, 60 s before expiry is 140 s, which comes first.
    clock = FakeClock()
    adapter = ScriptedAdapter(token_reply("tok-1", expires_in=200), token_reply("tok-2"))
    client = make_client(adapter, clock=clock)
    client.get_token()

    clock.advance(139)
    assert client.get_token() == "tok-1"
    clock.advance(2)
    assert client.get_token() == "tok-2"


@pytest.mark.parametrize(
    ("lifetime", "refresh_after"),
    [(3600, 2880), (300, 240), (200, 140), (100, 40), (60, 48), (10, 8)],
)
def test_refresh_time_is_the_earlier_of_eighty_percent_and_sixty_seconds_before(
    lifetime: int, refresh_after: float
) -> None:
    assert refresh_time(NOW, lifetime) - NOW == pytest.approx(refresh_after, abs=1e-6)


def test_callers_keep_the_valid_token_while_another_renews_it() -> None:
    # GIVEN a cached token due for renewal and a renewal that stays in flight
    clock = FakeClock()
    in_flight, release = threading.Event(), threading.Event()

    def slow_renewal() -> Reply:
        in_flight.set()
        release.wait(timeout=10)
        return token_reply("tok-2")

    adapter = ScriptedAdapter(token_reply("tok-1", expires_in=600), slow_renewal)
    client = make_client(adapter, clock=clock)
    client.get_token()
    clock.advance(500)  # renewal due at 480 s, expiry at 600 s
    renewed: list[str] = []
    renewer = threading.Thread(target=lambda: renewed.append(client.get_token()))
    renewer.start()
    assert in_flight.wait(timeout=10)

    # WHEN another caller asks meanwhile THEN it gets the valid token without waiting
    try:
        assert client.get_token() == "tok-1"
    finally:
        release.set()
        renewer.join()
    assert renewed == ["tok-2"]
    assert len(adapter.sent) == 2


def test_failed_renewal_keeps_serving_the_still_valid_token() -> None:
    clock = FakeClock()
    adapter = ScriptedAdapter(
        token_reply("tok-1", expires_in=3600),
        Reply(400, {"error": "invalid_client"}),
    )
    client = make_client(adapter, clock=clock)
    client.get_token()

    clock.advance(3000)  # due for renewal, not expired

    assert client.get_token() == "tok-1"
    assert len(adapter.sent) == 2


def test_expired_token_is_not_served_when_renewal_fails() -> None:
    clock = FakeClock()
    adapter = ScriptedAdapter(token_reply("tok-1", expires_in=100), Reply(401, {"error": "x"}))
    client = make_client(adapter, clock=clock)
    client.get_token()

    clock.advance(100)

    with pytest.raises(TokenEndpointError):
        client.get_token()


def test_invalidate_forces_a_new_request() -> None:
    adapter = ScriptedAdapter(token_reply("tok-1"), token_reply("tok-2"))
    client = make_client(adapter)
    client.get_token()

    client.invalidate()

    assert client.get_token() == "tok-2"


# --- retries ---------------------------------------------------------------------------------


def test_throttled_request_waits_retry_after_seconds() -> None:
    sleep = RecordingSleep()
    adapter = ScriptedAdapter(
        Reply(429, {"message": "Too Many Requests"}, headers={"Retry-After": "7"}),
        token_reply("tok-1"),
    )
    client = make_client(adapter, sleep=sleep)

    assert client.get_token() == "tok-1"
    assert sleep.delays == [7.0]
    assert len(adapter.sent) == 2


def test_unavailable_request_waits_until_retry_after_http_date() -> None:
    clock = FakeClock()
    sleep = RecordingSleep()
    retry_at = formatdate(NOW + 30, usegmt=True)
    adapter = ScriptedAdapter(
        Reply(503, {"error": "temporarily_unavailable"}, headers={"Retry-After": retry_at}),
        token_reply("tok-1"),
    )
    client = make_client(adapter, clock=clock, sleep=sleep)

    assert client.get_token() == "tok-1"
    assert sleep.delays == [pytest.approx(30.0)]


def test_retry_after_longer_than_the_policy_allows_is_raised_not_waited() -> None:
    sleep = RecordingSleep()
    adapter = ScriptedAdapter(Reply(429, {}, headers={"Retry-After": "3600"}), token_reply())
    client = make_client(adapter, sleep=sleep)

    with pytest.raises(TokenEndpointError) as raised:
        client.get_token()

    assert raised.value.status == 429
    assert raised.value.retry_after == 3600.0
    assert sleep.delays == []
    assert len(adapter.sent) == 1


def test_server_errors_are_retried_with_exponential_backoff() -> None:
    sleep = RecordingSleep()
    adapter = ScriptedAdapter(
        Reply(500, {"error": "server_error"}),
        Reply(502, raw=b"<html>Bad Gateway</html>"),
        token_reply("tok-1"),
    )
    client = make_client(adapter, sleep=sleep, retry=RetryPolicy(base_delay=1.0))

    assert client.get_token() == "tok-1"
    # full jitter with random() = 0.5: half of 1 s, then half of 2 s
    assert sleep.delays == [0.5, 1.0]
    assert len(adapter.sent) == 3


def test_backoff_is_capped() -> None:
    policy = RetryPolicy(base_delay=1.0, max_delay=5.0)

    assert policy.backoff(10, lambda: 1.0) == 5.0


def test_retries_stop_after_max_attempts_with_the_last_error() -> None:
    sleep = RecordingSleep()
    adapter = ScriptedAdapter(Reply(500, {"error": "server_error", "error_description": "boom"}))
    client = make_client(adapter, sleep=sleep, retry=RetryPolicy(max_attempts=3))

    with pytest.raises(TokenEndpointError) as raised:
        client.get_token()

    assert raised.value.error == "server_error"
    assert raised.value.error_description == "boom"
    assert len(adapter.sent) == 3
    assert len(sleep.delays) == 2


def test_connection_errors_are_retried() -> None:
    sleep = RecordingSleep()
    adapter = ScriptedAdapter(requests.ConnectionError("refused"), token_reply("tok-1"))
    client = make_client(adapter, sleep=sleep)

    assert client.get_token() == "tok-1"
    assert len(sleep.delays) == 1


def test_persistent_connection_errors_raise_a_transport_error() -> None:
    adapter = ScriptedAdapter(requests.ConnectionError("refused"))
    client = make_client(adapter, retry=RetryPolicy(max_attempts=2))

    with pytest.raises(TokenTransportError):
        client.get_token()
    assert len(adapter.sent) == 2


def test_invalid_client_is_raised_after_exactly_one_request() -> None:
    sleep = RecordingSleep()
    adapter = ScriptedAdapter(
        Reply(401, {"error": "invalid_client", "error_description": "authentication failed"}),
        token_reply(),
    )
    client = make_client(adapter, sleep=sleep)

    with pytest.raises(TokenEndpointError) as raised:
        client.get_token()

    assert raised.value.error == "invalid_client"
    assert raised.value.error_description == "authentication failed"
    assert raised.value.status == 401
    assert len(adapter.sent) == 1
    assert sleep.delays == []


@pytest.mark.parametrize("error", ["invalid_scope", "invalid_request", "unauthorized_client"])
def test_other_client_errors_are_not_retried(error: str) -> None:
    adapter = ScriptedAdapter(Reply(400, {"error": error}), token_reply())
    client = make_client(adapter)

    with pytest.raises(TokenEndpointError) as raised:
        client.get_token()

    assert raised.value.error == error
    assert len(adapter.sent) == 1


@pytest.mark.parametrize(
    "body",
    [
        {"token_type": "Bearer", "expires_in": 60},
        {"access_token": "t", "token_type": "mac", "expires_in": 60},
        {"access_token": "t", "token_type": "Bearer"},
        {"access_token": "t", "token_type": "Bearer", "expires_in": "soon"},
        ["not", "an", "object"],
    ],
)
def test_malformed_success_response_is_a_transport_error(body: Any) -> None:
    client = make_client(ScriptedAdapter(Reply(200, body)))

    with pytest.raises(TokenTransportError):
        client.get_token()


def test_redirect_from_the_token_endpoint_is_refused() -> None:
    adapter = ScriptedAdapter(Reply(302, {}, headers={"Location": "https://elsewhere.example"}))
    client = make_client(adapter)

    with pytest.raises(TokenTransportError):
        client.get_token()
    assert len(adapter.sent) == 1


# --- client authentication -------------------------------------------------------------------


def test_basic_auth_form_urlencodes_id_and_secret_before_base64() -> None:
    adapter = ScriptedAdapter(token_reply())
    client = make_client(adapter, client_id="svc:orders/1", client_secret="p@ss w+rd&=%é")

    client.get_token()

    # RFC 6749 §2.3.1 / Appendix B, encoded by hand: ':'→%3A '/'→%2F '@'→%40 ' '→+ ...
    expected = "svc%3Aorders%2F1:p%40ss+w%2Brd%26%3D%25%C3%A9"
    request = adapter.sent[0]
    assert (
        request.headers["Authorization"] == "Basic " + base64.b64encode(expected.encode()).decode()
    )
    form = form_of(request)
    assert "client_secret" not in form
    assert "client_id" not in form


def test_post_auth_sends_id_and_secret_in_the_body() -> None:
    adapter = ScriptedAdapter(token_reply())
    client = make_client(
        adapter,
        client_id="svc:orders/1",
        client_secret="p@ss w+rd&=%é",
        auth_method="client_secret_post",
    )

    client.get_token()

    request = adapter.sent[0]
    assert "Authorization" not in request.headers
    form = form_of(request)
    assert form["client_id"] == ["svc:orders/1"]
    assert form["client_secret"] == ["p@ss w+rd&=%é"]


def test_token_request_carries_grant_audience_and_scope() -> None:
    adapter = ScriptedAdapter(token_reply())
    client = make_client(adapter, scope=["orders:read", "orders:write"])

    client.get_token()

    request = adapter.sent[0]
    assert request.method == "POST"
    assert request.url == TOKEN_URL
    assert request.headers["Content-Type"] == "application/x-www-form-urlencoded"
    form = form_of(request)
    assert form["grant_type"] == ["client_credentials"]
    assert form["audience"] == ["https://api.example.com"]
    assert form["scope"] == ["orders:read orders:write"]


def test_unknown_auth_method_is_refused() -> None:
    with pytest.raises(ValueError):
        make_client(ScriptedAdapter(token_reply()), auth_method="private_key_jwt")


# --- HTTP client integration -----------------------------------------------------------------


def test_requests_auth_hook_adds_the_bearer_header() -> None:
    adapter = ScriptedAdapter(token_reply("tok-1"), Reply(200, {"orders": []}))
    session = session_with(adapter)
    client = make_client(adapter, session=session)

    response = session.get(API_URL, auth=client)

    assert response.status_code == 200
    api_requests = adapter.sent_to(API_URL)
    assert len(api_requests) == 1
    assert api_requests[0].headers["Authorization"] == "Bearer tok-1"


def test_httpx_style_auth_flow_sets_the_header_and_yields_the_request_once() -> None:
    class FakeHttpxRequest:
        def __init__(self) -> None:
            self.headers: dict[str, str] = {}

    client = make_client(ScriptedAdapter(token_reply("tok-1")))
    request = FakeHttpxRequest()

    sent = list(client.auth_flow(request))

    assert sent == [request]
    assert request.headers["Authorization"] == "Bearer tok-1"


# --- secrets stay secret ---------------------------------------------------------------------


def test_repr_shows_neither_secret_nor_token() -> None:
    client = make_client(ScriptedAdapter(token_reply("tok-visible?")))
    token = client.token()

    assert SECRET not in repr(client)
    assert "tok-visible?" not in repr(token)
    assert SECRET not in repr(vars(client))


def test_logs_show_neither_secret_nor_token(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    adapter = ScriptedAdapter(
        Reply(503, {"error": "temporarily_unavailable"}), token_reply("tok-private")
    )
    client = make_client(adapter)

    client.get_token()

    assert caplog.records, "expected the retry and the new token to be logged"
    assert SECRET not in caplog.text
    assert "tok-private" not in caplog.text
