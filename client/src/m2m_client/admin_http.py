"""The admin API over HTTP (docs/admin-contract.md), signed with SigV4 for `execute-api`.

Credentials and region come from botocore's normal chain, as the AWS CLI finds them:
a `profile` (or `AWS_PROFILE`), environment variables, the shared files, SSO, container
and instance credentials. Every request is signed just before it is sent. Errors come
back as `ApiError` carrying the RFC 9457 problem document.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, urlsplit

import requests
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.exceptions import BotoCoreError, ProfileNotFound
from botocore.session import Session as BotocoreSession

from m2m_client.errors import M2MClientError
from m2m_client.fetch import _is_loopback

SERVICE = "execute-api"
DEFAULT_TIMEOUT = 30.0
LOOPBACK_REGION = "us-east-1"  # any region will do: the local server ignores signatures
USER_AGENT = "m2m-auth-client/0.1.0"
_ACCEPT = "application/json, application/problem+json"
_MAX_DETAIL = 500
# {api-id}.execute-api.{region}.amazonaws.com, the -fips and .cn forms, and private
# APIs' {api-id}-{vpce-id}.execute-api.{region}.vpce.amazonaws.com.
_EXECUTE_API_HOST = re.compile(
    r"\.execute-api(?:-fips)?\.([a-z]{2}(?:-[a-z]+)+-\d+)\.(?:vpce\.)?amazonaws\.com(?:\.cn)?$"
)
# RFC 3986 unreserved characters, which SigV4 leaves unencoded.
_UNRESERVED = "-_.~"


class AdminError(M2MClientError):
    """Base class of the admin client's errors."""


class ConfigurationError(AdminError):
    """The endpoint, region or AWS credentials are missing or unusable."""


class TransportError(AdminError):
    """The admin API could not be reached, or its answer was not usable."""


class ApiError(AdminError):
    """The admin API answered with an error: an RFC 9457 problem, or a gateway's message.

    `problem` is the parsed body (`type`, `title`, `status`, `detail`, `errors`); for an
    API Gateway error such as a rejected signature it is `{"detail": <its message>}`.
    """

    def __init__(self, status: int, problem: Mapping[str, Any]) -> None:
        self.status = status
        self.problem = dict(problem)
        self.title = _text(problem.get("title"))
        self.detail = _text(problem.get("detail"))
        self.type = _text(problem.get("type"))
        errors = problem.get("errors")
        self.errors: list[tuple[str, str]] = [
            (_text(e.get("field")) or "", _text(e.get("message")) or "")
            for e in (errors if isinstance(errors, list) else [])
            if isinstance(e, dict)
        ]
        summary = self.detail or self.title or "request failed"
        super().__init__(f"HTTP {status}: {summary}")


@dataclass(frozen=True)
class SigV4Signer:
    """Signs requests for API Gateway (`execute-api`) with botocore's SigV4 signer.

    `credentials` is a botocore credentials object; a refreshable one (SSO, assumed role)
    is frozen afresh for every request, as botocore's own clients do.
    """

    credentials: Any = field(repr=False)
    region: str
    service: str = SERVICE

    def sign(
        self, method: str, url: str, headers: Mapping[str, str], body: bytes
    ) -> dict[str, str]:
        """The headers to send: `headers` plus `X-Amz-Date`, `Authorization` and, for
        temporary credentials, `X-Amz-Security-Token`."""
        try:
            frozen = self.credentials.get_frozen_credentials()
        except BotoCoreError as exc:
            raise ConfigurationError(f"AWS credentials could not be refreshed: {exc}") from exc
        request = AWSRequest(method=method, url=url, data=body, headers=dict(headers))
        SigV4Auth(frozen, self.service, self.region).add_auth(request)
        return {name: str(value) for name, value in request.headers.items()}


def region_from_host(url: str) -> str | None:
    """The region in an `execute-api` host name, e.g. `eu-west-1`; None for other hosts."""
    host = (urlsplit(url).hostname or "").lower()
    match = _EXECUTE_API_HOST.search(host)
    return match.group(1) if match else None


def is_loopback_endpoint(url: str) -> bool:
    host = urlsplit(url).hostname
    return bool(host) and _is_loopback(str(host))


