"""Client authentication at the authorization server (RFC 6749 §2.3.1)."""

from __future__ import annotations

import base64
from dataclasses import dataclass
from typing import Literal, get_args
from urllib.parse import quote_plus

import requests
from requests.models import PreparedRequest

AuthMethod = Literal["client_secret_basic", "client_secret_post"]
AUTH_METHODS: tuple[str, ...] = get_args(AuthMethod)


class ClientSecret:
    """A client secret that never shows itself in `repr()`, `str()` or a log line."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        if not value:
            raise ValueError("client secret must not be empty")
        self._value = value

    def reveal(self) -> str:
        """The secret itself, for the one place that puts it on the wire."""
        return self._value

    def __repr__(self) -> str:
        return "ClientSecret('**********')"

    __str__ = __repr__


@dataclass(frozen=True)
class ClientCredentials:
    """A confidential client's id and secret and how it presents them (RFC 6749 §2.3.1)."""

    client_id: str
    secret: ClientSecret
    method: AuthMethod = "client_secret_basic"

    def __post_init__(self) -> None:
        if not self.client_id:
            raise ValueError("client_id must not be empty")
        if self.method not in AUTH_METHODS:
            raise ValueError(f"auth_method must be one of {', '.join(AUTH_METHODS)}")

    def form_fields(self) -> dict[str, str]:
        """Body parameters for `client_secret_post`; none for `client_secret_basic`."""
        if self.method == "client_secret_post":
            return {"client_id": self.client_id, "client_secret": self.secret.reveal()}
        return {}

    def authorization_header(self) -> str | None:
        """The `Authorization` value for `client_secret_basic`; None for `client_secret_post`."""
        if self.method == "client_secret_basic":
            return basic_authorization(self.client_id, self.secret.reveal())
        return None

    def requests_auth(self) -> requests.auth.AuthBase:
        """A requests auth object; passing one also stops requests from adding `.netrc` creds."""
        return _ClientAuth(self.authorization_header())


def basic_authorization(client_id: str, secret: str) -> str:
    """RFC 6749 §2.3.1: form-urlencode id and secret (Appendix B), then HTTP Basic (RFC 7617)."""
    pair = f"{quote_plus(client_id, safe='')}:{quote_plus(secret, safe='')}"
    return "Basic " + base64.b64encode(pair.encode("utf-8")).decode("ascii")


class _ClientAuth(requests.auth.AuthBase):
    def __init__(self, header: str | None) -> None:
        self._header = header

    def __call__(self, r: PreparedRequest) -> PreparedRequest:
        if self._header is not None:
            r.headers["Authorization"] = self._header
        return r

    def __repr__(self) -> str:
        return "_ClientAuth(...)"
