"""Client credentials grant (RFC 6749 §4.4) with one cached, shared access token, and
token exchange (RFC 8693 §2.1) of tokens the client received."""

from __future__ import annotations

import hashlib
import logging
import random as _random
import threading
import time
from collections.abc import Callable, Generator, Iterable, MutableMapping
from dataclasses import dataclass, field
from typing import Any, Protocol

import requests
from requests.models import PreparedRequest

from m2m_client.assertion import TOKEN_PATH, AssertionCredentials, discover_issuer
from m2m_client.credentials import AuthMethod, ClientCredentials, ClientSecret
from m2m_client.dpop import DPOP
from m2m_client.dpop_key import DpopKey
from m2m_client.errors import TokenEndpointError, TokenError, TokenTransportError
from m2m_client.retry import (
    RETRY_AFTER_STATUSES,
    RetryPolicy,
    is_retryable_status,
    parse_retry_after,
)
from m2m_client.scopes import parse_scope

logger = logging.getLogger(__name__)

DEFAULT_RETRY = RetryPolicy()
REFRESH_FRACTION = 0.8
REFRESH_MARGIN = 60.0
_MAX_DESCRIPTION = 300
TOKEN_EXCHANGE = "urn:ietf:params:oauth:grant-type:token-exchange"  # noqa: S105 - a name
ACCESS_TOKEN_TYPE = "urn:ietf:params:oauth:token-type:access_token"  # noqa: S105 - a name
JWT_TOKEN_TYPE = "urn:ietf:params:oauth:token-type:jwt"  # noqa: S105 - a name
MAX_EXCHANGED = 256
"""Exchanged tokens cached per client, by subject token, audience and scope (LRU)."""
BEARER = "Bearer"


@dataclass(frozen=True)
class AccessToken:
    """A token from the endpoint (RFC 6749 §5.1) and the times this client acts on."""

    value: str = field(repr=False)
    token_type: str
    scope: str | None
    obtained_at: float
    expires_at: float
    refresh_at: float


def refresh_time(obtained_at: float, lifetime: float) -> float:
    """Renew at 80% of the lifetime or 60 s before expiry, whichever comes first.

    A lifetime of 60 s or less leaves no room for the margin, so 80% applies alone.
    """
    ahead = min(REFRESH_FRACTION * lifetime, lifetime - REFRESH_MARGIN)
    if ahead <= 0:
        ahead = REFRESH_FRACTION * lifetime
    return obtained_at + ahead


class _HasHeaders(Protocol):
    @property
    def headers(self) -> MutableMapping[str, str]: ...


