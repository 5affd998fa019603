"""The guarded fetch of issuers' keys: URL rules, the resolved-address guard, redirects,
size and time limits, and the per-container key cache (docs/federation.md).

Tests of the address guard inject the resolver and the connector: they assert what was
asked and never open a connection to anything but loopback."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from chalicelib.federation.jwks_fetch import (
    MAX_TTL,
    MIN_TTL,
    IssuerKeys,
    KeysUnavailable,
    cache_seconds,
    signing_keys,
)
from chalicelib.federation.safe_http import (
    FetchFailed,
    FetchRefused,
    HttpConnector,
    Response,
    SafeFetcher,
    Target,
    address_allowed,
    check_url,
)
from chalicelib.store.records import TrustedIssuer
from tests.fakes import FakeClock
from tests.oidc_issuer import TestIssuer, serve_issuer

PUBLIC = "93.184.215.14"


class RecordingResolver:
    def __init__(self, answers: dict[str, list[str]]) -> None:
        self.answers = answers
        self.asked: list[tuple[str, int]] = []

    def __call__(self, host: str, port: int) -> list[str]:
        self.asked.append((host, port))
        return self.answers[host]


class RecordingConnector:
    """Answers from a table by URL path; records every target; never touches a socket."""

    def __init__(self, responses: dict[str, Response] | None = None) -> None:
        self.responses = responses or {}
        self.targets: list[Target] = []

    def __call__(self, target: Target, timeout: float, max_bytes: int) -> Response:
        self.targets.append(target)
        return self.responses[target.path]


def _json(document: Any, **headers: str) -> Response:
    return Response(200, {k.lower().replace("_", "-"): v for k, v in headers.items()},
                    json.dumps(document).encode())


# -- URL rules (no lookup, no request) --------------------------------------------


@pytest.mark.parametrize("url", [
    "http://issuer.example/jwks",
    "https://169.254.169.254/latest/meta-data/",
    "https://10.0.0.8/jwks",
    "https://192.168.1.1/jwks",
    "https://172.16.0.1/jwks",
    "https://100.64.0.1/jwks",
    "https://127.0.0.1/jwks",
    "https://[::1]/jwks",
    "https://[fe80::1]/jwks",
    "https://[::ffff:169.254.169.254]/jwks",
    "https://[fd00::1]/jwks",
    "https://0.0.0.0/jwks",
    "https://user:pw@issuer.example/jwks",
    "https://issuer.example/jwks#frag",
    "ftp://issuer.example/jwks",
    "https:///jwks",
    "https://issuer.example:99999/jwks",
    "https://issuer.example/jw ks",
    "https://[issuer.example/jwks",  # urlsplit raises ValueError (was a 500)
    "https://[not-an-address]/jwks",
    "https://issuer.example]/jwks",
])
def test_rejects_url_outside_the_rules_without_a_lookup(url: str) -> None:
    resolver = RecordingResolver({})
    connector = RecordingConnector()
    fetcher = SafeFetcher(local_mode=False, resolver=resolver, connector=connector)

    with pytest.raises(FetchRefused):
        fetcher.get_json(url)

    assert resolver.asked == [] and connector.targets == []


def test_local_mode_accepts_http_on_127_0_0_1_only() -> None:
    assert check_url("http://127.0.0.1:8123/jwks", local_mode=True).port == 8123
    with pytest.raises(FetchRefused):
        check_url("http://127.0.0.1:8123/jwks", local_mode=False)
    with pytest.raises(FetchRefused):
        check_url("http://localhost:8123/jwks", local_mode=True)
    with pytest.raises(FetchRefused):
        check_url("https://169.254.169.254/", local_mode=True)


def test_address_policy_allows_public_unicast_only() -> None:
    import ipaddress

    allowed = ["93.184.215.14", "2606:2800:21f:cb07:6820:80da:af6b:8b2c"]
    refused = ["169.254.169.254", "10.1.2.3", "127.0.0.1", "100.100.1.1", "224.0.0.1",
               "240.0.0.1", "::1", "fc00::1", "::ffff:10.0.0.1", "2002:a9fe:a9fe::1",
               "fd00:ec2::254"]
    for address in allowed:
        assert address_allowed(ipaddress.ip_address(address), local_mode=False), address
    for address in refused:
        assert not address_allowed(ipaddress.ip_address(address), local_mode=False), address


# -- resolved addresses ---------------------------------------------------------------


@pytest.mark.parametrize("resolved", [
    ["169.254.169.254"],
    ["10.0.0.5"],
    [PUBLIC, "192.168.0.10"],
    ["127.0.0.1"],
    ["::ffff:169.254.169.254"],
])
def test_rejects_host_resolving_to_a_non_public_address_without_a_request(
    resolved: list[str],
) -> None:
    # GIVEN a registered host name whose DNS answer points inside the network
    resolver = RecordingResolver({"keys.issuer.example": resolved})
    connector = RecordingConnector()
    fetcher = SafeFetcher(local_mode=False, resolver=resolver, connector=connector)

    # WHEN its keys are fetched THEN the fetch is refused before any connection
    with pytest.raises(FetchRefused):
        fetcher.get_json("https://keys.issuer.example/jwks")

    assert resolver.asked == [("keys.issuer.example", 443)]
    assert connector.targets == []


def test_connects_to_the_checked_address_with_the_host_name() -> None:
    resolver = RecordingResolver({"keys.issuer.example": [PUBLIC]})
    connector = RecordingConnector({"/jwks?v=1": _json({"keys": []})})
    fetcher = SafeFetcher(local_mode=False, resolver=resolver, connector=connector)

    document, _ = fetcher.get_json("https://keys.issuer.example/jwks?v=1")

    assert document == {"keys": []}
    assert connector.targets == [
        Target("https", "keys.issuer.example", 443, "/jwks?v=1", PUBLIC)
    ]


def test_follows_a_redirect_on_the_same_host_only() -> None:
    resolver = RecordingResolver({"issuer.example": [PUBLIC]})
    connector = RecordingConnector({
        "/jwks": Response(302, {"location": "/keys"}),
        "/keys": _json({"keys": []}),
    })
    fetcher = SafeFetcher(local_mode=False, resolver=resolver, connector=connector)

    assert fetcher.get_json("https://issuer.example/jwks")[0] == {"keys": []}
    assert [t.path for t in connector.targets] == ["/jwks", "/keys"]


@pytest.mark.parametrize("location", [
    "https://other.example/jwks",
    "http://issuer.example/jwks",
    "https://issuer.example:8443/jwks",
    "https://169.254.169.254/latest/meta-data/iam/security-credentials/",
])
def test_rejects_redirect_to_another_host_scheme_or_port(location: str) -> None:
    resolver = RecordingResolver({"issuer.example": [PUBLIC]})
    connector = RecordingConnector({"/jwks": Response(302, {"location": location})})
    fetcher = SafeFetcher(local_mode=False, resolver=resolver, connector=connector)

    with pytest.raises(FetchRefused):
        fetcher.get_json("https://issuer.example/jwks")

    assert [t.path for t in connector.targets] == ["/jwks"]


def test_rejects_endless_same_host_redirects() -> None:
    resolver = RecordingResolver({"issuer.example": [PUBLIC]})
    connector = RecordingConnector({"/jwks": Response(302, {"location": "/jwks"})})
    fetcher = SafeFetcher(local_mode=False, resolver=resolver, connector=connector)

    with pytest.raises(FetchFailed):
        fetcher.get_json("https://issuer.example/jwks")

    assert len(connector.targets) == 3


@pytest.mark.parametrize("response", [
    Response(500, {}, b"{}"),
    Response(200, {}, b"<keys/>"),
    Response(200, {}, b"[1, 2]"),
])
def test_rejects_error_status_and_non_object_bodies(response: Response) -> None:
    fetcher = SafeFetcher(False, RecordingResolver({"i.example": [PUBLIC]}),
                          RecordingConnector({"/jwks": response}))

    with pytest.raises(FetchFailed):
        fetcher.get_json("https://i.example/jwks")


def test_rejects_a_deeply_nested_body_as_not_json_rather_than_crashing() -> None:
    # 10,000 nested arrays fit the size cap and exhaust Python's JSON recursion limit
    nested = Response(200, {}, b"[" * 10_000 + b"]" * 10_000)
    fetcher = SafeFetcher(False, RecordingResolver({"i.example": [PUBLIC]}),
                          RecordingConnector({"/jwks": nested}))

    with pytest.raises(FetchFailed, match="not JSON"):
        fetcher.get_json("https://i.example/jwks")


# -- the real connector against a loopback issuer -------------------------------------


@pytest.fixture
def issuer() -> Iterator[TestIssuer]:
    with serve_issuer() as served:
        yield served


def test_real_connector_fetches_a_key_set_from_loopback_in_local_mode(
    issuer: TestIssuer,
) -> None:
    document, headers = SafeFetcher(local_mode=True).get_json(issuer.jwks_uri)

    assert {k["kid"] for k in document["keys"]} == {"rsa-1", "ec-1"}
    assert headers["cache-control"] == "public, max-age=600"


def test_refuses_loopback_issuer_outside_local_mode(issuer: TestIssuer) -> None:
    with pytest.raises(FetchRefused):
        SafeFetcher(local_mode=False).get_json(issuer.jwks_uri)

    assert issuer.behaviour.requests == []


@pytest.mark.parametrize("chunked", [False, True])
def test_rejects_oversized_key_set(issuer: TestIssuer, chunked: bool) -> None:
    issuer.behaviour.jwks_padding = 70_000
    issuer.behaviour.chunked = chunked

    with pytest.raises(FetchFailed, match="too large"):
        SafeFetcher(local_mode=True).get_json(issuer.jwks_uri)


class SteppingClock:
    """Each reading is one second later than the last (no real waiting in the test)."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        self.now += 1.0
        return self.now


