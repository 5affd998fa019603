"""The TLS client certificate of a request (RFC 8705): its SHA-256 thumbprint (§3.1) and
the names mutual-TLS client authentication matches (§2.1.2).

The certificate reaches us as PEM (API Gateway's
``requestContext.identity.clientCert.clientCertPem``; local mode fills in the same). The
thumbprint needs only the DER bytes, decoded here with the standard library; the names
and validity dates are parsed with ``cryptography`` on first use, and only for requests
that carry a certificate, so a bearer request never pays for an X.509 parser.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import ipaddress
import re
from dataclasses import dataclass
from functools import lru_cache

THUMBPRINT_MEMBER = "x5t#S256"
"""The ``cnf`` member of a certificate-bound token (RFC 8705 §3.1)."""
MAX_PEM_LENGTH = 16 * 1024
"""A client certificate is a few kilobytes; anything larger is refused unread."""

_PEM = re.compile(
    r"-----BEGIN CERTIFICATE-----\s*([A-Za-z0-9+/=\s]+?)\s*-----END CERTIFICATE-----"
)


class CertificateError(ValueError):
    """The certificate is not one PEM-encoded X.509 certificate we can read."""


def der_from_pem(pem: str) -> bytes:
    """The DER bytes of a PEM certificate (RFC 7468 §5): exactly one block."""
    if len(pem) > MAX_PEM_LENGTH:
        raise CertificateError("the certificate is too large")
    blocks = _PEM.findall(pem)
    if len(blocks) != 1 or pem.count("-----BEGIN") != 1:
        raise CertificateError("expected exactly one PEM certificate")
    try:
        der = base64.b64decode("".join(blocks[0].split()), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise CertificateError("the certificate's base64 is malformed") from exc
    if not der:
        raise CertificateError("the certificate is empty")
    return der


def thumbprint(der: bytes) -> str:
    """``x5t#S256``: base64url (no padding) of the SHA-256 of the DER certificate
    (RFC 8705 §3.1)."""
    digest = hashlib.sha256(der).digest()
    return base64.urlsafe_b64encode(digest).decode("ascii").rstrip("=")


@lru_cache(maxsize=256)
def pem_thumbprint(pem: str) -> str:
    """The thumbprint of a PEM certificate; a client reconnecting with the same
    certificate costs one dict lookup."""
    return thumbprint(der_from_pem(pem))


def normal_email(value: str) -> str:
    """An rfc822Name compared with the domain in lower case (RFC 5280 §4.2.1.6: the
    local part is case-sensitive, the host is not)."""
    local, at, domain = value.rpartition("@")
    return f"{local}{at}{domain.lower()}" if at else value


def normal_ip(value: str) -> str:
    """An IP address in its canonical text form (IPv6 per RFC 5952), so that equal
    addresses compare equal (RFC 8705 §2.1.2 compares them in binary)."""
    return str(ipaddress.ip_address(value))


@dataclass(frozen=True)
class ClientCertificate:
    """What client authentication reads of a presented certificate."""

    thumbprint: str
    subject_dn: str
    """RFC 4514 string of the subject, as ``cryptography`` writes it."""
    san_dns: tuple[str, ...]
    """dNSName entries, lower case."""
    san_uri: tuple[str, ...]
    san_ip: tuple[str, ...]
    san_email: tuple[str, ...]
    not_before: int
    not_after: int
    self_issued: bool = False
    """Its issuer is its subject (a self-signed certificate): no CA vouches for its
    names."""

    def valid_at(self, now: int) -> bool:
        return self.not_before <= now <= self.not_after


@lru_cache(maxsize=64)
def parse_certificate(pem: str) -> ClientCertificate:
    """Parse a PEM client certificate (``CertificateError`` if it is not one)."""
    from cryptography import x509

    der = der_from_pem(pem)
    try:
        certificate = x509.load_der_x509_certificate(der)
        subject = certificate.subject.rfc4514_string()
        not_before = int(certificate.not_valid_before_utc.timestamp())
        not_after = int(certificate.not_valid_after_utc.timestamp())
        try:
            names = certificate.extensions.get_extension_for_class(
                x509.SubjectAlternativeName
            ).value
        except x509.ExtensionNotFound:
            names = x509.SubjectAlternativeName([])
        return ClientCertificate(
            thumbprint=thumbprint(der),
            subject_dn=subject,
            san_dns=tuple(n.lower() for n in names.get_values_for_type(x509.DNSName)),
            san_uri=tuple(names.get_values_for_type(x509.UniformResourceIdentifier)),
            san_ip=tuple(str(a) for a in names.get_values_for_type(x509.IPAddress)),
            san_email=tuple(normal_email(e) for e in names.get_values_for_type(x509.RFC822Name)),
            not_before=not_before,
            not_after=not_after,
            self_issued=certificate.issuer == certificate.subject,
        )
    except (ValueError, x509.DuplicateExtension, x509.UnsupportedGeneralNameType) as exc:
        raise CertificateError("the certificate cannot be parsed") from exc
