"""Client authentication: ``client_secret_basic`` and ``client_secret_post`` (RFC 6749
§2.3.1), assertions (RFC 7521 §4.2) dispatched to the configured
:class:`~.assertion.AssertionMethod` modules, and the TLS client certificate (RFC 8705
§2) checked by the configured :class:`CertificateMethod`."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

from ..errors import InvalidClient, InvalidRequest
from ..store.records import App, AppCredentials, ClientSecret
from ..store.repository import AppRepository
from .assertion import MAX_ASSERTION_LENGTH, AssertionMethod, ClientAssertion
from .client_secret import CLIENT_ID_SHAPE, hash_secret, verify_secret
from .request import IncomingRequest, Parameters

log = logging.getLogger(__name__)

AUTH_METHODS = ("client_secret_basic", "client_secret_post")
LAST_USED_INTERVAL = 3600
"""``last_used`` is written at most once an hour per secret and per app, not on every
request."""

# Compared against when the client is unknown, so the response takes as long.
_DUMMY_HASH = hash_secret("m2msec_unknown-client")


# An id not of the shape new_client_id() makes is not a client of ours: it is refused
# without a DynamoDB read (whose key limit it might break) and never logged, since a
# client that swaps id and secret would otherwise put its secret in the log.
def loggable_client_id(client_id: str) -> str:
    return client_id if CLIENT_ID_SHAPE.fullmatch(client_id) else "<malformed>"


@dataclass(frozen=True)
class ClientCredentials:
    client_id: str
    client_secret: str
    method: str

    def __repr__(self) -> str:  # never let the secret reach a log line
        return f"ClientCredentials(client_id={self.client_id!r}, method={self.method!r})"


@dataclass(frozen=True)
class AuthenticatedClient:
    credentials: AppCredentials
    secret: ClientSecret | None
    """The secret that matched; ``None`` for the secretless (assertion) methods."""
    method: str

    @property
    def client_id(self) -> str:
        return self.credentials.app.client_id


def extract_credentials(request: IncomingRequest, params: Parameters) -> ClientCredentials:
    """Find the one authentication method the client used."""
    body_id = params.single("client_id")
    body_secret = params.single("client_secret")
    if request.authorization:
        if body_secret is not None:
            raise InvalidRequest("The client must use only one authentication method.")
        client_id, secret = request.basic_credentials
        if body_secret is not None or (body_id is not None and body_id != client_id):
            raise InvalidRequest("The client must use only one authentication method.")
        if not client_id or not secret:
            raise InvalidClient()
        return ClientCredentials(client_id, secret, "client_secret_basic")
    if body_id is not None and body_secret is not None:
        return ClientCredentials(body_id, body_secret, "client_secret_post")
    raise InvalidClient("Client authentication is required.")


class CertificateMethod(Protocol):
    """Client authentication by the TLS client certificate (RFC 8705 §2,
    :mod:`.tls_client_auth`)."""

    methods: tuple[str, ...]

    def applies(self, request: IncomingRequest, params: Parameters) -> bool:
        """Whether the request authenticates by its certificate alone."""

    def authenticate(
        self, request: IncomingRequest, params: Parameters, now: int
    ) -> tuple[AppCredentials, str]:
        """The app the certificate authenticates and the method name, or
        ``InvalidClient``."""


def extract_assertion(request: IncomingRequest, params: Parameters) -> ClientAssertion | None:
    """The assertion parameters (RFC 7521 §4.2), or ``None`` when the client sent none.

    An assertion is the request's one authentication method: with a ``client_secret``
    or an ``Authorization`` header as well it is ``invalid_request`` (RFC 6749 §2.3),
    as is one of the two assertion parameters without the other."""
    assertion_type = params.single("client_assertion_type")
    assertion = params.single("client_assertion")
    if assertion_type is None and assertion is None:
        return None
    if assertion_type is None or assertion is None:
        raise InvalidRequest(
            "client_assertion_type and client_assertion must be sent together."
        )
    if request.authorization or params.single("client_secret") is not None:
        raise InvalidRequest("The client must use only one authentication method.")
    if len(assertion) > MAX_ASSERTION_LENGTH:
        raise InvalidClient()
    return ClientAssertion(assertion_type, assertion, params.single("client_id"))


class ClientAuthenticator:
    """Checks presented credentials: secrets against the app's stored hashes, assertions
    by the one configured method that handles their type."""

    def __init__(
        self,
        apps: AppRepository,
        clock: Callable[[], float],
        methods: Sequence[AssertionMethod] = (),
        certificate: CertificateMethod | None = None,
    ) -> None:
        self._apps = apps
        self._clock = clock
        self._methods = tuple(methods)
        self._certificate = certificate

    @property
    def method_names(self) -> tuple[str, ...]:
        """Every method this server accepts (RFC 8414 ``*_auth_methods_supported``)."""
        certificate = self._certificate.methods if self._certificate is not None else ()
        return (*AUTH_METHODS, *(m.method for m in self._methods), *certificate)

    def authenticate(
        self, request: IncomingRequest, params: Parameters, issuer: str
    ) -> AuthenticatedClient:
        """The authenticated client; ``issuer`` is our issuer identifier, the audience
        an assertion must name."""
        assertion = extract_assertion(request, params)
        if assertion is not None:
            client = self._authenticate_assertion(assertion, issuer)
        elif self._certificate is not None and self._certificate.applies(request, params):
            client = self._authenticate_certificate(self._certificate, request, params)
        else:
            client = self._authenticate_secret(request, params)
        self._record_app_use(client.credentials.app)
        return client

    def _authenticate_secret(
        self, request: IncomingRequest, params: Parameters
    ) -> AuthenticatedClient:
        presented = extract_credentials(request, params)
        well_formed = CLIENT_ID_SHAPE.fullmatch(presented.client_id) is not None
        credentials = self._apps.get_credentials(presented.client_id) if well_formed else None
        now = int(self._clock())
        if credentials is None or not credentials.app.enabled:
            verify_secret(_DUMMY_HASH, presented.client_secret)
            log.info(
                "client authentication failed client_id=%s",
                loggable_client_id(presented.client_id),
            )
            raise InvalidClient()
        for secret in credentials.secrets:
            if secret.is_active(now) and verify_secret(
                secret.secret_hash, presented.client_secret
            ):
                self._record_use(presented.client_id, secret, now)
                return AuthenticatedClient(credentials, secret, presented.method)
        if not credentials.secrets:  # a secretless app: answer as slowly as the others
            verify_secret(_DUMMY_HASH, presented.client_secret)
        log.info("client authentication failed client_id=%s", presented.client_id)
        raise InvalidClient()

    def _authenticate_assertion(
        self, assertion: ClientAssertion, issuer: str
    ) -> AuthenticatedClient:
        handlers = [m for m in self._methods if m.handles(assertion)]
        if len(handlers) != 1:
            log.info("client authentication failed: no method for the assertion type")
            raise InvalidClient()
        method = handlers[0]
        credentials = method.authenticate(assertion, issuer, int(self._clock()))
        client_id = credentials.app.client_id
        if assertion.client_id is not None and assertion.client_id != client_id:
            # RFC 7521 §4.2: a client_id parameter must identify the authenticated client.
            log.info(
                "client authentication failed method=%s client_id=%s: client_id parameter "
                "names another app", method.method, client_id,
            )
            raise InvalidClient()
        if not credentials.app.enabled:
            log.info(
                "client authentication failed method=%s client_id=%s: app disabled",
                method.method, client_id,
            )
            raise InvalidClient()
        return AuthenticatedClient(credentials, None, method.method)

    def _authenticate_certificate(
        self, method: CertificateMethod, request: IncomingRequest, params: Parameters
    ) -> AuthenticatedClient:
        credentials, name = method.authenticate(request, params, int(self._clock()))
        if not credentials.app.enabled:
            log.info("client authentication failed method=%s client_id=%s: app disabled",
                     name, credentials.app.client_id)
            raise InvalidClient()
        return AuthenticatedClient(credentials, None, name)

    def _record_app_use(self, app: App) -> None:
        """The app's own ``last_used`` (any method; what the admin app list shows)."""
        now = int(self._clock())
        if app.last_used is not None and now - app.last_used < LAST_USED_INTERVAL:
            return
        try:
            self._apps.record_app_use(app.client_id, now, LAST_USED_INTERVAL)
        except Exception:  # bookkeeping must never fail a token request
            log.warning("could not record last_used client_id=%s", app.client_id)

    def _record_use(self, client_id: str, secret: ClientSecret, now: int) -> None:
        if secret.last_used is not None and now - secret.last_used < LAST_USED_INTERVAL:
            return
        try:
            self._apps.record_secret_use(client_id, secret.secret_id, now, LAST_USED_INTERVAL)
        except Exception:  # bookkeeping must never fail a token request
            log.warning("could not record last_used secret_id=%s", secret.secret_id)
