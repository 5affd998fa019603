"""Mutual TLS for ``make local`` (RFC 8705; docs/mtls.md): a test CA made on the fly,
a server certificate for 127.0.0.1, a demo client certificate, the server's
``ssl.SSLContext``, and the client certificate in the request-context shape API Gateway
forwards (``requestContext.identity.clientCert``), so the app reads it on the same path
as on AWS.

On AWS the custom domain's truststore decides which certificates get through; here the
test CA is the truststore (plus the PEM certificates of ``MTLS_TRUSTSTORE``, e.g. a
self-signed one, the way you would add it to the S3 truststore). ``ssl.CERT_OPTIONAL``:
clients without a certificate (bearer clients, resource servers fetching the JWKS) still
connect, as they would to a stage whose mutual-TLS host is a second domain.
"""

from __future__ import annotations

import datetime
import ipaddress
import os
import shutil
import ssl
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from cryptography import x509
    from cryptography.hazmat.primitives.asymmetric import ec

DEMO_CLIENT_DN = "CN=demo-client,O=m2m-auth local"
"""The subject of the demo client certificate; the demo app registers it
(``tls_client_auth_subject_dn``)."""
DAY = datetime.timedelta(days=1)


def _pem(certificate: x509.Certificate) -> str:
    from cryptography.hazmat.primitives import serialization

    return certificate.public_bytes(serialization.Encoding.PEM).decode("ascii")


def _key_pem(key: ec.EllipticCurvePrivateKey) -> str:
    from cryptography.hazmat.primitives import serialization

    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption()).decode("ascii")


@dataclass(frozen=True)
class Issued:
    """A certificate and its private key, PEM."""

    certificate_pem: str
    key_pem: str = ""

    def write(self, certificate: Path, key: Path) -> None:
        certificate.write_text(self.certificate_pem)
        fd = os.open(key, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as out:
            out.write(self.key_pem)


def make_certificate(
    subject: str,
    *,
    issuer: CertificateAuthority | None = None,
    names: Sequence[x509.GeneralName] = (),
    not_before: datetime.datetime | None = None,
    not_after: datetime.datetime | None = None,
    usage: str = "client",
) -> tuple[Issued, ec.EllipticCurvePrivateKey, x509.Certificate]:
    """A P-256 certificate for ``subject`` (RFC 4514), issued by ``issuer`` or
    self-signed; ``usage`` is ``client``, ``server`` or ``ca``."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID

    now = datetime.datetime.now(datetime.UTC)
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name.from_rfc4514_string(subject)
    signer_name, signer_key = (issuer.name, issuer.key) if issuer else (name, key)
    builder = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(signer_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before or now - DAY)
        .not_valid_after(not_after or now + 30 * DAY)
        .add_extension(x509.BasicConstraints(ca=usage == "ca", path_length=None),
                       critical=True)
    )
    if names:
        builder = builder.add_extension(x509.SubjectAlternativeName(list(names)),
                                        critical=False)
    if usage != "ca":
        purpose = (ExtendedKeyUsageOID.SERVER_AUTH if usage == "server"
                   else ExtendedKeyUsageOID.CLIENT_AUTH)
        builder = builder.add_extension(x509.ExtendedKeyUsage([purpose]), critical=False)
    certificate = builder.sign(signer_key, hashes.SHA256())
    return Issued(_pem(certificate), _key_pem(key)), key, certificate


class CertificateAuthority:
    """A CA that lives as long as the local server (its key is written for issuing
    more client certificates with openssl; docs/mtls.md)."""

    def __init__(self, subject: str = "CN=m2m-auth local test CA") -> None:
        self.issued, self.key, self.certificate = make_certificate(subject, usage="ca")
        self.name = self.certificate.subject

    def issue(self, subject: str, **options: Any) -> Issued:
        return make_certificate(subject, issuer=self, **options)[0]


@dataclass(frozen=True)
class MtlsFiles:
    """What ``make local`` writes under ``.local/mtls-$PORT/`` (removed when it stops)."""

    directory: Path
    ca: Path
    ca_key: Path
    truststore: Path
    server_certificate: Path
    server_key: Path
    demo_certificate: Path
    demo_key: Path


def prepare(directory: Path, host: str, extra_truststore: str | None = None) -> MtlsFiles:
    """A fresh CA, server and demo client certificate in ``directory`` (0700)."""
    from cryptography import x509

    if directory.exists():
        shutil.rmtree(directory)
    directory.mkdir(mode=0o700, parents=True)
    ca = CertificateAuthority()
    files = MtlsFiles(directory, directory / "ca.pem", directory / "ca-key.pem",
                      directory / "truststore.pem", directory / "server.pem",
                      directory / "server-key.pem", directory / "demo-client.pem",
                      directory / "demo-client-key.pem")
    ca.issued.write(files.ca, files.ca_key)
    ca.issue(f"CN={host}", names=[x509.IPAddress(ipaddress.ip_address(host))],
             usage="server").write(files.server_certificate, files.server_key)
    ca.issue(DEMO_CLIENT_DN).write(files.demo_certificate, files.demo_key)
    trusted = ca.issued.certificate_pem
    if extra_truststore:
        trusted += Path(extra_truststore).read_text()
    files.truststore.write_text(trusted)
    return files


def server_context(files: MtlsFiles) -> ssl.SSLContext:
    """TLS 1.2+ with a client certificate optional and, when sent, verified against
    the truststore (what API Gateway does with the S3 truststore)."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(files.server_certificate, files.server_key)
    context.load_verify_locations(cafile=str(files.truststore))
    context.verify_mode = ssl.CERT_OPTIONAL
    return context


def client_cert_context(pem: str) -> dict[str, Any]:
    """``requestContext.identity.clientCert`` as API Gateway forwards it with mutual TLS
    (the PEM, subject and issuer DN, serial number, validity)."""
    from cryptography import x509

    certificate = x509.load_pem_x509_certificate(pem.encode("ascii"))
    hexed = f"{certificate.serial_number:x}"
    hexed = "0" * (len(hexed) % 2) + hexed
    serial = ":".join(hexed[i:i + 2] for i in range(0, len(hexed), 2))
    stamp = "%b %d %H:%M:%S %Y GMT"
    return {
        "clientCertPem": pem,
        "subjectDN": certificate.subject.rfc4514_string(),
        "issuerDN": certificate.issuer.rfc4514_string(),
        "serialNumber": serial,
        "validity": {
            "notBefore": certificate.not_valid_before_utc.strftime(stamp),
            "notAfter": certificate.not_valid_after_utc.strftime(stamp),
        },
    }


def peer_certificate(connection: Any) -> str | None:
    """The PEM certificate the client presented on a TLS connection, if any."""
    if not isinstance(connection, ssl.SSLSocket):
        return None
    der = connection.getpeercert(binary_form=True)
    return ssl.DER_cert_to_PEM_cert(der) if der else None