def test_rejects_key_set_that_trickles_in_past_the_deadline(issuer: TestIssuer) -> None:
    # GIVEN an issuer that sends its key set in small chunks, each within the read timeout
    issuer.behaviour.drip_seconds = 0.005
    issuer.behaviour.jwks_padding = 10_000
    connector = HttpConnector(clock=SteppingClock())
    fetcher = SafeFetcher(local_mode=True, connector=connector, timeout=3.0)

    # WHEN the whole exchange outlasts the deadline THEN the fetch fails
    with pytest.raises(FetchFailed, match="too slow"):
        fetcher.get_json(issuer.jwks_uri)


def test_rejects_issuer_that_does_not_answer_within_the_timeout() -> None:
    import socket

    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)  # accepts the connection, never answers
    try:
        port = listener.getsockname()[1]
        with pytest.raises(FetchFailed):
            SafeFetcher(local_mode=True, timeout=0.2).get_json(f"http://127.0.0.1:{port}/jwks")
    finally:
        listener.close()


def test_gives_up_on_headers_that_trickle_in_past_the_deadline() -> None:
    import socket
    import threading
    import time

    # GIVEN an issuer that sends its status line, then one header byte at a time, each
    # well within the per-read timeout (a slowloris on the header phase, which the
    # body loop's deadline check never sees)
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)
    sent = {"bytes": 0, "hung_up": False}
    header_bytes = 400  # 0.02 s apart: 8 s unless the client hangs up

    def drip() -> None:
        connection, _ = listener.accept()
        with connection:
            connection.recv(4096)
            try:
                connection.sendall(b"HTTP/1.1 200 OK\r\nX-Slow: ")
                for _ in range(header_bytes):
                    connection.sendall(b"a")
                    sent["bytes"] += 1
                    time.sleep(0.02)
                connection.sendall(b"\r\nContent-Length: 11\r\n\r\n{\"keys\":[]}")
            except OSError:
                sent["hung_up"] = True

    server = threading.Thread(target=drip, daemon=True)
    server.start()
    try:
        port = listener.getsockname()[1]
        # WHEN the key set is fetched with a 0.3 s deadline
        with pytest.raises(FetchFailed):
            SafeFetcher(local_mode=True, timeout=0.3).get_json(f"http://127.0.0.1:{port}/jwks")
        server.join(timeout=30)
    finally:
        listener.close()

    # THEN the client hung up long before the issuer finished dripping
    assert sent["hung_up"] and sent["bytes"] < header_bytes


