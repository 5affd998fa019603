"""Mutual-TLS client authentication (RFC 8705 §2): tls_client_auth's matching rules
(§2.1.2) and self_signed_tls_client_auth's thumbprints (§2.2), each with its negative
tests, through the ClientAuthenticator the token endpoint uses."""

from __future__ import annotations

import dataclasses
import itertools
from urllib.parse import urlencode

import pytest

from chalicelib.errors import InvalidClient, InvalidRequest
from chalicelib.oauth.client_auth import ClientAuthenticator
from chalicelib.oauth.client_certificate import (
    CertificateError,
    der_from_pem,
    parse_certificate,
    pem_thumbprint,
    thumbprint,
)
from chalicelib.oauth.request import FORM, IncomingRequest
from chalicelib.oauth.tls_client_auth import (
    SAN_DNS,
    SAN_EMAIL,
    SAN_IP,
    SAN_URI,
    SELF_SIGNED_TLS_CLIENT_AUTH,
    SUBJECT_DN,
    THUMBPRINT,
    TLS_CLIENT_AUTH,
    TlsClientAuth,
)
from chalicelib.store.memory import MemoryStore
from chalicelib.store.records import App, ClientSecret, TlsClient
from tests.certificates import DAY, SUBJECT, dns, email, ip, issued, now, self_signed, uri
from tests.fakes import FakeClock
from tests.unit.oauth_client import basic

CLIENT = "aaaaaaaaaaaaaaaaaaaaaaaaaa"
OTHER = "bbbbbbbbbbbbbbbbbbbbbbbbbb"
ISSUER = "https://auth.example.test"
IDS = itertools.count(1)


@pytest.fixture
def store() -> MemoryStore:
    store = MemoryStore()
    for client_id in (CLIENT, OTHER):
        store.create_app(App(client_id=client_id, name=client_id), None)
    return store


def register(store: MemoryStore, field: str, *values: str, client_id: str = CLIENT) -> None:
    method = SELF_SIGNED_TLS_CLIENT_AUTH if field == THUMBPRINT else TLS_CLIENT_AUTH
    app = store.get_app(client_id)
    assert app is not None
    credential = TlsClient(f"tls_{next(IDS):016x}", method, field, values)
    store.add_tls_client(client_id, credential, app.version, None)  # type: ignore[arg-type]


def request(pem: str | None, authorization: str | None = None, **params: str) -> IncomingRequest:
    return IncomingRequest(body=urlencode({"grant_type": "client_credentials", **params}).encode(),
                           content_type=FORM, authorization=authorization,
                           client_certificate=pem)


def authenticate(store: MemoryStore, pem: str | None, **params: str) -> tuple[str, str]:
    authenticator = ClientAuthenticator(store, FakeClock(), certificate=TlsClientAuth(store))
    incoming = request(pem, **params)
    client = authenticator.authenticate(incoming, incoming.parameters, ISSUER)
    return client.client_id, client.method


# -- the certificate itself ---------------------------------------------------------------


def test_thumbprint_is_base64url_sha256_of_the_der_certificate() -> None:
    pem = issued()
    der = der_from_pem(pem)

    import base64
    import hashlib
    expected = base64.urlsafe_b64encode(hashlib.sha256(der).digest()).rstrip(b"=").decode()
    assert thumbprint(der) == pem_thumbprint(pem) == expected
    assert len(expected) == 43 and "=" not in expected


@pytest.mark.parametrize("pem", [
    "", "not a certificate",
    "-----BEGIN CERTIFICATE-----\n!!!!\n-----END CERTIFICATE-----\n",
    "-----BEGIN CERTIFICATE-----\n-----END CERTIFICATE-----\n",
])
def test_malformed_pem_is_a_certificate_error(pem: str) -> None:
    with pytest.raises(CertificateError):
        der_from_pem(pem)


def test_two_certificates_in_one_pem_are_refused() -> None:
    with pytest.raises(CertificateError):
        der_from_pem(issued() + issued())


def test_base64_that_is_no_certificate_cannot_be_parsed() -> None:
    pem = "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"
    with pytest.raises(CertificateError):
        parse_certificate(pem)


def test_parsed_names_are_in_the_form_they_are_compared_in() -> None:
    pem = issued(names=[dns("Worker.Example.COM"), uri("spiffe://example.com/w"),
                        ip("2001:db8:0:0::1"), email("Ops@Example.COM")])

    parsed = parse_certificate(pem)

    assert parsed.subject_dn == SUBJECT
    assert parsed.san_dns == ("worker.example.com",)
    assert parsed.san_uri == ("spiffe://example.com/w",)
    assert parsed.san_ip == ("2001:db8::1",)
    assert parsed.san_email == ("Ops@example.com",)


# -- tls_client_auth (§2.1) ----------------------------------------------------------------


