"""The local server's stand-in for API Gateway, answering like the deployed one.

Chalice's local gateway answers an unknown path with ``403 {"message": "Missing
Authentication Token"}`` (and, when the request has an ``Authorization`` header, a
message that quotes that header back). API Gateway in this service's stack answers
with its configured ``MISSING_AUTHENTICATION_TOKEN`` gateway response instead
(infra/gateway_responses.py): here the local server answers with the same response.
OPTIONS, which Chalice's local gateway answers itself with an empty 200, goes to the
app like any other method (405 with ``Allow``). A header field sent more than once
reaches the app in ``multiValueHeaders`` with every value, as API Gateway hands it over
(RFC 9449 §4.3: a request with two ``DPoP`` fields must be refused, not read as one).
On the TLS port, the client certificate of the connection is put where API Gateway's
mutual TLS puts it, ``requestContext.identity.clientCert`` (docs/mtls.md).
"""

from __future__ import annotations

import json
import uuid
from typing import Any

from chalice.local import LocalGateway as ChaliceLocalGateway
from chalice.local import LocalGatewayException

from .gateway_responses import RESPONSES

UNKNOWN_PATH = RESPONSES["MISSING_AUTHENTICATION_TOKEN"]


class GatewayResponseError(LocalGatewayException):
    """A gateway response, raised where Chalice raises its own (the handler and
    ``chalice.test`` both send a LocalGatewayException's code, headers and body)."""

    def __init__(self, status: int, headers: dict[str, Any], body: bytes) -> None:
        super().__init__(headers, body)
        self.CODE = status


def unknown_path() -> GatewayResponseError:
    request_id = str(uuid.uuid4())
    body = json.dumps(UNKNOWN_PATH.body(request_id), separators=(",", ":")).encode()
    headers = {"Content-Type": "application/json", "x-amzn-RequestId": request_id,
               **UNKNOWN_PATH.response_headers()}
    return GatewayResponseError(UNKNOWN_PATH.status or 404, headers, body)


class ReceivedHeaders(dict[str, str]):
    """The first value of each header field (what Chalice's handler passes on), and
    every value of each field by lower-case name in :attr:`every`."""

    def __init__(self, fields: list[tuple[str, str]]) -> None:
        super().__init__()
        self.every: dict[str, list[str]] = {}
        for name, value in fields:
            self.setdefault(name, value)
            self.every.setdefault(name.lower(), []).append(value)


class LocalGateway(ChaliceLocalGateway):
    def __init__(self, app_object: Any, config: Any, client_certificate: str | None = None
                 ) -> None:
        super().__init__(app_object, config)
        self.client_certificate = client_certificate
        """The PEM certificate of the TLS connection the requests come on, if any."""

    def _generate_lambda_event(
        self, method: str, path: str, headers: Any, body: bytes | None
    ) -> Any:
        try:
            event = super()._generate_lambda_event(method, path, headers, body)
        except ValueError:  # Chalice's "no matching route"
            raise unknown_path() from None
        if isinstance(headers, ReceivedHeaders):
            event["multiValueHeaders"] = {k: list(v) for k, v in headers.every.items()}
        if self.client_certificate is not None:
            from .local_mtls import client_cert_context

            identity = event["requestContext"].setdefault("identity", {})
            identity["clientCert"] = client_cert_context(self.client_certificate)
        return event

    def _has_user_defined_options_method(self, lambda_event: Any) -> bool:
        return True  # let the app answer OPTIONS (405 in this service's format)
