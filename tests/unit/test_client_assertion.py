"""Client authentication by assertion (RFC 7521 §4.2): how ClientAuthenticator routes an
assertion to its method, and the rules every method shares."""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass, field

import pytest

from chalicelib.errors import InvalidClient, InvalidRequest
from chalicelib.oauth.assertion import (
    AWS_SIGV4,
    JWT_BEARER,
    JWT_SPIFFE,
    ClientAssertion,
    issued_by_client,
    unverified_claims,
)
from chalicelib.oauth.client_auth import AuthenticatedClient, ClientAuthenticator
from chalicelib.oauth.request import JSON, IncomingRequest, parse_parameters
from chalicelib.runtime import Services
from chalicelib.store.records import AppCredentials
from tests.conftest import ISSUER, Demo, seed_demo
from tests.fakes import FakeClock
from tests.unit.oauth_client import basic, form_request

TYPE = "urn:example:assertion"


@dataclass
class FakeMethod:
    """An assertion method that accepts the assertion text ``ok:<client_id>``."""

    store: Services
    method: str = "fake_method"
    assertion_type: str = TYPE
    calls: list[tuple[ClientAssertion, str, int]] = field(default_factory=list)

    def handles(self, assertion: ClientAssertion) -> bool:
        return assertion.assertion_type == self.assertion_type

    def authenticate(self, assertion: ClientAssertion, issuer: str, now: int) -> AppCredentials:
        self.calls.append((assertion, issuer, now))
        prefix, _, client_id = assertion.assertion.partition(":")
        credentials = self.store.store.get_credentials(client_id)
        if prefix != "ok" or credentials is None:
            raise InvalidClient()
        return credentials


@pytest.fixture
def demo(memory_services: Services) -> Demo:
    return seed_demo(memory_services)


@pytest.fixture
def method(memory_services: Services) -> FakeMethod:
    return FakeMethod(memory_services)


@pytest.fixture
def authenticator(
    memory_services: Services, clock: FakeClock, method: FakeMethod
) -> ClientAuthenticator:
    return ClientAuthenticator(memory_services.store, clock, [method])


def authenticate(
    authenticator: ClientAuthenticator,
    params: dict[str, str],
    authorization: str | None = None,
) -> AuthenticatedClient:
    request = form_request(params, authorization)
    return authenticator.authenticate(request, parse_parameters(request), ISSUER)


def test_routes_an_assertion_to_its_method_with_our_issuer_and_the_time(
    authenticator: ClientAuthenticator, method: FakeMethod, demo: Demo, clock: FakeClock
) -> None:
    client = authenticate(
        authenticator,
        {"client_assertion_type": TYPE, "client_assertion": f"ok:{demo.client_id}"},
    )

    assert client.client_id == demo.client_id
    assert client.secret is None
    assert client.method == "fake_method"
    (assertion, issuer, now), = method.calls
    assert (assertion.assertion_type, assertion.client_id) == (TYPE, None)
    assert (issuer, now) == (ISSUER, int(clock()))


def test_accepts_an_assertion_in_a_json_body(
    authenticator: ClientAuthenticator, demo: Demo
) -> None:
    body = {"client_assertion_type": TYPE, "client_assertion": f"ok:{demo.client_id}"}
    request = IncomingRequest(json.dumps(body).encode(), JSON)

    client = authenticator.authenticate(request, parse_parameters(request), ISSUER)

    assert client.client_id == demo.client_id


def test_accepts_a_client_id_parameter_naming_the_authenticated_app(
    authenticator: ClientAuthenticator, demo: Demo
) -> None:
    client = authenticate(
        authenticator,
        {"client_id": demo.client_id, "client_assertion_type": TYPE,
         "client_assertion": f"ok:{demo.client_id}"},
    )

    assert client.client_id == demo.client_id


def test_rejects_a_client_id_parameter_naming_another_app_with_invalid_client(
    authenticator: ClientAuthenticator, memory_services: Services, demo: Demo
) -> None:
    other, _ = memory_services.provisioning.create_app(name="Other")

    with pytest.raises(InvalidClient):
        authenticate(
            authenticator,
            {"client_id": other.client_id, "client_assertion_type": TYPE,
             "client_assertion": f"ok:{demo.client_id}"},
        )


def test_rejects_an_assertion_mixed_with_a_client_secret_with_invalid_request(
    authenticator: ClientAuthenticator, method: FakeMethod, demo: Demo
) -> None:
    with pytest.raises(InvalidRequest):
        authenticate(
            authenticator,
            {"client_id": demo.client_id, "client_secret": demo.client_secret,
             "client_assertion_type": TYPE, "client_assertion": f"ok:{demo.client_id}"},
        )
    assert method.calls == []


def test_rejects_an_assertion_mixed_with_basic_authentication_with_invalid_request(
    authenticator: ClientAuthenticator, method: FakeMethod, demo: Demo
) -> None:
    with pytest.raises(InvalidRequest):
        authenticate(
            authenticator,
            {"client_assertion_type": TYPE, "client_assertion": f"ok:{demo.client_id}"},
            basic(demo.client_id, demo.client_secret),
        )
    assert method.calls == []