# -- the key cache --------------------------------------------------------------------


def _trusted(issuer: TestIssuer, jwks_uri: str | None = None) -> TrustedIssuer:
    return TrustedIssuer("iss_test", issuer.issuer, "Test", "oidc", jwks_uri)


def test_discovers_jwks_uri_and_caches_the_key_set(issuer: TestIssuer, clock: FakeClock) -> None:
    keys = IssuerKeys(SafeFetcher(local_mode=True), clock, local_mode=True)

    assert keys.key(_trusted(issuer), "rsa-1") is not None
    assert keys.key(_trusted(issuer), "ec-1") is not None

    assert issuer.behaviour.requests == ["/.well-known/openid-configuration", "/jwks"]


def test_unknown_kid_refetches_at_most_once_per_interval(
    issuer: TestIssuer, clock: FakeClock,
) -> None:
    keys = IssuerKeys(SafeFetcher(local_mode=True), clock, local_mode=True)
    trusted = _trusted(issuer, issuer.jwks_uri)
    keys.key(trusted, "rsa-1")

    assert keys.key(trusted, "made-up-1") is None
    assert keys.key(trusted, "made-up-2") is None
    assert issuer.behaviour.requests == ["/jwks"]

    clock.advance(31)
    assert keys.key(trusted, "made-up-3") is None
    assert issuer.behaviour.requests == ["/jwks", "/jwks"]


