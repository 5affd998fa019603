"""Client authentication (RFC 6749 §2.3.1): client_secret_basic and client_secret_post."""

from __future__ import annotations

import base64
import json

import pytest

from chalicelib.errors import InvalidClient, InvalidRequest
from chalicelib.oauth.client_auth import (
    AuthenticatedClient,
    ClientAuthenticator,
    ClientCredentials,
    extract_credentials,
)
from chalicelib.oauth.request import JSON, IncomingRequest, parse_parameters
from chalicelib.runtime import Services
from tests.conftest import ISSUER, Demo, seed_demo
from tests.fakes import FakeClock
from tests.unit.oauth_client import basic, form_request

TRICKY_SECRET = "p%ss+w:rd &=é"


def extract(
    params: dict[str, str] | None = None, authorization: str | None = None
) -> ClientCredentials:
    request = form_request(params or {}, authorization)
    return extract_credentials(request, parse_parameters(request))


def raw_basic(decoded: bytes) -> str:
    return "Basic " + base64.b64encode(decoded).decode("ascii")


# -- extracting credentials -------------------------------------------------------------


def test_basic_credentials_are_form_urlencoded_before_base64() -> None:
    authorization = basic("client:a", TRICKY_SECRET)
    assert "%25" in base64.b64decode(authorization.split()[1]).decode()  # GIVEN '%' encoded

    credentials = extract(authorization=authorization)

    assert credentials == ClientCredentials("client:a", TRICKY_SECRET, "client_secret_basic")


def test_basic_plus_sign_decodes_to_space_as_form_urlencoding_requires() -> None:
    credentials = extract(authorization=raw_basic(b"client-a:a+b%2Bc"))

    assert credentials.client_secret == "a b+c"


@pytest.mark.parametrize("scheme", ["basic", "BASIC", "Basic"])
def test_basic_scheme_is_case_insensitive(scheme: str) -> None:
    authorization = scheme + " " + basic("client-a", "s").split()[1]

    assert extract(authorization=authorization).client_id == "client-a"


def test_basic_with_client_secret_in_body_is_invalid_request() -> None:
    with pytest.raises(InvalidRequest):
        extract({"client_secret": "s"}, basic("client-a", "s"))


def test_basic_with_a_different_client_id_in_body_is_invalid_request() -> None:
    with pytest.raises(InvalidRequest):
        extract({"client_id": "client-b"}, basic("client-a", "s"))


def test_basic_with_the_same_client_id_in_body_is_accepted() -> None:
    credentials = extract({"client_id": "client-a"}, basic("client-a", "s"))

    assert credentials == ClientCredentials("client-a", "s", "client_secret_basic")


@pytest.mark.parametrize(
    "authorization",
    ["Bearer abc", "Digest username=x", "Basicabc", "Negotiate " + basic("a", "b").split()[1]],
)
def test_non_basic_scheme_is_invalid_client(authorization: str) -> None:
    with pytest.raises(InvalidClient):
        extract(authorization=authorization)


@pytest.mark.parametrize(
    "authorization",
    [
        "Basic !!!not-base64!!!",
        "Basic Y2xpZW50",  # "client": no colon
        "Basic " + base64.b64encode(b"client:\xff\xfe").decode(),  # not UTF-8
        "Basic",
        raw_basic(b":secret"),
        raw_basic(b"client-a:"),
    ],
    ids=["not-base64", "no-colon", "not-utf8", "empty", "empty-id", "empty-secret"],
)
def test_malformed_basic_credentials_are_invalid_client(authorization: str) -> None:
    with pytest.raises(InvalidClient):
        extract(authorization=authorization)


def test_basic_header_is_decoded_once_per_request_however_often_it_is_read() -> None:
    # authentication and the outcome log line's client id both read it (issue 15 §3)
    request = form_request({}, basic("client-a", TRICKY_SECRET))

    first = extract_credentials(request, parse_parameters(request))

    assert request.basic_credentials is request.basic_credentials
    assert (first.client_id, first.client_secret) == request.basic_credentials
    assert request.basic_credentials == ("client-a", TRICKY_SECRET)


def test_malformed_basic_header_is_refused_again_on_every_read() -> None:
    request = form_request({}, "Basic Y2xpZW50")  # "client": no colon
    for _ in range(2):
        with pytest.raises(InvalidClient):
            extract_credentials(request, parse_parameters(request))


@pytest.mark.parametrize(
    "params", [{}, {"client_id": "client-a"}, {"client_secret": "s"}],
    ids=["none", "id-only", "secret-only"],
)
def test_missing_credentials_are_invalid_client(params: dict[str, str]) -> None:
    with pytest.raises(InvalidClient):
        extract(params)


def test_post_credentials_come_from_the_body() -> None:
    credentials = extract({"client_id": "client-a", "client_secret": TRICKY_SECRET})

    assert credentials == ClientCredentials("client-a", TRICKY_SECRET, "client_secret_post")


def test_post_credentials_from_json_body() -> None:
    request = IncomingRequest(
        json.dumps({"client_id": "client-a", "client_secret": "s"}).encode(), JSON
    )

    credentials = extract_credentials(request, parse_parameters(request))

    assert credentials == ClientCredentials("client-a", "s", "client_secret_post")


def test_repr_of_client_credentials_does_not_contain_the_secret() -> None:
    credentials = ClientCredentials("client-a", "m2msec_very-secret-value", "client_secret_post")

    assert "very-secret-value" not in repr(credentials)
    assert "very-secret-value" not in str(credentials)
    assert "client-a" in repr(credentials)


