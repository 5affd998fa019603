"""Test doubles for the client library: keys that sign, a fake clock, fake HTTP."""

from __future__ import annotations

import base64
import datetime
import hashlib
import hmac
import json
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import jwt
import requests
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from jwt.algorithms import ECAlgorithm, RSAAlgorithm
from requests.adapters import BaseAdapter
from requests.structures import CaseInsensitiveDict

from m2m_client.fetch import FetchError, HttpResponse

ISSUER = "https://auth.example.com"
AUDIENCE = "https://api.example.com/orders"
JWKS_URL = f"{ISSUER}/.well-known/jwks.json"
METADATA_URL = f"{ISSUER}/.well-known/oauth-authorization-server"
NOW = 1_700_000_000.0

DROP = object()  # a claim or header value meaning "leave this one out"


class FakeClock:
    """An injectable clock that only moves when told to."""

    def __init__(self, now: float = NOW) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


class RecordingSleep:
    """An injectable sleep that records the delays instead of waiting."""

    def __init__(self, clock: FakeClock | None = None) -> None:
        self.delays: list[float] = []
        self._clock = clock

    def __call__(self, seconds: float) -> None:
        self.delays.append(seconds)
        if self._clock is not None:
            self._clock.advance(seconds)


# --- keys and tokens -----------------------------------------------------------------------


def self_signed_certificate(name: str = "orders-worker") -> tuple[str, dict[str, Any]]:
    """A self-signed client certificate valid for a day (PEM) and its public JWK, which
    carries the certificate in ``x5c`` (RFC 7517 §4.7)."""
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(x509.oid.NameOID.COMMON_NAME, name)])
    now = datetime.datetime.now(datetime.UTC)
    built = (x509.CertificateBuilder().subject_name(subject).issuer_name(subject)
             .public_key(key.public_key()).serial_number(x509.random_serial_number())
             .not_valid_before(now).not_valid_after(now + datetime.timedelta(days=1))
             .sign(key, hashes.SHA256()))
    jwk = json.loads(ECAlgorithm.to_jwk(key.public_key()))
    jwk["x5c"] = [base64.b64encode(built.public_bytes(serialization.Encoding.DER)).decode()]
    return built.public_bytes(serialization.Encoding.PEM).decode(), jwk


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def thumbprint(jwk: dict[str, Any]) -> str:
    """RFC 7638 JWK thumbprint: SHA-256 of the required members, sorted, no whitespace."""
    members = ("e", "kty", "n") if jwk["kty"] == "RSA" else ("crv", "kty", "x", "y")
    canonical = json.dumps({k: jwk[k] for k in members}, separators=(",", ":"), sort_keys=True)
    return b64url(hashlib.sha256(canonical.encode()).digest())


@dataclass
class SigningKey:
    """A private key that signs access tokens the way the m2m-auth server does."""

    private_key: Any
    alg: str
    kid: str = ""

    def __post_init__(self) -> None:
        if not self.kid:
            self.kid = thumbprint(self.public_jwk(with_metadata=False))

    @classmethod
    def rsa(cls, alg: str = "RS256", bits: int = 2048) -> SigningKey:
        return cls(rsa.generate_private_key(public_exponent=65537, key_size=bits), alg)

    @classmethod
    def ec(cls) -> SigningKey:
        return cls(ec.generate_private_key(ec.SECP256R1()), "ES256")

    def public_jwk(self, *, with_metadata: bool = True) -> dict[str, Any]:
        public = self.private_key.public_key()
        algorithm = RSAAlgorithm if isinstance(public, rsa.RSAPublicKey) else ECAlgorithm
        jwk: dict[str, Any] = algorithm.to_jwk(public, as_dict=True)
        if with_metadata:
            jwk.update({"kid": self.kid, "use": "sig", "alg": self.alg})
        return jwk

    def public_pem(self) -> bytes:
        from cryptography.hazmat.primitives import serialization

        return self.private_key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )

    def sign(self, payload: dict[str, Any], **header: Any) -> str:
        """Sign with typ at+jwt and our kid unless `header` overrides (DROP removes).

        Assembled by hand rather than with `jwt.encode`, which refuses some of the
        malformed claims the tests need and adds `typ: JWT` when none is given.
        """
        headers: dict[str, Any] = {"alg": self.alg, "typ": "at+jwt", "kid": self.kid}
        headers.update(header)
        headers = {k: v for k, v in headers.items() if v is not DROP}
        return forge(headers, payload, key=self, alg=headers.get("alg", self.alg))


