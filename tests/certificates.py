"""Client certificates for the mutual-TLS tests (RFC 8705), made with the local test CA
of ``make local`` (infra/local_mtls.py): P-256, fast enough to make per test."""

from __future__ import annotations

import datetime
import ipaddress
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from functools import cache
from typing import Any
from unittest import mock

from chalice.local import LambdaEventConverter
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from infra.local_mtls import CertificateAuthority, client_cert_context, make_certificate

DAY = datetime.timedelta(days=1)
SUBJECT = "CN=orders-worker,O=Example Corp,C=DE"


@cache
def testing_ca() -> CertificateAuthority:
    return CertificateAuthority("CN=m2m-auth test CA")


def now() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)


def issued(subject: str = SUBJECT, names: Sequence[x509.GeneralName] = (),
           **options: Any) -> str:
    """A PEM client certificate from the test CA."""
    return testing_ca().issue(subject, names=names, **options).certificate_pem


def self_signed(subject: str = SUBJECT, **options: Any) -> tuple[str, x509.Certificate]:
    """A self-signed PEM client certificate and the parsed certificate."""
    issued_, _, certificate = make_certificate(subject, **options)
    return issued_.certificate_pem, certificate


def dns(name: str) -> x509.GeneralName:
    return x509.DNSName(name)


def uri(name: str) -> x509.GeneralName:
    return x509.UniformResourceIdentifier(name)


def ip(address: str) -> x509.GeneralName:
    return x509.IPAddress(ipaddress.ip_address(address))


def email(address: str) -> x509.GeneralName:
    return x509.RFC822Name(address)


def der_b64(certificate: x509.Certificate) -> str:
    """``x5c`` member form: base64 (not base64url) DER (RFC 7517 §4.7)."""
    import base64

    return base64.b64encode(certificate.public_bytes(serialization.Encoding.DER)).decode()


def x5c_jwk(certificate: x509.Certificate, **extra: Any) -> dict[str, Any]:
    """The public JWK of ``certificate``'s P-256 key with ``x5c`` (RFC 7517 §4.7)."""
    import json

    import jwt

    jwk = json.loads(jwt.algorithms.ECAlgorithm.to_jwk(certificate.public_key()))
    return {**jwk, "x5c": [der_b64(certificate)], **extra}


@contextmanager
def presenting(pem: str | None) -> Iterator[None]:
    """Requests arrive with ``pem`` in ``requestContext.identity.clientCert``, the shape
    API Gateway's mutual TLS forwards (and local mode's TLS port fills in)."""
    original = LambdaEventConverter.create_lambda_event

    def create_lambda_event(self: LambdaEventConverter, *args: Any, **kwargs: Any) -> Any:
        event = original(self, *args, **kwargs)
        if pem is not None:
            event["requestContext"]["identity"]["clientCert"] = client_cert_context(pem)
        return event

    with mock.patch.object(LambdaEventConverter, "create_lambda_event", create_lambda_event):
        yield
