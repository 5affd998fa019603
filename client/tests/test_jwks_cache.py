"""The verifier's JWKS cache: HTTP freshness, rate limits, outages, rotation, discovery."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from m2m_testkit import (
    AUDIENCE,
    ISSUER,
    JWKS_URL,
    METADATA_URL,
    FakeClock,
    FakeFetcher,
    SigningKey,
    claims,
    json_response,
    jwks_response,
)

from m2m_client import CachePolicy, DiscoveryError, InvalidToken, KeySetError, Verifier
from m2m_client.fetch import HttpResponse
from m2m_client.jwks import freshness_lifetime, parse_jwks


def make_verifier(fetcher: FakeFetcher, clock: FakeClock, **options: Any) -> Verifier:
    options.setdefault("jwks_url", JWKS_URL)
    return Verifier(ISSUER, AUDIENCE, fetch=fetcher, clock=clock, **options)


# --- freshness (RFC 9111) --------------------------------------------------------------------


def test_max_age_is_honoured(
    verifier: Verifier, fetcher: FakeFetcher, clock: FakeClock, rsa_key: SigningKey
) -> None:
    # GIVEN a JWKS served with max-age=600 and a warm cache
    verifier.verify(rsa_key.sign(claims(now=clock.now)))
    assert fetcher.count(JWKS_URL) == 1

    # WHEN time passes within max-age THEN no refetch
    clock.advance(599)
    verifier.verify(rsa_key.sign(claims(now=clock.now)))
    assert fetcher.count(JWKS_URL) == 1

    # WHEN max-age has passed THEN the set is fetched again
    clock.advance(2)
    verifier.verify(rsa_key.sign(claims(now=clock.now)))
    assert fetcher.count(JWKS_URL) == 2


@pytest.mark.parametrize(
    ("headers", "lifetime"),
    [
        ({}, 300.0),  # default
        ({"cache-control": "public, max-age=600"}, 600.0),
        ({"cache-control": "max-age=600", "age": "100"}, 500.0),
        ({"cache-control": "max-age=999999999"}, 86400.0),  # clamped to a day
        ({"cache-control": "no-cache, max-age=0"}, 30.0),  # floored at the refresh interval
        ({"cache-control": "max-age=abc"}, 300.0),
    ],
)
def test_freshness_lifetime_follows_cache_control_within_bounds(
    headers: dict[str, str], lifetime: float
) -> None:
    assert freshness_lifetime(HttpResponse(200, headers, b""), CachePolicy()) == lifetime


def test_missing_max_age_uses_the_default(
    fetcher: FakeFetcher, clock: FakeClock, rsa_key: SigningKey
) -> None:
    fetcher.routes[JWKS_URL] = jwks_response(rsa_key, cache_control=None)
    verifier = make_verifier(fetcher, clock)
    verifier.verify(rsa_key.sign(claims(now=clock.now)))

    clock.advance(299)
    verifier.verify(rsa_key.sign(claims(now=clock.now)))
    assert fetcher.count(JWKS_URL) == 1
    clock.advance(2)
    verifier.verify(rsa_key.sign(claims(now=clock.now)))
    assert fetcher.count(JWKS_URL) == 2


# --- unknown kid -----------------------------------------------------------------------------


def test_unknown_kids_refetch_at_most_once_per_interval(
    verifier: Verifier,
    fetcher: FakeFetcher,
    clock: FakeClock,
    rsa_key: SigningKey,
) -> None:
    # GIVEN a warm cache, last fetched more than the refresh interval ago
    verifier.verify(rsa_key.sign(claims(now=clock.now)))
    clock.advance(31)

    # WHEN 100 forged tokens with 100 different unknown kids arrive
    for n in range(100):
        with pytest.raises(InvalidToken):
            verifier.verify(rsa_key.sign(claims(now=clock.now), kid=f"garbage-{n}"))

    # THEN the JWKS endpoint was asked once more, not 100 times
    assert fetcher.count(JWKS_URL) == 2


def test_unknown_kid_right_after_a_fetch_does_not_refetch(
    verifier: Verifier, fetcher: FakeFetcher, clock: FakeClock, rsa_key: SigningKey
) -> None:
    verifier.verify(rsa_key.sign(claims(now=clock.now)))

    with pytest.raises(InvalidToken):
        verifier.verify(rsa_key.sign(claims(now=clock.now), kid="garbage"))

    assert fetcher.count(JWKS_URL) == 1


# --- outages ---------------------------------------------------------------------------------


def test_last_good_set_is_used_while_the_endpoint_is_down(
    verifier: Verifier, fetcher: FakeFetcher, clock: FakeClock, rsa_key: SigningKey
) -> None:
    verifier.verify(rsa_key.sign(claims(now=clock.now)))
    fetcher.go_down(JWKS_URL)
    clock.advance(601)  # the set is stale

    verified = verifier.verify(rsa_key.sign(claims(now=clock.now)))

    assert verified.client_id == "svc-billing"
    assert fetcher.count(JWKS_URL) == 2  # it did try


@pytest.mark.parametrize(
    "failure",
    [
        HttpResponse(500, {}, b"oops"),
        HttpResponse(200, {}, b"<html>"),
        HttpResponse(200, {}, b'{"no": "keys"}'),
    ],
)
def test_bad_answers_do_not_wipe_the_cache(
    verifier: Verifier,
    fetcher: FakeFetcher,
    clock: FakeClock,
    rsa_key: SigningKey,
    failure: HttpResponse,
) -> None:
    verifier.verify(rsa_key.sign(claims(now=clock.now)))
    fetcher.routes[JWKS_URL] = failure
    clock.advance(601)

    verifier.verify(rsa_key.sign(claims(now=clock.now)))


def test_retries_against_a_down_endpoint_are_spaced_out(
    verifier: Verifier, fetcher: FakeFetcher, clock: FakeClock, rsa_key: SigningKey
) -> None:
    verifier.verify(rsa_key.sign(claims(now=clock.now)))
    fetcher.go_down(JWKS_URL)
    clock.advance(601)

    for _ in range(50):
        verifier.verify(rsa_key.sign(claims(now=clock.now)))

    assert fetcher.count(JWKS_URL) == 2


def test_no_set_at_all_is_a_key_set_error_not_an_invalid_token(
    fetcher: FakeFetcher, clock: FakeClock, rsa_key: SigningKey
) -> None:
    fetcher.go_down(JWKS_URL)
    verifier = make_verifier(fetcher, clock)

    with pytest.raises(KeySetError):
        verifier.verify(rsa_key.sign(claims(now=clock.now)))
    with pytest.raises(KeySetError):
        verifier.verify(rsa_key.sign(claims(now=clock.now)))
    assert fetcher.count(JWKS_URL) == 1  # the second call waited for the retry interval


def test_concurrent_cold_start_fetches_the_set_once(
    fetcher: FakeFetcher, clock: FakeClock, rsa_key: SigningKey
) -> None:
    verifier = make_verifier(fetcher, clock)
    token = rsa_key.sign(claims(now=clock.now))
    barrier = threading.Barrier(16)
    failures: list[BaseException] = []

    def call() -> None:
        barrier.wait()
        try:
            verifier.verify(token)
        except BaseException as exc:  # collected and asserted below
            failures.append(exc)

    threads = [threading.Thread(target=call) for _ in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert failures == []
    assert fetcher.count(JWKS_URL) == 1


# --- rotation --------------------------------------------------------------------------------


def test_new_key_is_picked_up_and_the_previous_one_still_verifies(
    fetcher: FakeFetcher, clock: FakeClock, rsa_key: SigningKey, rsa_key_next: SigningKey
) -> None:
    # GIVEN a verifier that knows only the current key
    fetcher.routes[JWKS_URL] = jwks_response(rsa_key)
    verifier = make_verifier(fetcher, clock)
    verifier.verify(rsa_key.sign(claims(now=clock.now)))

    # WHEN the server publishes a new key and starts signing with it
    fetcher.routes[JWKS_URL] = jwks_response(rsa_key_next, rsa_key)
    clock.advance(31)

    # THEN tokens from the new kid verify without restarting the verifier
    assert verifier.verify(rsa_key_next.sign(claims(now=clock.now))).client_id == "svc-billing"
    # AND tokens from the previous key still verify while it is published
    verifier.verify(rsa_key.sign(claims(now=clock.now)))
    assert fetcher.count(JWKS_URL) == 2


def test_key_removed_from_the_set_stops_verifying_after_a_refresh(
    fetcher: FakeFetcher, clock: FakeClock, rsa_key: SigningKey, rsa_key_next: SigningKey
) -> None:
    fetcher.routes[JWKS_URL] = jwks_response(rsa_key_next, rsa_key)
    verifier = make_verifier(fetcher, clock)
    verifier.verify(rsa_key.sign(claims(now=clock.now)))

    fetcher.routes[JWKS_URL] = jwks_response(rsa_key_next)
    clock.advance(601)
    verifier.verify(rsa_key_next.sign(claims(now=clock.now)))  # triggers the refresh

    with pytest.raises(InvalidToken):
        verifier.verify(rsa_key.sign(claims(now=clock.now)))


# --- which keys are used (RFC 7517) ----------------------------------------------------------


def test_only_public_signature_keys_of_allowed_algorithms_are_kept(
    rsa_key: SigningKey, ec_key: SigningKey, rsa_key_next: SigningKey
) -> None:
    good = rsa_key.public_jwk()
    encryption = {**rsa_key_next.public_jwk(), "kid": "enc", "use": "enc"}
    no_alg = {k: v for k, v in ec_key.public_jwk().items() if k != "alg"} | {"kid": "no-alg"}
    hmac_key = {"kty": "oct", "k": "c2VjcmV0", "alg": "HS256", "kid": "hmac", "use": "sig"}
    wrong_type = {**ec_key.public_jwk(), "kid": "ec-as-rsa", "alg": "RS256"}
    private = {**rsa_key_next.public_jwk(), "kid": "private", "d": "AQAB"}
    no_kid = {k: v for k, v in rsa_key_next.public_jwk().items() if k != "kid"}

    keys = parse_jwks(
        {"keys": [good, encryption, no_alg, hmac_key, wrong_type, private, no_kid, "junk"]},
        {"RS256", "ES256"},
    )

    assert set(keys) == {rsa_key.kid}


def test_short_rsa_keys_are_skipped() -> None:
    weak = SigningKey.rsa(bits=1024)

    assert parse_jwks({"keys": [weak.public_jwk()]}, {"RS256"}) == {}


# --- discovery (RFC 8414) --------------------------------------------------------------------


def test_jwks_uri_is_discovered_from_the_metadata(clock: FakeClock, rsa_key: SigningKey) -> None:
    keys_url = "https://keys.example.com/jwks"
    fetcher = FakeFetcher(
        routes={
            METADATA_URL: json_response({"issuer": ISSUER, "jwks_uri": keys_url}),
            keys_url: jwks_response(rsa_key),
        }
    )
    verifier = make_verifier(fetcher, clock, jwks_url=None)

    verifier.verify(rsa_key.sign(claims(now=clock.now)))
    clock.advance(601)
    verifier.verify(rsa_key.sign(claims(now=clock.now)))

    assert fetcher.calls == [METADATA_URL, keys_url, keys_url]


@pytest.mark.parametrize("issuer", ["https://auth.example.com/", "https://evil.example.com", None])
def test_metadata_naming_another_issuer_is_rejected(
    clock: FakeClock, rsa_key: SigningKey, issuer: str | None
) -> None:
    fetcher = FakeFetcher(
        routes={
            METADATA_URL: json_response({"issuer": issuer, "jwks_uri": JWKS_URL}),
            JWKS_URL: jwks_response(rsa_key),
        }
    )
    verifier = make_verifier(fetcher, clock, jwks_url=None)

    with pytest.raises(DiscoveryError):
        verifier.verify(rsa_key.sign(claims(now=clock.now)))
    assert JWKS_URL not in fetcher.calls


def test_metadata_with_a_plain_http_jwks_uri_is_rejected(
    clock: FakeClock, rsa_key: SigningKey
) -> None:
    fetcher = FakeFetcher(
        routes={
            METADATA_URL: json_response(
                {"issuer": ISSUER, "jwks_uri": "http://keys.example.com/jwks"}
            ),
        }
    )
    verifier = make_verifier(fetcher, clock, jwks_url=None)

    with pytest.raises(DiscoveryError):
        verifier.verify(rsa_key.sign(claims(now=clock.now)))
