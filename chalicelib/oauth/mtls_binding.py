"""Certificate-bound access tokens (RFC 8705 §3): a token requested over mutual TLS is
bound to the client certificate, ``cnf: {"x5t#S256": <thumbprint>}`` (§3.1), whatever
the client authenticated with; it stays a Bearer token (§3). An app whose metadata says
``tls_client_certificate_bound_access_tokens`` (§3.4) must present a certificate.

Requests without a certificate cost one attribute test: nothing is parsed.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from ..errors import InvalidRequest
from .client_certificate import THUMBPRINT_MEMBER, CertificateError, pem_thumbprint
from .request import IncomingRequest
from .sender_constraint import Binding, Finish

if TYPE_CHECKING:
    from .grant import GrantDecision

log = logging.getLogger(__name__)


class CertificateBinding:
    """The :class:`~.sender_constraint.ProofOfPossession` of mutual TLS."""

    def present(self, request: IncomingRequest, issuer: str, now: int) -> Finish:
        pem = request.client_certificate
        if pem is None:
            return _without_certificate
        try:
            binding = Binding({THUMBPRINT_MEMBER: pem_thumbprint(pem)})
        except CertificateError:
            raise InvalidRequest("The TLS client certificate cannot be read.") from None
        return lambda decision: binding


def _without_certificate(decision: GrantDecision) -> None:
    app = decision.client.credentials.app
    if app.tls_client_certificate_bound_access_tokens:
        log.info("token refused client_id=%s: no TLS client certificate", app.client_id)
        raise InvalidRequest(
            "This client's tokens are bound to its TLS client certificate "
            "(tls_client_certificate_bound_access_tokens): use the mutual-TLS "
            "endpoint and present the certificate."
        )