def check_endpoint(endpoint: str) -> str:
    """The endpoint without a trailing slash; https, or http to a loopback host only."""
    parts = urlsplit(endpoint)
    if parts.query or parts.fragment:
        raise ConfigurationError(f"the endpoint {endpoint!r} must not have a query or fragment")
    if parts.scheme == "https" and parts.hostname:
        return endpoint.rstrip("/")
    if parts.scheme == "http" and parts.hostname and _is_loopback(parts.hostname):
        return endpoint.rstrip("/")
    raise ConfigurationError(
        f"the endpoint {endpoint!r} must be an https URL (http only for 127.0.0.1 or localhost)"
    )


def resolve_region(endpoint: str, region: str | None, session: BotocoreSession) -> str | None:
    """`region` if given, else the region in an `execute-api` host name (the only one its
    signature is valid for), else `AWS_REGION`, else botocore's (`AWS_DEFAULT_REGION`, the
    profile's `region`)."""
    if region:
        return region
    found = region_from_host(endpoint) or os.environ.get("AWS_REGION")
    if found:
        return found
    configured = session.get_config_variable("region")
    return str(configured) if configured else None


def signer_from_aws_config(
    endpoint: str, *, profile: str | None = None, region: str | None = None
) -> SigV4Signer | None:
    """A signer from botocore's credential chain; None when no credentials are found.

    Raises `ConfigurationError` for a profile that does not exist, a credential provider
    that fails (an expired SSO session, say), or a region that cannot be determined.
    """
    try:
        session = _botocore_session(profile)
        credentials = session.get_credentials()
        if credentials is None:
            return None
        resolved = resolve_region(endpoint, region, session)
    except ProfileNotFound as exc:
        raise ConfigurationError(str(exc)) from exc
    except BotoCoreError as exc:
        raise ConfigurationError(f"AWS credentials could not be loaded: {exc}") from exc
    if not resolved:
        if not is_loopback_endpoint(endpoint):
            raise ConfigurationError(
                "no AWS region: pass --region or set AWS_REGION (needed to sign for "
                "an endpoint that is not an execute-api host name)"
            )
        resolved = LOOPBACK_REGION
    return SigV4Signer(credentials, resolved)


def _botocore_session(profile: str | None) -> BotocoreSession:
    """botocore's session; an empty `AWS_PROFILE` counts as unset (the Makefile's offline
    environment sets it so), where botocore would look for a profile named ''."""
    if profile:
        return BotocoreSession(profile=profile)
    names = ("AWS_DEFAULT_PROFILE", "AWS_PROFILE")
    if all(os.environ.get(name, "x") for name in names):
        return BotocoreSession()
    usable = [name for name in names if os.environ.get(name)]
    return BotocoreSession(session_vars={"profile": (None, usable, None, None)})


def admin_path(*segments: str) -> str:
    """`/admin/...` with each segment percent-encoded (an id never changes the path)."""
    return "/admin/" + "/".join(quote(s, safe="") for s in segments)


def _query(params: Mapping[str, object] | None) -> str:
    if not params:
        return ""
    pairs = [
        f"{quote(str(k), safe=_UNRESERVED)}={quote(str(v), safe=_UNRESERVED)}"
        for k, v in sorted(params.items())
        if v is not None
    ]
    return "?" + "&".join(pairs) if pairs else ""


