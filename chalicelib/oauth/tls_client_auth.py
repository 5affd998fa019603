"""Mutual-TLS client authentication (RFC 8705 §2): ``tls_client_auth`` (§2.1, PKI) and
``self_signed_tls_client_auth`` (§2.2).

The client sends its ``client_id`` as a parameter and no other credentials (§2); the TLS
layer verified that it holds the private key of the certificate it presented (API
Gateway's mutual TLS against the custom domain's truststore; locally the test CA). The
app then names which certificates are its own:

- ``tls_client_auth``: exactly one expected subject DN or subjectAltName of one type
  (§2.1.2 ``tls_client_auth_subject_dn`` / ``_san_dns`` / ``_san_uri`` / ``_san_ip`` /
  ``_san_email``). The DN is compared as an RFC 4514 string in ``cryptography``'s normal
  form, exactly; DNS names in lower case and without wildcard matching; IP addresses
  by value; e-mail addresses with the domain in lower case. A name of another type
  never matches (a URI SAN spelling the expected DNS name is not a DNS SAN). A
  self-issued certificate (issuer = subject) never matches a name: §2.1 trusts the
  names because a CA vouches for them, and a self-signed certificate admitted to the
  truststore for a §2.2 client vouches for nothing but its own key.
- ``self_signed_tls_client_auth``: the SHA-256 thumbprint of the certificate is one the
  app registered (as a thumbprint, a certificate, or a JWKS whose keys carry ``x5c``).

Either way the certificate must be within its validity period now (the TLS layer of
API Gateway checks that for certificates it validates; we check it again for all).
Every refusal is the same ``invalid_client``; the reason goes to our log only.
"""

from __future__ import annotations

import logging

from ..errors import InvalidClient
from ..store.records import AppCredentials, TlsClient
from ..store.repository import AppRepository
from .client_auth import loggable_client_id
from .client_certificate import (
    THUMBPRINT_MEMBER,
    CertificateError,
    ClientCertificate,
    normal_email,
    normal_ip,
    parse_certificate,
)
from .client_secret import CLIENT_ID_SHAPE
from .request import IncomingRequest, Parameters

log = logging.getLogger(__name__)

TLS_CLIENT_AUTH = "tls_client_auth"
SELF_SIGNED_TLS_CLIENT_AUTH = "self_signed_tls_client_auth"
METHODS = (TLS_CLIENT_AUTH, SELF_SIGNED_TLS_CLIENT_AUTH)
SUBJECT_DN = "tls_client_auth_subject_dn"
SAN_DNS = "tls_client_auth_san_dns"
SAN_URI = "tls_client_auth_san_uri"
SAN_IP = "tls_client_auth_san_ip"
SAN_EMAIL = "tls_client_auth_san_email"
SUBJECT_FIELDS = (SUBJECT_DN, SAN_DNS, SAN_URI, SAN_IP, SAN_EMAIL)
"""RFC 8705 §2.1.2: a tls_client_auth client registers exactly one of these."""
THUMBPRINT = THUMBPRINT_MEMBER
"""self_signed_tls_client_auth registrations are matched by the thumbprint."""


class _Refused(Exception):
    """One rule failed; the reason goes to our log only."""


def expected_name(field: str, value: str) -> str:
    """A registered name in the form it is compared in (the admin API stores this)."""
    if field == SAN_DNS:
        return value.lower()
    if field == SAN_IP:
        return normal_ip(value)
    if field == SAN_EMAIL:
        return normal_email(value)
    return value


def matches(tls_client: TlsClient, certificate: ClientCertificate) -> bool:
    """Whether the presented certificate is one this registration names."""
    if tls_client.field == THUMBPRINT:
        return certificate.thumbprint in tls_client.values
    if len(tls_client.values) != 1 or certificate.self_issued:
        return False
    expected = tls_client.values[0]
    presented: tuple[str, ...] = {
        SUBJECT_DN: (certificate.subject_dn,),
        SAN_DNS: certificate.san_dns,
        SAN_URI: certificate.san_uri,
        SAN_IP: certificate.san_ip,
        SAN_EMAIL: certificate.san_email,
    }.get(tls_client.field, ())
    return expected in presented


def presents_certificate_only(request: IncomingRequest, params: Parameters) -> bool:
    """The request authenticates by its certificate: one was presented and no secret
    (RFC 8705 §2; an assertion is dispatched before this is asked). A client that
    sends a secret over mutual TLS authenticates with the secret, and its token is
    still bound to the certificate (§3)."""
    return (
        request.client_certificate is not None
        and not request.authorization
        and params.single("client_secret") is None
    )


class TlsClientAuth:
    """The ``CertificateMethod`` of :class:`~.client_auth.ClientAuthenticator`."""

    methods: tuple[str, ...] = METHODS

    def __init__(self, apps: AppRepository) -> None:
        self._apps = apps

    def applies(self, request: IncomingRequest, params: Parameters) -> bool:
        return presents_certificate_only(request, params)

    def authenticate(
        self, request: IncomingRequest, params: Parameters, now: int
    ) -> tuple[AppCredentials, str]:
        """The app and the method its certificate matched; ``invalid_client`` if none."""
        client_id = params.single("client_id")
        try:
            if client_id is None:
                raise _Refused("no client_id parameter")
            if not CLIENT_ID_SHAPE.fullmatch(client_id):
                raise _Refused("malformed client_id")
            credentials = self._apps.get_credentials(client_id)
            if credentials is None:
                raise _Refused("unknown client")
            return credentials, self._match(credentials, request.client_certificate, now)
        except _Refused as refused:
            log.info(
                "client authentication failed method=mtls client_id=%s reason=%s",
                loggable_client_id(client_id) if client_id else "-", refused,
            )
            raise InvalidClient() from None

    @staticmethod
    def _match(credentials: AppCredentials, pem: str | None, now: int) -> str:
        if not credentials.tls_clients:
            raise _Refused("the app has no TLS client certificate registered")
        try:
            certificate = parse_certificate(pem or "")
        except CertificateError as exc:
            raise _Refused(str(exc)) from None
        if not certificate.valid_at(now):
            raise _Refused("the certificate is expired or not yet valid")
        for tls_client in credentials.tls_clients:
            if matches(tls_client, certificate):
                return tls_client.method
        raise _Refused(f"no registered certificate matches x5t#S256={certificate.thumbprint}")