@pytest.mark.parametrize(("field", "registered", "names"), [
    (SUBJECT_DN, SUBJECT, []),
    (SAN_DNS, "worker.example.com", [dns("worker.example.com")]),
    (SAN_URI, "spiffe://example.com/ns/prod/sa/worker", [uri("spiffe://example.com/ns/prod/sa/worker")]),
    (SAN_IP, "192.0.2.7", [ip("192.0.2.7")]),
    (SAN_IP, "2001:db8::7", [ip("2001:0db8:0000::0007")]),
    (SAN_EMAIL, "worker@example.com", [email("worker@EXAMPLE.com")]),
])
def test_a_certificate_with_the_registered_name_authenticates_its_app(
    store: MemoryStore, field: str, registered: str, names: list[object]
) -> None:
    register(store, field, registered)

    assert authenticate(store, issued(names=names), client_id=CLIENT) == (CLIENT, TLS_CLIENT_AUTH)  # type: ignore[arg-type]


@pytest.mark.parametrize("subject", [
    "CN=orders-worker,O=Example Corp,C=FR",  # another country
    "CN=orders-worker,O=Example Corp",  # an attribute fewer
    "CN=Orders-Worker,O=Example Corp,C=DE",  # compared exactly, case included
    "CN=orders-worker,OU=Example Corp,C=DE",  # another attribute type
])
def test_a_certificate_with_another_subject_dn_is_refused(store: MemoryStore, subject: str) -> None:
    register(store, SUBJECT_DN, SUBJECT)

    with pytest.raises(InvalidClient):
        authenticate(store, issued(subject), client_id=CLIENT)


@pytest.mark.parametrize(("field", "registered", "names"), [
    # the expected string, but as a SAN of another type
    (SAN_DNS, "worker.example.com", [uri("worker.example.com"), email("a@worker.example.com")]),
    (SAN_URI, "https://worker.example.com", [dns("worker.example.com")]),
    (SAN_IP, "192.0.2.7", [dns("192.0.2.7")]),
    (SAN_EMAIL, "worker@example.com", [uri("mailto:worker@example.com")]),
    (SAN_DNS, "worker.example.com", []),  # no SAN at all
])
def test_a_san_of_another_type_never_matches(
    store: MemoryStore, field: str, registered: str, names: list[object]
) -> None:
    register(store, field, registered)

    with pytest.raises(InvalidClient):
        authenticate(store, issued(names=names), client_id=CLIENT)  # type: ignore[arg-type]


def test_dns_names_match_exactly_without_wildcards(store: MemoryStore) -> None:
    register(store, SAN_DNS, "worker.example.com")

    with pytest.raises(InvalidClient):
        authenticate(store, issued(names=[dns("*.example.com")]), client_id=CLIENT)
    with pytest.raises(InvalidClient):
        authenticate(store, issued(names=[dns("evil-worker.example.com")]), client_id=CLIENT)


def test_the_subject_dn_is_not_matched_against_the_sans(store: MemoryStore) -> None:
    register(store, SAN_DNS, "orders-worker")

    with pytest.raises(InvalidClient):  # the CN spells it, but CN is no dNSName
        authenticate(store, issued("CN=orders-worker"), client_id=CLIENT)


@pytest.mark.parametrize("window", [
    {"not_before": now() - 30 * DAY, "not_after": now() - DAY},  # expired
    {"not_before": now() + DAY, "not_after": now() + 30 * DAY},  # not yet valid
])
def test_a_ca_certificate_outside_its_validity_is_refused(
    store: MemoryStore, window: dict[str, object]
) -> None:
    register(store, SUBJECT_DN, SUBJECT)

    with pytest.raises(InvalidClient):
        authenticate(store, issued(**window), client_id=CLIENT)


def test_a_self_signed_certificate_with_the_registered_name_is_refused(
    store: MemoryStore,
) -> None:
    # in the truststore for some self_signed_tls_client_auth client, it still names
    # nobody: no CA vouches for its subject or SANs
    register(store, SUBJECT_DN, SUBJECT)
    register(store, SAN_DNS, "worker.example.com", client_id=OTHER)
    pem, _ = self_signed(names=[dns("worker.example.com")])

    with pytest.raises(InvalidClient):
        authenticate(store, pem, client_id=CLIENT)
    with pytest.raises(InvalidClient):
        authenticate(store, pem, client_id=OTHER)
    assert parse_certificate(pem).self_issued and not parse_certificate(issued()).self_issued


# -- self_signed_tls_client_auth (§2.2) ----------------------------------------------------


def test_a_self_signed_certificate_with_a_registered_thumbprint_authenticates(
    store: MemoryStore,
) -> None:
    pem, _ = self_signed()
    register(store, THUMBPRINT, "A" * 43, pem_thumbprint(pem))

    assert authenticate(store, pem, client_id=CLIENT) == (CLIENT, SELF_SIGNED_TLS_CLIENT_AUTH)


def test_a_thumbprint_mismatch_is_refused_even_with_the_same_subject(store: MemoryStore) -> None:
    registered, _ = self_signed()
    presented, _ = self_signed()  # same subject, another key
    register(store, THUMBPRINT, pem_thumbprint(registered))

    with pytest.raises(InvalidClient):
        authenticate(store, presented, client_id=CLIENT)


