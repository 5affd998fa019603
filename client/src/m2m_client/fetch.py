"""Fetching the authorization server's public JSON documents (metadata, JWKS)."""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Protocol
from urllib.parse import urlsplit

import requests

from m2m_client.errors import M2MClientError

MAX_DOCUMENT_BYTES = 256 * 1024
_LOOPBACK_NAMES = frozenset({"localhost"})


class FetchError(M2MClientError):
    """A document could not be fetched."""


@dataclass(frozen=True)
class HttpResponse:
    """What a fetch returns: status, headers with lower-case names, and the body."""

    status: int
    headers: Mapping[str, str] = field(default_factory=dict)
    body: bytes = b""

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())


class Fetch(Protocol):
    """GET a URL; raise `FetchError` when no response arrives."""

    def __call__(self, url: str) -> HttpResponse: ...


class RequestsFetcher:
    """GET with requests: no redirects followed, bounded body size, JSON expected."""

    def __init__(
        self,
        session: requests.Session | None = None,
        *,
        timeout: float = 5.0,
        max_bytes: int = MAX_DOCUMENT_BYTES,
    ) -> None:
        self._session = session if session is not None else requests.Session()
        self._timeout = timeout
        self._max_bytes = max_bytes

    def __call__(self, url: str) -> HttpResponse:
        try:
            with self._session.get(
                url,
                headers={"Accept": "application/json"},
                timeout=self._timeout,
                allow_redirects=False,
                stream=True,
            ) as response:
                body = bytearray()
                for chunk in response.iter_content(chunk_size=16 * 1024):
                    body.extend(chunk)
                    if len(body) > self._max_bytes:
                        raise FetchError(f"{url} returned more than {self._max_bytes} bytes")
                headers = {name.lower(): value for name, value in response.headers.items()}
                return HttpResponse(response.status_code, headers, bytes(body))
        except requests.RequestException as exc:
            raise FetchError(f"GET {url} failed: {type(exc).__name__}") from exc


def require_secure_url(url: str) -> str:
    """Key material travels over TLS (RFC 8414 §2, RFC 7517 §9.1); plain http only to loopback."""
    parts = urlsplit(url)
    if parts.scheme == "https" and parts.hostname:
        return url
    if parts.scheme == "http" and parts.hostname and _is_loopback(parts.hostname):
        return url
    raise ValueError(f"{url!r} must be an https URL (http is allowed only for loopback hosts)")


def _is_loopback(host: str) -> bool:
    if host in _LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
