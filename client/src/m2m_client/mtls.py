"""Certificate-bound access tokens at the resource server (RFC 8705 §3).

A token whose ``cnf`` claim holds ``x5t#S256`` (RFC 8705 §3.1) was issued to a client
over mutual TLS and is good only on a request made with that same certificate: the
SHA-256 thumbprint of the DER certificate the resource server's TLS layer saw must be
equal. Anything else (no certificate, another one, an unreadable one) is
``invalid_token`` (RFC 8705 §3, RFC 6750 §3.1). Tokens without ``x5t#S256`` are not
this module's concern.

Behind API Gateway with mutual TLS the certificate is in the request context,
``requestContext.identity.clientCert.clientCertPem`` (:func:`api_gateway_certificate`).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
from collections.abc import Mapping
from typing import Any

from m2m_client.errors import InvalidToken

THUMBPRINT_MEMBER = "x5t#S256"
CONTEXT_KEY = "cnf_x5t_s256"
"""The authorizer-context key carrying a token's certificate thumbprint to the view
(Chalice's TOKEN authorizers never see the certificate; :mod:`m2m_client.chalice_auth`)."""
_PEM = re.compile(rb"-----BEGIN CERTIFICATE-----([A-Za-z0-9+/=\s]+?)-----END CERTIFICATE-----")


def certificate_der(certificate: str | bytes) -> bytes:
    """The DER bytes of a certificate given as PEM (text or bytes) or DER."""
    raw = certificate.encode("ascii", "replace") if isinstance(certificate, str) else certificate
    if b"-----BEGIN" not in raw:
        if not raw:
            raise ValueError("empty certificate")
        return bytes(raw)
    blocks = _PEM.findall(raw)
    if len(blocks) != 1 or raw.count(b"-----BEGIN") != 1:
        raise ValueError("expected exactly one PEM certificate")
    try:
        der = base64.b64decode(b"".join(blocks[0].split()), validate=True)
    except (binascii.Error, ValueError):
        raise ValueError("malformed PEM certificate") from None
    if not der:
        raise ValueError("empty certificate")
    return der


def certificate_thumbprint(certificate: str | bytes) -> str:
    """``x5t#S256`` of a certificate: base64url SHA-256 of its DER (RFC 8705 §3.1)."""
    digest = hashlib.sha256(certificate_der(certificate)).digest()
    return base64.urlsafe_b64encode(digest).decode("ascii").rstrip("=")


def bound_thumbprint(claims: Mapping[str, Any]) -> str | None:
    """The certificate thumbprint a token is bound to, ``None`` for a token that is not
    certificate-bound; a malformed ``cnf`` is ``invalid_token``."""
    cnf = claims.get("cnf")
    if cnf is None:
        return None
    if not isinstance(cnf, Mapping):
        raise InvalidToken("the token's cnf claim is malformed")
    expected = cnf.get(THUMBPRINT_MEMBER)
    if expected is None:
        return None
    if not isinstance(expected, str) or not expected:
        raise InvalidToken("the token's cnf claim is malformed")
    return expected


def check_thumbprint(expected: str, client_certificate: str | bytes | None) -> None:
    """``invalid_token`` unless ``client_certificate`` has the thumbprint ``expected``."""
    if client_certificate is None:
        raise InvalidToken("the token is bound to a TLS client certificate the request "
                           "did not present")
    try:
        presented = certificate_thumbprint(client_certificate)
    except ValueError:
        raise InvalidToken("the request's TLS client certificate cannot be read") from None
    if not hmac.compare_digest(presented.encode(), expected.encode()):
        raise InvalidToken("the token is bound to another TLS client certificate")


def check_certificate_binding(
    claims: Mapping[str, Any], client_certificate: str | bytes | None
) -> None:
    """RFC 8705 §3: a certificate-bound token needs its certificate; others pass."""
    expected = bound_thumbprint(claims)
    if expected is not None:
        check_thumbprint(expected, client_certificate)


def api_gateway_certificate(event: Mapping[str, Any] | None) -> str | None:
    """The PEM client certificate of an API Gateway event (or of its ``requestContext``
    alone), which API Gateway sets only after verifying it against the custom domain's
    truststore: ``identity.clientCert`` in REST API events (proxy and REQUEST
    authorizer), ``authentication.clientCert`` in HTTP API payload 2.0."""
    if not isinstance(event, Mapping):
        return None
    context = event.get("requestContext", event)
    if not isinstance(context, Mapping):
        return None
    for holder in (context.get("identity"), context.get("authentication")):
        cert = holder.get("clientCert") if isinstance(holder, Mapping) else None
        pem = cert.get("clientCertPem") if isinstance(cert, Mapping) else None
        if isinstance(pem, str) and pem:
            return pem
    return None