@pytest.mark.parametrize("window", [
    {"not_before": now() - 30 * DAY, "not_after": now() - DAY},  # expired
    {"not_before": now() + DAY, "not_after": now() + 30 * DAY},  # not yet valid
])
def test_a_registered_self_signed_certificate_outside_its_validity_is_refused(
    store: MemoryStore, window: dict[str, object]
) -> None:
    pem, _ = self_signed(**window)
    register(store, THUMBPRINT, pem_thumbprint(pem))

    with pytest.raises(InvalidClient):
        authenticate(store, pem, client_id=CLIENT)


def test_a_thumbprint_registration_does_not_accept_a_subject_match(store: MemoryStore) -> None:
    register(store, THUMBPRINT, pem_thumbprint(self_signed()[0]))

    with pytest.raises(InvalidClient):  # a CA certificate for the same subject
        authenticate(store, issued(), client_id=CLIENT)


# -- which app, which method ---------------------------------------------------------------


def test_a_certificate_without_client_id_is_refused(store: MemoryStore) -> None:
    register(store, SUBJECT_DN, SUBJECT)

    with pytest.raises(InvalidClient):
        authenticate(store, issued())


def test_a_certificate_naming_another_apps_client_id_is_refused(store: MemoryStore) -> None:
    register(store, SUBJECT_DN, SUBJECT)  # CLIENT's certificate
    register(store, SUBJECT_DN, "CN=billing,O=Example Corp", client_id=OTHER)

    with pytest.raises(InvalidClient):
        authenticate(store, issued(), client_id=OTHER)


@pytest.mark.parametrize("client_id", ["unknown-app", "c" * 26, "x" * 5000])
def test_an_unknown_or_malformed_client_id_is_refused(store: MemoryStore, client_id: str) -> None:
    with pytest.raises(InvalidClient):
        authenticate(store, issued(), client_id=client_id)


def test_an_app_without_registered_certificates_is_refused(store: MemoryStore) -> None:
    with pytest.raises(InvalidClient):
        authenticate(store, issued(), client_id=CLIENT)


def test_a_disabled_app_is_refused(store: MemoryStore) -> None:
    register(store, SUBJECT_DN, SUBJECT)
    app = store.get_app(CLIENT)
    assert app is not None
    store.update_app(dataclasses.replace(app, enabled=False, version=app.version + 1),
                     app.version)

    with pytest.raises(InvalidClient):
        authenticate(store, issued(), client_id=CLIENT)


def test_a_secret_sent_over_mutual_tls_authenticates_as_the_secret(store: MemoryStore) -> None:
    from chalicelib.oauth.client_secret import hash_secret

    store.add_secret(CLIENT, ClientSecret("sec_0000000000000001", hash_secret("m2msec_x"), 0))
    authenticator = ClientAuthenticator(store, FakeClock(), certificate=TlsClientAuth(store))
    incoming = request(issued(), basic(CLIENT, "m2msec_x"))

    client = authenticator.authenticate(incoming, incoming.parameters, ISSUER)

    assert client.method == "client_secret_basic"  # the token is still certificate-bound


def test_a_secret_and_a_certificate_rule_are_never_combined_into_one_method(
    store: MemoryStore,
) -> None:
    register(store, SUBJECT_DN, SUBJECT)
    authenticator = ClientAuthenticator(store, FakeClock(), certificate=TlsClientAuth(store))
    # a wrong secret is not rescued by a matching certificate
    incoming = request(issued(), basic(CLIENT, "m2msec_wrong"))
    with pytest.raises(InvalidClient):
        authenticator.authenticate(incoming, incoming.parameters, ISSUER)
    # a secret in the body and Basic both: two methods at once
    incoming = request(issued(), basic(CLIENT, "m2msec_x"), client_secret="m2msec_x")
    with pytest.raises(InvalidRequest):
        authenticator.authenticate(incoming, incoming.parameters, ISSUER)


def test_without_mutual_tls_configured_a_certificate_authenticates_nobody(
    store: MemoryStore,
) -> None:
    register(store, SUBJECT_DN, SUBJECT)
    authenticator = ClientAuthenticator(store, FakeClock())  # no CertificateMethod
    incoming = request(issued(), client_id=CLIENT)

    with pytest.raises(InvalidClient):
        authenticator.authenticate(incoming, incoming.parameters, ISSUER)


def test_method_names_include_both_mtls_methods_only_when_configured(store: MemoryStore) -> None:
    with_tls = ClientAuthenticator(store, FakeClock(), certificate=TlsClientAuth(store))
    without = ClientAuthenticator(store, FakeClock())

    assert {"tls_client_auth", "self_signed_tls_client_auth"} <= set(with_tls.method_names)
    assert not {"tls_client_auth", "self_signed_tls_client_auth"} & set(without.method_names)