class AdminClient:
    """Calls the admin API of one m2m-auth deployment.

    `endpoint` is the service's base URL (`https://{api-id}.execute-api.{region}.amazonaws.com/{stage}`,
    or `http://127.0.0.1:8000` for `make local`). With `signer=None` requests go unsigned,
    which only the local server accepts. Each method returns the parsed JSON body (None
    for 204) or raises `ApiError`; secrets in responses are returned, never logged.
    """

    def __init__(
        self,
        endpoint: str,
        signer: SigV4Signer | None,
        *,
        session: requests.Session | None = None,
        timeout: float = DEFAULT_TIMEOUT,
    ) -> None:
        self.endpoint = check_endpoint(endpoint)
        self.signer = signer
        self._session = session if session is not None else requests.Session()
        self._timeout = timeout

    @classmethod
    def from_aws_config(
        cls,
        endpoint: str,
        *,
        profile: str | None = None,
        region: str | None = None,
        allow_unsigned_loopback: bool = True,
        session: requests.Session | None = None,
        timeout: float = DEFAULT_TIMEOUT,
    ) -> AdminClient:
        """Sign with the credentials botocore finds; without any, go unsigned to a loopback
        endpoint (when allowed) and raise `ConfigurationError` otherwise."""
        endpoint = check_endpoint(endpoint)
        signer = signer_from_aws_config(endpoint, profile=profile, region=region)
        if signer is None and not (allow_unsigned_loopback and is_loopback_endpoint(endpoint)):
            raise ConfigurationError(
                "no AWS credentials found: configure them as for the AWS CLI "
                "(aws configure, AWS_PROFILE or --profile, or AWS_ACCESS_KEY_ID and "
                "AWS_SECRET_ACCESS_KEY)"
            )
        return cls(endpoint, signer, session=session, timeout=timeout)

    @property
    def signed(self) -> bool:
        return self.signer is not None

    def __repr__(self) -> str:
        return f"AdminClient(endpoint={self.endpoint!r}, signed={self.signed})"

    # --- verbs ------------------------------------------------------------------------------

    def get(self, path: str, params: Mapping[str, object] | None = None) -> Any:
        return self.request("GET", path, params=params)

    def post(self, path: str, json_body: Any = None) -> Any:
        return self.request("POST", path, json_body)

    def put(self, path: str, json_body: Any = None, *, if_match: int | None = None) -> Any:
        return self.request("PUT", path, json_body, if_match=if_match)

    def patch(self, path: str, json_body: Any = None, *, if_match: int | None = None) -> Any:
        return self.request("PATCH", path, json_body, if_match=if_match)

    def delete(self, path: str, *, if_match: int | None = None) -> Any:
        return self.request("DELETE", path, if_match=if_match)

    def pages(
        self, path: str, *, limit: int | None = None, next_cursor: str | None = None
    ) -> Iterator[dict[str, Any]]:
        """Every page of a list, following `next` until it is null."""
        cursor = next_cursor
        while True:
            page = self.get(path, {"limit": limit, "next": cursor})
            if not isinstance(page, dict) or not isinstance(page.get("items"), list):
                raise TransportError(f"{path} did not answer with a list page")
            yield page
            cursor = page.get("next")
            if not cursor:
                return

    def request(
        self,
        method: str,
        path: str,
        json_body: Any = None,
        *,
        params: Mapping[str, object] | None = None,
        if_match: int | None = None,
    ) -> Any:
        """Send one signed request; the parsed JSON answer, None for 204, or `ApiError`."""
        if not path.startswith("/"):
            raise ValueError("path must start with '/'")
        url = self.endpoint + path + _query(params)
        headers = {"Accept": _ACCEPT, "User-Agent": USER_AGENT}
        body = b""
        if json_body is not None:
            body = json.dumps(json_body, separators=(",", ":")).encode("utf-8")
            headers["Content-Type"] = "application/json"
        if if_match is not None:
            headers["If-Match"] = f'"{if_match}"'
        if self.signer is not None:
            headers = self.signer.sign(method, url, headers, body)
        try:
            response = self._session.request(
                method,
                url,
                data=body or None,
                headers=headers,
                timeout=self._timeout,
                allow_redirects=False,  # never replay a signed request elsewhere
            )
        except requests.RequestException as exc:
            raise TransportError(f"{method} {url} failed: {type(exc).__name__}") from exc
        with response:
            return _answer(response)


def _answer(response: requests.Response) -> Any:
    status = response.status_code
    if status == 204:
        return None
    if 200 <= status < 300:
        try:
            return response.json()
        except ValueError:
            raise TransportError(f"the answer (HTTP {status}) is not JSON") from None
    raise ApiError(status, _problem(response))


def _problem(response: requests.Response) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        body = None
    if isinstance(body, dict):
        if "detail" in body or "title" in body:
            return body
        message = body.get("message") or body.get("Message")  # API Gateway's own errors
        if isinstance(message, str):
            return {"status": response.status_code, "detail": message}
    reason = response.reason if isinstance(response.reason, str) else ""
    return {"status": response.status_code, "detail": reason or f"HTTP {response.status_code}"}


def _text(value: object) -> str | None:
    if not isinstance(value, str) or not value:
        return None
    cleaned = "".join(ch for ch in value if ch.isprintable())
    return cleaned[:_MAX_DETAIL]