@pytest.mark.parametrize(
    "params",
    [{"client_assertion_type": TYPE}, {"client_assertion": "ok:x"}],
    ids=["type-only", "assertion-only"],
)
def test_rejects_half_an_assertion_with_invalid_request(
    authenticator: ClientAuthenticator, params: dict[str, str]
) -> None:
    with pytest.raises(InvalidRequest):
        authenticate(authenticator, params)


def test_rejects_an_assertion_type_no_method_handles_with_invalid_client(
    authenticator: ClientAuthenticator, method: FakeMethod, demo: Demo
) -> None:
    with pytest.raises(InvalidClient):
        authenticate(
            authenticator,
            {"client_assertion_type": "urn:other", "client_assertion": f"ok:{demo.client_id}"},
        )
    assert method.calls == []


def test_rejects_an_assertion_two_methods_claim_with_invalid_client(
    memory_services: Services, clock: FakeClock, demo: Demo
) -> None:
    authenticator = ClientAuthenticator(
        memory_services.store, clock,
        [FakeMethod(memory_services), FakeMethod(memory_services, method="twin")],
    )

    with pytest.raises(InvalidClient):
        authenticate(
            authenticator,
            {"client_assertion_type": TYPE, "client_assertion": f"ok:{demo.client_id}"},
        )


def test_rejects_an_assertion_of_a_disabled_app_with_invalid_client(
    authenticator: ClientAuthenticator, memory_services: Services, demo: Demo
) -> None:
    memory_services.provisioning.set_enabled(demo.client_id, False)

    with pytest.raises(InvalidClient):
        authenticate(
            authenticator,
            {"client_assertion_type": TYPE, "client_assertion": f"ok:{demo.client_id}"},
        )


def test_rejects_an_oversized_assertion_before_any_method_sees_it(
    authenticator: ClientAuthenticator, method: FakeMethod, demo: Demo
) -> None:
    with pytest.raises(InvalidClient):
        authenticate(
            authenticator,
            {"client_assertion_type": TYPE, "client_assertion": "ok:" + "x" * 9000},
        )
    assert method.calls == []


def test_secret_authentication_still_works_beside_assertion_methods(
    authenticator: ClientAuthenticator, demo: Demo
) -> None:
    client = authenticate(authenticator, {}, basic(demo.client_id, demo.client_secret))

    assert client.secret is not None
    assert client.method == "client_secret_basic"


def test_method_names_list_secrets_then_each_assertion_method(
    authenticator: ClientAuthenticator,
) -> None:
    assert authenticator.method_names == (
        "client_secret_basic", "client_secret_post", "fake_method",
    )


def test_repr_of_an_assertion_does_not_show_it() -> None:
    assertion = ClientAssertion(JWT_BEARER, "eyJhbGciOi.secret-part.sig", "abc")

    assert "secret-part" not in repr(assertion)


# -- unverified routing helpers ------------------------------------------------------------


def _jwt(claims: object) -> str:
    def part(value: object) -> str:
        raw = json.dumps(value).encode()
        return base64.urlsafe_b64encode(raw).decode().rstrip("=")

    return f"{part({'alg': 'RS256'})}.{part(claims)}.c2ln"


CLIENT_ID = "abcdefghijklmnopqrstuvwxyz"


@pytest.mark.parametrize(
    ("assertion_type", "iss", "expected"),
    [
        (JWT_BEARER, CLIENT_ID, True),
        (JWT_BEARER, "https://token.actions.githubusercontent.com", False),
        (JWT_BEARER, CLIENT_ID.upper(), False),
        (JWT_SPIFFE, CLIENT_ID, False),
        (AWS_SIGV4, CLIENT_ID, False),
    ],
    ids=["client-id-iss", "url-iss", "wrong-shape", "spiffe", "sigv4"],
)
def test_an_assertion_is_issued_by_the_client_only_for_jwt_bearer_with_a_client_id_iss(
    assertion_type: str, iss: str, expected: bool
) -> None:
    assertion = ClientAssertion(assertion_type, _jwt({"iss": iss, "sub": iss}))

    assert issued_by_client(assertion) is expected


@pytest.mark.parametrize(
    "token",
    ["not-a-jwt", "a.b", "a.!!!.c", _jwt(["a list"]), _jwt({"iss": 1}), "a.b.c.d.e"],
    ids=["no-dots", "two-parts", "bad-base64", "not-object", "iss-not-string", "jwe"],
)
def test_issued_by_client_is_false_for_anything_not_a_jws_with_a_string_iss(token: str) -> None:
    assert issued_by_client(ClientAssertion(JWT_BEARER, token)) is False


def test_unverified_claims_reads_the_payload_of_a_compact_jws() -> None:
    assert unverified_claims(_jwt({"iss": "x"})) == {"iss": "x"}
    assert unverified_claims("a" * 9000) is None