def claims(now: float = NOW, **overrides: Any) -> dict[str, Any]:
    """A valid claim set as the server issues it; an override of DROP removes a claim."""
    body: dict[str, Any] = {
        "iss": ISSUER,
        "sub": "svc-billing",
        "aud": AUDIENCE,
        "client_id": "svc-billing",
        "iat": int(now),
        "exp": int(now) + 300,
        "jti": str(uuid.uuid4()),
        "scope": "orders:read orders:write",
        "scp": ["orders:read", "orders:write"],
        "gty": "client_credentials",
    }
    body.update(overrides)
    return {k: v for k, v in body.items() if v is not DROP}


def forge(
    header: dict[str, Any],
    payload: dict[str, Any],
    *,
    key: SigningKey | None = None,
    hmac_secret: bytes | None = None,
    alg: str = "none",
) -> str:
    """Assemble a compact JWS by hand, the way an attacker would."""
    signing_input = (
        b64url(json.dumps(header, separators=(",", ":")).encode())
        + "."
        + b64url(json.dumps(payload, separators=(",", ":")).encode())
    )
    if hmac_secret is not None:
        signature = hmac.new(hmac_secret, signing_input.encode(), hashlib.sha256).digest()
    elif key is not None:
        algorithm = jwt.get_algorithm_by_name(alg)
        signature = algorithm.sign(signing_input.encode(), key.private_key)
    else:
        signature = b""
    return signing_input + "." + b64url(signature)


# --- a fake JWKS / metadata server -----------------------------------------------------------


def jwks_response(
    *keys: SigningKey | dict[str, Any], cache_control: str | None = "public, max-age=600"
) -> HttpResponse:
    documents = [k.public_jwk() if isinstance(k, SigningKey) else k for k in keys]
    headers = {"content-type": "application/json"}
    if cache_control is not None:
        headers["cache-control"] = cache_control
    return HttpResponse(200, headers, json.dumps({"keys": documents}).encode())


def json_response(document: Any, status: int = 200) -> HttpResponse:
    return HttpResponse(status, {"content-type": "application/json"}, json.dumps(document).encode())


@dataclass
class FakeFetcher:
    """Serves canned documents by URL and records every URL asked for."""

    routes: dict[str, HttpResponse | Exception] = field(default_factory=dict)
    calls: list[str] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __call__(self, url: str) -> HttpResponse:
        with self._lock:
            self.calls.append(url)
        reply = self.routes.get(url, HttpResponse(404, {}, b"{}"))
        if isinstance(reply, Exception):
            raise reply
        return reply

    def count(self, url: str) -> int:
        return self.calls.count(url)

    def go_down(self, url: str) -> None:
        self.routes[url] = FetchError(f"GET {url} failed: ConnectionError")


# --- a fake HTTP transport for requests ------------------------------------------------------


@dataclass
class Reply:
    """A canned HTTP response."""

    status: int = 200
    json_body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    raw: bytes | None = None

    def build(self, request: requests.PreparedRequest) -> requests.Response:
        response = requests.Response()
        response.status_code = response_status = self.status
        response.reason = str(response_status)
        headers = dict(self.headers)
        if self.raw is not None:
            body = self.raw
        else:
            body = json.dumps(self.json_body).encode()
            headers.setdefault("Content-Type", "application/json")
        response._content = body
        response.headers = CaseInsensitiveDict(headers)
        response.request = request
        response.url = request.url or ""
        response.encoding = "utf-8"
        return response


def token_reply(value: str = "tok-1", expires_in: int = 3600, **extra: Any) -> Reply:
    body = {"access_token": value, "token_type": "Bearer", "expires_in": expires_in}
    body.update(extra)
    return Reply(200, body)


class ScriptedAdapter(BaseAdapter):
    """A requests transport that answers from a script and records what was sent.

    Replies are used in order; the last one repeats. A reply may be an exception to raise.
    `hold` keeps each request in flight that many seconds, to let concurrent callers pile up.
    """

    def __init__(self, *replies: Reply | Exception | Callable[[], Reply], hold: float = 0.0):
        super().__init__()
        self.replies = list(replies)
        self.sent: list[requests.PreparedRequest] = []
        self.hold = hold
        self._lock = threading.Lock()

    def send(self, request: requests.PreparedRequest, *args: Any, **kwargs: Any) -> Any:
        with self._lock:
            self.sent.append(request)
            reply = self.replies.pop(0) if len(self.replies) > 1 else self.replies[0]
        if self.hold:
            time.sleep(self.hold)
        if isinstance(reply, Exception):
            raise reply
        if callable(reply) and not isinstance(reply, Reply):
            reply = reply()
        return reply.build(request)

    def close(self) -> None:
        pass

    def sent_to(self, url: str) -> list[requests.PreparedRequest]:
        return [r for r in self.sent if r.url == url]


def session_with(adapter: ScriptedAdapter) -> requests.Session:
    session = requests.Session()
    session.trust_env = False
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    return session