# -- authenticating against the store ---------------------------------------------------


@pytest.fixture
def demo(memory_services: Services) -> Demo:
    return seed_demo(memory_services)


@pytest.fixture
def authenticator(memory_services: Services, clock: FakeClock) -> ClientAuthenticator:
    return ClientAuthenticator(memory_services.store, clock)


def authenticate(
    authenticator: ClientAuthenticator, client_id: str, secret: str, *, post: bool = False
) -> AuthenticatedClient:
    if post:
        request = form_request({"client_id": client_id, "client_secret": secret})
    else:
        request = form_request({}, basic(client_id, secret))
    return authenticator.authenticate(request, parse_parameters(request), ISSUER)


@pytest.mark.parametrize("post", [False, True], ids=["basic", "post"])
def test_authenticates_with_the_issued_secret(
    authenticator: ClientAuthenticator, demo: Demo, post: bool
) -> None:
    client = authenticate(authenticator, demo.client_id, demo.client_secret, post=post)

    assert client.client_id == demo.client_id
    assert client.secret is not None
    assert client.secret.secret_id == demo.secret_id
    assert client.method == ("client_secret_post" if post else "client_secret_basic")


def test_unknown_client_is_invalid_client(
    authenticator: ClientAuthenticator, demo: Demo
) -> None:
    with pytest.raises(InvalidClient):
        authenticate(authenticator, "unknown-client", demo.client_secret)


def test_wrong_secret_is_invalid_client(authenticator: ClientAuthenticator, demo: Demo) -> None:
    with pytest.raises(InvalidClient):
        authenticate(authenticator, demo.client_id, demo.client_secret + "x")


def test_another_apps_secret_is_invalid_client(
    authenticator: ClientAuthenticator, memory_services: Services, demo: Demo
) -> None:
    _, other = memory_services.provisioning.create_app(name="Other")

    with pytest.raises(InvalidClient):
        authenticate(authenticator, demo.client_id, other.client_secret)


def test_expired_secret_is_invalid_client(
    authenticator: ClientAuthenticator, memory_services: Services, demo: Demo, clock: FakeClock
) -> None:
    issued = memory_services.provisioning.add_secret(demo.client_id, expires_in=60)
    clock.advance(59)
    assert authenticate(authenticator, demo.client_id, issued.client_secret).client_id

    clock.advance(1)  # now == expires_at

    with pytest.raises(InvalidClient):
        authenticate(authenticator, demo.client_id, issued.client_secret)
    assert authenticate(authenticator, demo.client_id, demo.client_secret).client_id


def test_revoked_secret_is_invalid_client(
    authenticator: ClientAuthenticator, memory_services: Services, demo: Demo
) -> None:
    replacement = memory_services.provisioning.add_secret(demo.client_id)

    memory_services.provisioning.revoke_secret(demo.client_id, demo.secret_id)

    with pytest.raises(InvalidClient):
        authenticate(authenticator, demo.client_id, demo.client_secret)
    assert authenticate(authenticator, demo.client_id, replacement.client_secret).client_id


def test_disabled_app_is_invalid_client(
    authenticator: ClientAuthenticator, memory_services: Services, demo: Demo
) -> None:
    memory_services.provisioning.set_enabled(demo.client_id, False)

    with pytest.raises(InvalidClient):
        authenticate(authenticator, demo.client_id, demo.client_secret)

    memory_services.provisioning.set_enabled(demo.client_id, True)
    assert authenticate(authenticator, demo.client_id, demo.client_secret).client_id


@pytest.mark.parametrize("of", ["secret", "app"])
def test_last_used_is_recorded_at_most_once_per_interval(
    authenticator: ClientAuthenticator, memory_services: Services, demo: Demo, clock: FakeClock,
    of: str,
) -> None:
    def last_used() -> int | None:
        credentials = memory_services.store.get_credentials(demo.client_id)
        assert credentials is not None
        return (credentials.secrets[0] if of == "secret" else credentials.app).last_used

    assert last_used() is None
    start = int(clock())
    authenticate(authenticator, demo.client_id, demo.client_secret)
    version = memory_services.provisioning.get_app(demo.client_id).app.version
    clock.advance(3599)
    authenticate(authenticator, demo.client_id, demo.client_secret)
    assert last_used() == start

    clock.advance(1)
    authenticate(authenticator, demo.client_id, demo.client_secret)
    assert last_used() == start + 3600
    # bookkeeping, not a change: the app's version (ETag, token reuse) stays
    assert memory_services.provisioning.get_app(demo.client_id).app.version == version


def test_a_failed_authentication_records_no_use(
    authenticator: ClientAuthenticator, memory_services: Services, demo: Demo
) -> None:
    with pytest.raises(InvalidClient):
        authenticate(authenticator, demo.client_id, "m2msec_wrong")

    app = memory_services.store.get_app(demo.client_id)
    assert app is not None and app.last_used is None


def test_client_secret_with_lone_surrogate_is_rejected_not_a_crash(
    authenticator: ClientAuthenticator, demo: Demo
) -> None:
    request = IncomingRequest(b'{"client_id": "unknown", "client_secret": "\\ud800"}', JSON)

    with pytest.raises((InvalidClient, InvalidRequest)):
        authenticator.authenticate(request, parse_parameters(request), ISSUER)