def test_new_kid_is_found_after_the_issuer_rotates(issuer: TestIssuer, clock: FakeClock) -> None:
    keys = IssuerKeys(SafeFetcher(local_mode=True), clock, local_mode=True)
    trusted = _trusted(issuer, issuer.jwks_uri)
    keys.key(trusted, "rsa-1")
    issuer.kids["rsa"] = "rsa-2"
    clock.advance(31)

    assert keys.key(trusted, "rsa-2") is not None


def test_keeps_the_last_good_key_set_when_the_issuer_is_down(
    issuer: TestIssuer, clock: FakeClock,
) -> None:
    keys = IssuerKeys(SafeFetcher(local_mode=True), clock, local_mode=True)
    trusted = _trusted(issuer, issuer.jwks_uri)
    keys.key(trusted, "rsa-1")
    issuer.behaviour.status = 503
    clock.advance(MAX_TTL + 1)

    assert keys.key(trusted, "rsa-1") is not None
    assert issuer.behaviour.requests == ["/jwks", "/jwks"]


def test_keys_never_fetched_and_issuer_down_is_unavailable(
    issuer: TestIssuer, clock: FakeClock,
) -> None:
    issuer.behaviour.status = 503
    keys = IssuerKeys(SafeFetcher(local_mode=True), clock, local_mode=True)

    with pytest.raises(KeysUnavailable):
        keys.key(_trusted(issuer, issuer.jwks_uri), "rsa-1")


def test_status_fetches_a_set_never_fetched_and_then_answers_from_the_cache(
    issuer: TestIssuer, clock: FakeClock,
) -> None:
    keys = IssuerKeys(SafeFetcher(local_mode=True), clock, local_mode=True)
    trusted = _trusted(issuer)

    first = keys.status(trusted)
    again = keys.status(trusted)

    assert first == again and first.state == "ok"
    assert first.jwks_uri == issuer.jwks_uri  # discovered
    assert [k["kid"] for k in first.keys] == ["ec-1", "rsa-1"]
    assert all("n" not in k and "x" not in k for k in first.keys)  # ids, not key material
    assert issuer.behaviour.requests == ["/.well-known/openid-configuration", "/jwks"]


def test_status_refreshes_at_most_once_per_interval_while_failing(
    issuer: TestIssuer, clock: FakeClock,
) -> None:
    issuer.behaviour.status = 503
    keys = IssuerKeys(SafeFetcher(local_mode=True), clock, local_mode=True)
    trusted = _trusted(issuer, issuer.jwks_uri)

    assert keys.status(trusted).state == "unavailable"
    assert keys.status(trusted).state == "unavailable"
    assert issuer.behaviour.requests == ["/jwks"]
    issuer.behaviour.status = 200
    clock.advance(31)
    assert keys.status(trusted).state == "ok"


def test_status_of_a_key_set_url_breaking_the_rules_is_refused(clock: FakeClock) -> None:
    resolver = RecordingResolver({"issuer.example": ["169.254.169.254"]})
    connector = RecordingConnector()
    keys = IssuerKeys(SafeFetcher(False, resolver, connector), clock)
    trusted = TrustedIssuer("iss_x", "https://issuer.example", "X", "oidc",
                            "https://issuer.example/jwks")

    assert keys.status(trusted).state == "refused"
    assert connector.targets == []


