"""`FederatedToken`: a workload's own identity token as the client credential
(m2m-auth docs/federation.md; RFC 7523 §2.2 with a third-party issuer, or a SPIFFE
JWT-SVID per draft-ietf-oauth-spiffe-client-auth).

The platform issues the token — a Kubernetes projected service-account token, a
GitHub Actions OIDC token, an AWS `sts:GetWebIdentityToken` token, a JWT-SVID — for
the audience the app's federated identity names (by default the server's issuer
identifier). `FederatedToken` only reads it, freshly for every token request:

- a file path is re-read on every fetch (Kubernetes rewrites projected tokens before
  they expire, SPIFFE helpers rewrite theirs);
- a callable is called on every fetch (fetch a new GitHub or AWS token each time:
  those issuers' tokens are single-use at m2m-auth).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

JWT_BEARER = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
JWT_SPIFFE = "urn:ietf:params:oauth:client-assertion-type:jwt-spiffe"
MAX_TOKEN_BYTES = 8192
"""The server refuses longer assertions."""

TokenSource = str | os.PathLike[str] | Callable[[], str]


class FederatedToken:
    """An `AssertionCredentials` source for `TokenClient(credentials=...)`."""

    def __init__(self, source: TokenSource, *, spiffe: bool = False) -> None:
        if not callable(source) and not isinstance(source, str | os.PathLike):
            raise TypeError("source must be a file path or a callable returning the token")
        self._source = source
        self._type = JWT_SPIFFE if spiffe else JWT_BEARER

    @classmethod
    def from_file(cls, path: str | os.PathLike[str], *, spiffe: bool = False) -> FederatedToken:
        return cls(path, spiffe=spiffe)

    @property
    def assertion_type(self) -> str:
        return self._type

    def assertion(self, issuer: str) -> str:
        """The current workload token. ``issuer`` is unused: the platform chose the
        token's audience when it issued it."""
        source = self._source
        raw = source() if callable(source) else Path(source).read_text(encoding="utf-8")
        if not isinstance(raw, str):
            raise TypeError("the token source must return a string")
        token = raw.strip()
        if not token or len(token) > MAX_TOKEN_BYTES or token.count(".") != 2:
            raise ValueError("the workload token is not a compact JWT of at most 8 KiB")
        return token

    def __repr__(self) -> str:
        where = "callable" if callable(self._source) else os.fspath(self._source)
        return f"FederatedToken({where!r}, assertion_type={self._type!r})"


def github_actions_token(audience: str, timeout: float = 10.0) -> Callable[[], str]:
    """A token source for a GitHub Actions job (``permissions: id-token: write``): each
    call asks the runner's OIDC endpoint for a new token for ``audience``."""
    import requests

    def fetch() -> str:
        url = os.environ.get("ACTIONS_ID_TOKEN_REQUEST_URL")
        bearer = os.environ.get("ACTIONS_ID_TOKEN_REQUEST_TOKEN")
        if not url or not bearer:
            raise RuntimeError(
                "not in a GitHub Actions job with permissions: id-token: write"
            )
        response = requests.get(
            url, params={"audience": audience}, timeout=timeout,
            headers={"Authorization": f"Bearer {bearer}", "Accept": "application/json"},
        )
        response.raise_for_status()
        value = response.json().get("value")
        if not isinstance(value, str):
            raise RuntimeError("the GitHub OIDC endpoint returned no token")
        return value

    return fetch