class TokenClient(requests.auth.AuthBase):
    """Fetches, caches and renews an access token with the client credentials grant.

    The client authenticates with `client_secret` (RFC 6749 §2.3.1) or, with no secret
    at all, with `credentials=` an assertion source (`PrivateKeyJwt`, ...; RFC 7521 §4.2)
    that makes a fresh assertion for every request. An assertion names the server's
    issuer identifier: `issuer=`, or discovered once from the server's RFC 8414 metadata
    (whose `token_endpoint` must equal `token_url`).

    With `dpop_key=` a `DpopKey`, every token request carries a DPoP proof (RFC 9449
    §5), so the token is bound to that key (`token_type` `DPoP`); a `use_dpop_nonce`
    answer is retried once with the server's nonce, which is remembered for the next
    requests (§8). The token is then sent as `Authorization: DPoP` with a fresh proof
    per request (`authorization_headers(method, url)`, or this object as requests/httpx
    auth).

    `client_certificate=` (requests' `cert=`: a PEM file holding certificate and key, or
    a `(certificate, key)` pair of paths) presents a TLS client certificate (RFC 8705):
    the token is then bound to it (`cnf.x5t#S256`, §3), and with neither secret nor
    assertion the certificate alone authenticates the client (`tls_client_auth` or
    `self_signed_tls_client_auth`, §2; send it to the server's mutual-TLS endpoint,
    its metadata's `mtls_endpoint_aliases`).

    `get_token()` is thread-safe: concurrent callers share one request to the token
    endpoint. The instance is also a requests auth object (`session.get(url, auth=client)`)
    and, being callable and offering `auth_flow`, an httpx one.
    """

    # httpx's Auth protocol, duck-typed so httpx is never imported here.
    requires_request_body = False
    requires_response_body = False

    def __init__(
        self,
        token_url: str,
        client_id: str,
        client_secret: str | None = None,
        audience: str = "",
        scope: str | Iterable[str] | None = None,
        *,
        auth_method: AuthMethod = "client_secret_basic",
        credentials: AssertionCredentials | None = None,
        issuer: str | None = None,
        client_certificate: str | tuple[str, str] | None = None,
        session: requests.Session | None = None,
        timeout: float = 10.0,
        retry: RetryPolicy = DEFAULT_RETRY,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
        random: Callable[[], float] = _random.random,
        dpop_key: DpopKey | None = None,
    ) -> None:
        if not token_url:
            raise ValueError("token_url must not be empty")
        if not audience:
            raise ValueError("audience must not be empty")
        self.token_url = token_url
        self.audience = audience
        self.scope = " ".join(parse_scope(scope)) or None
        if client_secret is not None and credentials is not None:
            raise ValueError("pass exactly one of client_secret and credentials")
        if client_secret is None and credentials is None and client_certificate is None:
            raise ValueError("pass client_secret, credentials, or client_certificate "
                             "(mutual-TLS client authentication)")
        if not client_id:
            raise ValueError("client_id must not be empty")
        self._client_id = client_id
        self._credentials = (
            ClientCredentials(client_id, ClientSecret(client_secret), auth_method)
            if client_secret is not None
            else None
        )
        self._assertion = credentials
        self._certificate = client_certificate
        self._issuer = issuer
        if credentials is not None and issuer is None and not token_url.endswith(TOKEN_PATH):
            raise ValueError("pass issuer= when token_url does not end with /oauth/token")
        self._owns_session = session is None
        self._session = session if session is not None else requests.Session()
        self._timeout = timeout
        self._retry = retry
        self._clock = clock
        self._sleep = sleep
        self._random = random
        self._token: AccessToken | None = None
        self._refresh_lock = threading.Lock()
        self._exchanged: dict[tuple[str, ...], AccessToken] = {}
        self._exchange_lock = threading.Lock()
        self.dpop_key = dpop_key
        self._dpop_nonce: str | None = None

    @property
    def client_id(self) -> str:
        return self._client_id

    @property
    def auth_method(self) -> str:
        """`client_secret_basic`, `client_secret_post`, `client_assertion`, or
        `tls_client_auth` (the certificate alone; the server may know it as
        `self_signed_tls_client_auth`)."""
        if self._credentials is not None:
            return self._credentials.method
        return "client_assertion" if self._assertion is not None else "tls_client_auth"

    def __repr__(self) -> str:
        return (
            f"TokenClient(token_url={self.token_url!r}, client_id={self.client_id!r}, "
            f"audience={self.audience!r}, scope={self.scope!r}, auth_method={self.auth_method!r})"
        )

    # --- the cache ------------------------------------------------------------------------

    def get_token(self) -> str:
        """The current access token, fetched or renewed when due."""
        return self.token().value

    def token(self) -> AccessToken:
        """The current access token with its timings, fetched or renewed when due."""
        cached = self._token
        if cached is not None:
            now = self._clock()
            if now < cached.refresh_at:
                return cached
            if now < cached.expires_at:
                # Refresh ahead: one caller renews, the others keep using the valid token.
                if not self._refresh_lock.acquire(blocking=False):
                    return cached
                try:
                    return self._renew()
                finally:
                    self._refresh_lock.release()
        with self._refresh_lock:
            return self._renew()

    def invalidate(self) -> None:
        """Forget the cached tokens, e.g. after a resource server rejected one."""
        self._token = None
        with self._exchange_lock:
            self._exchanged.clear()

    def exchange(
        self,
        subject_token: str,
        *,
        audience: str | None = None,
        scope: str | Iterable[str] | None = None,
        subject_token_type: str = ACCESS_TOKEN_TYPE,
        actor_token: str | None = None,
    ) -> AccessToken:
        """Exchange a token this service received for one for ``audience`` (default: the
        client's), as this client (RFC 8693 §2.1): the next hop of a call made on the
        subject's behalf. Cached per subject token, audience and scope until its refresh
        time; the server caps its lifetime at the subject token's."""
        target = audience or self.audience
        wanted = " ".join(parse_scope(scope)) or None
        key = (hashlib.sha256(subject_token.encode()).hexdigest(), target, wanted or "",
               hashlib.sha256((actor_token or "").encode()).hexdigest())
        with self._exchange_lock:
            cached = self._exchanged.pop(key, None)
            if cached is not None and self._clock() < cached.refresh_at:
                self._exchanged[key] = cached  # most recently used last
                return cached
        form = {"grant_type": TOKEN_EXCHANGE, "subject_token": subject_token,
                "subject_token_type": subject_token_type, "audience": target,
                "requested_token_type": ACCESS_TOKEN_TYPE}
        if wanted:
            form["scope"] = wanted
        if actor_token:
            form.update(actor_token=actor_token, actor_token_type=ACCESS_TOKEN_TYPE)
        token = self._fetch(form)
        with self._exchange_lock:
            self._exchanged[key] = token
            while len(self._exchanged) > MAX_EXCHANGED:
                del self._exchanged[next(iter(self._exchanged))]
        return token

    def _renew(self) -> AccessToken:
        """Called with the refresh lock held."""
        current = self._token
        if current is not None and self._clock() < current.refresh_at:
            return current  # another caller renewed it while this one waited
        try:
            token = self._fetch()
        except TokenError as exc:
            if current is not None and self._clock() < current.expires_at:
                logger.warning(
                    "token refresh failed, cached token still valid: client_id=%s error=%s",
                    self.client_id,
                    exc,
                )
                return current
            raise
        self._token = token
        return token

    # --- the token endpoint ---------------------------------------------------------------

    def _fetch(self, grant: dict[str, str] | None = None) -> AccessToken:
        """One token request: the client credentials grant, or the ``grant`` given."""
        if grant is None:
            form = {"grant_type": "client_credentials", "audience": self.audience}
            if self.scope:
                form["scope"] = self.scope
        else:
            form = dict(grant)
        auth: requests.auth.AuthBase
        if self._credentials is not None:
            form.update(self._credentials.form_fields())
            auth = self._credentials.requests_auth()
        else:
            auth = _NoAuth()
            if self._assertion is None:  # RFC 8705 §2: client_id and the certificate
                form["client_id"] = self.client_id
        for attempt in range(1, self._retry.max_attempts + 1):
            failure: TokenError
            status: int | None = None
            try:
                response = self._post(form, auth)
            except (requests.ConnectionError, requests.Timeout) as exc:
                failure = TokenTransportError(f"token endpoint unreachable: {type(exc).__name__}")
                failure.__cause__ = exc
                delay = self._retry.backoff(attempt, self._random)
            except requests.RequestException as exc:
                raise TokenTransportError(f"token request failed: {type(exc).__name__}") from exc
            else:
                with response:
                    status = response.status_code
                    if status == 200:
                        return self._accept(response, form)
                    if 300 <= status < 400:
                        raise TokenTransportError(f"token endpoint redirected (HTTP {status})")
                    failure = self._endpoint_error(response)
                if not is_retryable_status(status):
                    raise failure
                wait = self._retry_delay(failure, attempt)
                if wait is None:
                    raise failure
                delay = wait
            if attempt == self._retry.max_attempts:
                raise failure
            logger.warning(
                "token request failed, retrying: client_id=%s status=%s attempt=%d delay=%.2f",
                self.client_id,
                status,
                attempt,
                delay,
            )
            self._sleep(delay)
        raise AssertionError("unreachable")  # pragma: no cover

    def _post(self, form: dict[str, str], auth: requests.auth.AuthBase) -> requests.Response:
        """One token request; with a DPoP key, retried once at once when the server
        asks for a nonce it has just provided (RFC 9449 §8)."""
        for nonce_retry in (False, True):
            if self._assertion is not None:
                form.update(self._assertion_fields(self._assertion))
            headers = {"Accept": "application/json"}
            if self.dpop_key is not None:
                headers["DPoP"] = self.dpop_key.proof("POST", self.token_url,
                                                      nonce=self._dpop_nonce)
            response = self._session.post(
                self.token_url,
                data=form,
                headers=headers,
                auth=auth,
                timeout=self._timeout,
                allow_redirects=False,
                cert=self._certificate,
            )
            if self.dpop_key is None or not self._asked_for_nonce(response) or nonce_retry:
                return response
            response.close()
            logger.info("token endpoint asked for a DPoP nonce, retrying: client_id=%s",
                        self.client_id)
        raise AssertionError("unreachable")  # pragma: no cover

    def _asked_for_nonce(self, response: requests.Response) -> bool:
        """Remember the server's newest nonce; whether it refused the proof for want of
        it (a ``use_dpop_nonce`` error with a new ``DPoP-Nonce``)."""
        nonce = response.headers.get("DPoP-Nonce")
        if not nonce or not nonce.isascii() or len(nonce) > 1024:
            return False
        sent, self._dpop_nonce = self._dpop_nonce, nonce
        if response.status_code != 400 or nonce == sent:
            return False
        try:
            body = response.json()
        except ValueError:
            return False
        return isinstance(body, dict) and body.get("error") == "use_dpop_nonce"

    def _assertion_fields(self, source: AssertionCredentials) -> dict[str, str]:
        """A fresh assertion for each attempt (a retried one would be a replayed jti)."""
        if self._issuer is None:
            self._issuer = discover_issuer(self._session, self.token_url, self._timeout)
        return {
            "client_id": self.client_id,
            "client_assertion_type": source.assertion_type,
            "client_assertion": source.assertion(self._issuer),
        }

    def _retry_delay(self, failure: TokenError, attempt: int) -> float | None:
        """Retry-After when the server gave one, else backoff; None when it asks too much."""
        retry_after = failure.retry_after if isinstance(failure, TokenEndpointError) else None
        if retry_after is None:
            return self._retry.backoff(attempt, self._random)
        if retry_after > self._retry.max_retry_after:
            return None
        return retry_after

    def _accept(self, response: requests.Response, form: dict[str, str]) -> AccessToken:
        """Validate a successful response (RFC 6749 §5.1) to the request ``form``."""
        try:
            body = response.json()
        except ValueError:
            raise TokenTransportError("token response is not JSON") from None
        if not isinstance(body, dict):
            raise TokenTransportError("token response is not a JSON object")
        value = body.get("access_token")
        token_type = body.get("token_type")
        expires_in = body.get("expires_in")
        if not isinstance(value, str) or not value:
            raise TokenTransportError("token response lacks access_token")
        accepted = ("bearer", "dpop") if self.dpop_key is not None else ("bearer",)
        if not isinstance(token_type, str) or token_type.lower() not in accepted:
            raise TokenTransportError(
                "token response is not a DPoP or Bearer token" if self.dpop_key is not None
                else "token response is not a Bearer token"
            )
        token_type = DPOP if token_type.lower() == "dpop" else BEARER
        if self.dpop_key is not None and token_type == BEARER:
            logger.warning("the token endpoint ignored the DPoP proof: a bearer token "
                           "(client_id=%s)", self.client_id)
        if isinstance(expires_in, bool) or not isinstance(expires_in, int) or expires_in <= 0:
            raise TokenTransportError("token response lacks a positive integer expires_in")
        scope = body.get("scope")
        now = self._clock()
        token = AccessToken(
            value=value,
            token_type=token_type,
            scope=scope if isinstance(scope, str) else form.get("scope"),
            obtained_at=now,
            expires_at=now + expires_in,
            refresh_at=refresh_time(now, expires_in),
        )
        logger.info(
            "access token obtained: client_id=%s audience=%s grant_type=%s expires_in=%d",
            self.client_id,
            form["audience"],
            form["grant_type"],
            expires_in,
        )
        return token

    def _endpoint_error(self, response: requests.Response) -> TokenEndpointError:
        """Read an error response (RFC 6749 §5.2), tolerating a gateway's non-OAuth body."""
        status = response.status_code
        error: object = None
        description: object = None
        try:
            body = response.json()
        except ValueError:
            body = None
        if isinstance(body, dict):
            error = body.get("error")
            description = body.get("error_description")
        if not isinstance(error, str) or not error:
            error = _fallback_error(status)
        retry_after = None
        if status in RETRY_AFTER_STATUSES:
            retry_after = parse_retry_after(response.headers.get("Retry-After"), self._clock())
        return TokenEndpointError(
            error,
            _printable(description),
            status=status,
            retry_after=retry_after,
        )

    # --- HTTP client integrations -----------------------------------------------------------

    def authorization_headers(self, method: str, url: str) -> dict[str, str]:
        """The header fields of one resource request: `Authorization: Bearer <token>`
        (RFC 6750 §2.1), or for a DPoP-bound token `Authorization: DPoP <token>` and a
        fresh `DPoP` proof for `method` and `url` with `ath` (RFC 9449 §7.1)."""
        token = self.token()
        if token.token_type == DPOP and self.dpop_key is not None:
            proof = self.dpop_key.proof(method, url, access_token=token.value)
            return {"Authorization": f"DPoP {token.value}", "DPoP": proof}
        return {"Authorization": f"Bearer {token.value}"}

    def __call__(self, r: PreparedRequest) -> PreparedRequest:
        """requests auth hook: `session.get(url, auth=client)` (RFC 6750 §2.1, RFC 9449 §7.1)."""
        r.headers.update(self.authorization_headers(r.method or "GET", r.url or ""))
        return r

    def auth_flow(self, request: _HasHeaders) -> Generator[_HasHeaders, Any, None]:
        """httpx's `Auth.auth_flow`: set the header fields and send once."""
        method = str(getattr(request, "method", "GET"))
        url = str(getattr(request, "url", ""))
        request.headers.update(self.authorization_headers(method, url))
        yield request

    # --- lifecycle --------------------------------------------------------------------------

    def close(self) -> None:
        """Close the HTTP session if this client created it."""
        if self._owns_session:
            self._session.close()

    def __enter__(self) -> TokenClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


class _NoAuth(requests.auth.AuthBase):
    """Sends no Authorization header; passing it stops requests adding `.netrc` creds."""

    def __call__(self, r: PreparedRequest) -> PreparedRequest:
        return r


def _fallback_error(status: int) -> str:
    if status == 401:
        return "invalid_client"
    if status in RETRY_AFTER_STATUSES:
        return "temporarily_unavailable"
    if status >= 500:
        return "server_error"
    return "invalid_request"


def _printable(description: object) -> str | None:
    if not isinstance(description, str) or not description:
        return None
    cleaned = "".join(ch for ch in description if ch.isprintable())
    return cleaned[:_MAX_DESCRIPTION] or None