def test_refetches_after_cache_control_max_age(issuer: TestIssuer, clock: FakeClock) -> None:
    keys = IssuerKeys(SafeFetcher(local_mode=True), clock, local_mode=True)
    trusted = _trusted(issuer, issuer.jwks_uri)
    keys.key(trusted, "rsa-1")
    clock.advance(599)
    keys.key(trusted, "rsa-1")
    assert len(issuer.behaviour.requests) == 1

    clock.advance(2)
    keys.key(trusted, "rsa-1")
    assert len(issuer.behaviour.requests) == 2


def test_issuer_without_a_discovery_document_is_unavailable(
    issuer: TestIssuer, clock: FakeClock,
) -> None:
    keys = IssuerKeys(SafeFetcher(local_mode=True), clock, local_mode=True)
    other = TrustedIssuer("iss_x", issuer.issuer + "/tenant", "X", "oidc", None)

    with pytest.raises(KeysUnavailable):
        keys.key(other, "rsa-1")


def test_discovery_document_of_another_issuer_is_refused(clock: FakeClock) -> None:
    # GIVEN an issuer whose discovery document claims to be someone else
    resolver = RecordingResolver({"issuer.example": [PUBLIC]})
    connector = RecordingConnector({"/.well-known/openid-configuration": _json({
        "issuer": "https://accounts.other.example",
        "jwks_uri": "https://issuer.example/jwks",
    })})
    keys = IssuerKeys(SafeFetcher(False, resolver, connector), clock)

    # THEN its jwks_uri is not used
    with pytest.raises(FetchFailed, match="another issuer"):
        keys.discover("https://issuer.example")
    assert [t.path for t in connector.targets] == ["/.well-known/openid-configuration"]


def test_discovered_jwks_uri_at_the_metadata_address_is_refused_without_a_request(
    clock: FakeClock,
) -> None:
    resolver = RecordingResolver({"issuer.example": [PUBLIC]})
    connector = RecordingConnector({"/.well-known/openid-configuration": _json({
        "issuer": "https://issuer.example",
        "jwks_uri": "https://169.254.169.254/latest/meta-data/",
    })})
    keys = IssuerKeys(SafeFetcher(False, resolver, connector), clock)

    with pytest.raises(FetchRefused):
        keys.discover("https://issuer.example")

    assert [t.path for t in connector.targets] == ["/.well-known/openid-configuration"]


def test_discovered_jwks_uri_that_is_no_url_is_refused_not_raised(clock: FakeClock) -> None:
    # GIVEN a discovery document whose jwks_uri urlsplit cannot parse
    resolver = RecordingResolver({"issuer.example": [PUBLIC]})
    connector = RecordingConnector({"/.well-known/openid-configuration": _json({
        "issuer": "https://issuer.example", "jwks_uri": "https://[jwks.example/keys",
    })})
    keys = IssuerKeys(SafeFetcher(False, resolver, connector), clock)

    # THEN registration gets a refusal it turns into a 400, not a ValueError (a 500)
    with pytest.raises(FetchRefused):
        keys.discover("https://issuer.example")


@pytest.mark.parametrize(("control", "expected"), [
    ("public, max-age=600", 600),
    ("max-age=5", MIN_TTL),
    ("max-age=99999999", MAX_TTL),
    ("no-store", MIN_TTL),
    ("", 3600),
    ("s-maxage=100", 3600),
])
def test_cache_lifetime_honours_max_age_within_bounds(control: str, expected: int) -> None:
    assert cache_seconds({"cache-control": control}, {}) == expected


def test_spiffe_refresh_hint_sets_cache_lifetime_without_cache_control() -> None:
    assert cache_seconds({}, {"spiffe_refresh_hint": 900}) == 900


def test_key_set_keeps_only_public_signing_keys() -> None:
    document = {"keys": [
        {"kty": "RSA", "kid": "a", "n": "x", "e": "AQAB"},
        {"kty": "EC", "kid": "b", "use": "jwt-svid", "crv": "P-256", "x": "x", "y": "y"},
        {"kty": "RSA", "kid": "c", "use": "enc", "n": "x", "e": "AQAB"},
        {"kty": "oct", "kid": "d", "k": "c2VjcmV0"},
        {"kty": "RSA", "kid": "e", "n": "x", "e": "AQAB", "d": "private"},
        {"kty": "RSA", "n": "x", "e": "AQAB"},
    ]}

    assert sorted(signing_keys(document)) == ["a", "b"]
