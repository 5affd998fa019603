"""Checking a DPoP proof at a resource server (RFC 9449 §4.3, §7): the proof that comes
with a DPoP-bound access token (``Authorization: DPoP <token>``).

:class:`DpopProofChecker` holds every rule; the :class:`~m2m_client.verifier.Verifier`
calls it once the token itself is valid and carries ``cnf.jkt``. The rules, each
refused with ``invalid_dpop_proof`` (401, a ``WWW-Authenticate: DPoP`` challenge):

- exactly one ``DPoP`` header field holding one compact JWS;
- header: ``typ`` ``dpop+jwt``; ``alg`` one of the allowed asymmetric algorithms
  (never ``none`` or an HMAC); no ``crit``; ``jwk`` a public key fitting ``alg`` (RSA
  of at least 2048 bits, EC P-256/P-384, Ed25519), without private members; the
  signature verifies with it;
- claims: ``jti``; ``htm`` the request method; ``htu`` the request URL (without query
  and fragment; scheme and host compared case-insensitively, default ports elided);
  ``iat`` within ``window`` seconds of now; ``ath`` the base64url SHA-256 of the access
  token (§4.2);
- the ``jwk``'s RFC 7638 thumbprint is the token's ``cnf.jkt`` (§6.1);
- the ``jti`` was not seen in the window (:class:`ReplayCache`; the default keeps ids in
  this process's memory, bounded: behind several processes or Lambda containers a
  replay to another one is caught only by a shared cache, which the protocol lets
  you plug in).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import logging
import math
import re
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, Protocol
from urllib.parse import urlsplit

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa

from m2m_client.errors import InvalidDpopProof

logger = logging.getLogger(__name__)

DPOP = "DPoP"
DPOP_TYPE = "dpop+jwt"
# RFC 9449 §4.2 requires an asymmetric algorithm; the key each needs (RFC 7518 §3.1,
# RFC 8037 §3.1).
KEY_TYPES: Mapping[str, tuple[str, str | None]] = MappingProxyType(
    {
        "ES256": ("EC", "P-256"),
        "ES384": ("EC", "P-384"),
        "RS256": ("RSA", None),
        "PS256": ("RSA", None),
        "EdDSA": ("OKP", "Ed25519"),
    }
)
DEFAULT_ALGORITHMS = tuple(KEY_TYPES)
PRIVATE_MEMBERS = frozenset({"d", "p", "q", "dp", "dq", "qi", "oth", "k"})
MIN_RSA_BITS = 2048
MAX_PROOF_LENGTH = 8192
MAX_JTI_LENGTH = 256
DEFAULT_WINDOW = 60.0
DEFAULT_REPLAY_ENTRIES = 100_000
_THUMBPRINT_MEMBERS = {"RSA": ("e", "kty", "n"), "EC": ("crv", "kty", "x", "y"),
                       "OKP": ("crv", "kty", "x")}
_DEFAULT_PORTS = {"https": 443, "http": 80}
_SEGMENT = re.compile(r"[A-Za-z0-9_-]+")


@dataclass(frozen=True)
class DpopRequest:
    """What the resource server saw of the request a proof must match."""

    method: str
    """The HTTP method, as sent (``GET``)."""
    url: str
    """The URL the client called: scheme, host, port and path (RFC 9449 §4.3 item 9)."""
    proofs: tuple[str, ...]
    """Every value of every ``DPoP`` header field of the request."""


class ReplayCache(Protocol):
    """Remembers proof ids for the replay check (RFC 9449 §11.1)."""

    def use_once(self, key: str, expires_at: float, now: float) -> bool:
        """Record ``key`` until ``expires_at``; ``False`` if it is recorded already (a
        replay), or if it cannot be recorded (refuse rather than risk a replay)."""
        ...


class MemoryReplayCache:
    """A :class:`ReplayCache` in this process's memory, thread-safe and bounded: expired
    ids are dropped first; when ``max_entries`` unexpired ids are held, new proofs are
    refused (fail closed) until some expire. 100,000 ids in a 60 s window is more than
    1,600 DPoP requests a second."""

    def __init__(self, max_entries: int = DEFAULT_REPLAY_ENTRIES) -> None:
        if max_entries < 1:
            raise ValueError("max_entries must be positive")
        self._max = max_entries
        self._entries: OrderedDict[str, float] = OrderedDict()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._entries)

    def use_once(self, key: str, expires_at: float, now: float) -> bool:
        with self._lock:
            self._expire(now)
            if key in self._entries:
                return False
            if len(self._entries) >= self._max:
                logger.warning("DPoP replay cache full: proof refused (max_entries=%d)",
                               self._max)
                return False
            self._entries[key] = expires_at
            return True

    def _expire(self, now: float) -> None:
        # Ids arrive in about the order they expire (iat + window); a late one is
        # dropped when it reaches the front.
        while self._entries:
            key, expires_at = next(iter(self._entries.items()))
            if expires_at > now:
                return
            del self._entries[key]


def access_token_hash(token: str) -> str:
    """``ath``: base64url of the SHA-256 of the ASCII access token (RFC 9449 §4.2)."""
    digest = hashlib.sha256(token.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def jwk_thumbprint(jwk: Mapping[str, Any]) -> str:
    """RFC 7638 §3 SHA-256 thumbprint (RSA, EC, and OKP per RFC 8037 §2)."""
    members = _THUMBPRINT_MEMBERS.get(str(jwk.get("kty")))
    if members is None or not all(isinstance(jwk.get(m), str) for m in members):
        raise ValueError("not a JWK with thumbprint members")
    canonical = json.dumps({m: jwk[m] for m in members}, separators=(",", ":"), sort_keys=True)
    digest = hashlib.sha256(canonical.encode("utf-8")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def normalized_uri(uri: str) -> str | None:
    """``uri`` as RFC 9449 §4.3 compares it: no query or fragment, scheme and host in
    lower case, no default port, an empty path as ``/``; ``None`` if it is not an
    absolute http(s) URI with a host and no user info."""
    try:
        parts = urlsplit(uri)
        port = parts.port
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    host = parts.hostname
    if scheme not in _DEFAULT_PORTS or not host or parts.username is not None:
        return None
    host = f"[{host}]" if ":" in host else host
    netloc = host if port in (None, _DEFAULT_PORTS[scheme]) else f"{host}:{port}"
    return f"{scheme}://{netloc}{parts.path or '/'}"


def request_url(context: Mapping[str, Any], public_origin: str | None = None) -> str | None:
    """The URL a client called, from an API Gateway (REST API) request context:
    ``public_origin`` (``https://orders.example.com``, which you set when the API sits
    behind a proxy or runs locally) or ``https://{domainName}``, then the context's
    ``path`` (which holds the stage or the custom domain's base path). ``None`` when
    neither an origin nor a ``domainName`` is known: the URL is never rebuilt from a
    ``Host`` header the client chose."""
    path = context.get("path")
    if not isinstance(path, str) or not path.startswith("/"):
        return None
    if public_origin:
        return public_origin.rstrip("/") + path
    domain = context.get("domainName")
    if not isinstance(domain, str) or not domain:
        return None
    return f"https://{domain}{path}"


def _json_segment(segment: str) -> dict[str, Any]:
    if not _SEGMENT.fullmatch(segment) or len(segment) % 4 == 1:
        raise InvalidDpopProof("the DPoP proof is malformed")
    try:
        value = json.loads(base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4)))
    except (binascii.Error, ValueError, RecursionError):
        raise InvalidDpopProof("the DPoP proof is malformed") from None
    if not isinstance(value, dict):
        raise InvalidDpopProof("the DPoP proof is malformed")
    return value


class DpopProofChecker:
    """The RFC 9449 §4.3 checks of a resource server; thread-safe."""

    def __init__(
        self,
        *,
        algorithms: Iterable[str] = DEFAULT_ALGORITHMS,
        window: float = DEFAULT_WINDOW,
        replay: ReplayCache | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        allowed = tuple(algorithms)
        if not allowed or any(alg not in KEY_TYPES for alg in allowed):
            raise ValueError(f"DPoP algorithms must be from {sorted(KEY_TYPES)}")
        if not 0 < window <= 600:
            raise ValueError("the DPoP window must be between 0 and 600 seconds")
        self.algorithms = allowed
        self._window = window
        self._replay = replay if replay is not None else MemoryReplayCache()
        self._clock = clock

    def check(self, request: DpopRequest, access_token: str, jkt: str) -> None:
        """Raise :class:`InvalidDpopProof` unless the request's proof is valid for this
        request, this access token and the key ``jkt`` it is bound to."""
        proof = self._single(request.proofs)
        header_segment, payload_segment, signature_segment = proof.split(".")
        header = _json_segment(header_segment)
        alg, key, jwk = self._key(header)
        try:
            signature = base64.urlsafe_b64decode(signature_segment + "=" * (-len(
                signature_segment) % 4))
        except (binascii.Error, ValueError):
            raise InvalidDpopProof("the DPoP proof is malformed") from None
        signing_input = f"{header_segment}.{payload_segment}".encode("ascii")
        if not key.Algorithm.verify(signing_input, key.key, signature):
            raise InvalidDpopProof("the DPoP proof's signature is invalid")
        claims = _json_segment(payload_segment)
        now = self._clock()
        jti = self._claims(claims, request, access_token, now)
        try:
            thumbprint = jwk_thumbprint(jwk)
        except ValueError:
            raise InvalidDpopProof("the DPoP proof's key is invalid") from None
        if thumbprint != jkt:
            raise InvalidDpopProof("the DPoP proof is signed by another key than the token's")
        if not self._replay.use_once(f"{jkt}:{jti}", float(claims["iat"]) + self._window, now):
            raise InvalidDpopProof("the DPoP proof was used before")

    @staticmethod
    def _single(proofs: Sequence[str]) -> str:
        if not proofs:
            raise InvalidDpopProof("the request has no DPoP proof")
        if len(proofs) != 1 or "," in proofs[0]:
            raise InvalidDpopProof("the request must carry exactly one DPoP proof")
        proof = proofs[0].strip()
        if len(proof) > MAX_PROOF_LENGTH or proof.count(".") != 2 or not proof.isascii():
            raise InvalidDpopProof("the DPoP proof is not a compact JWS")
        return proof

    def _key(self, header: Mapping[str, Any]) -> tuple[str, Any, Mapping[str, Any]]:
        typ = header.get("typ")
        if not isinstance(typ, str) or typ.lower() != DPOP_TYPE:
            raise InvalidDpopProof("the DPoP proof's typ is not dpop+jwt")
        alg = header.get("alg")
        if not isinstance(alg, str) or alg not in self.algorithms:
            raise InvalidDpopProof("the DPoP proof's algorithm is not allowed")
        if "crit" in header:
            raise InvalidDpopProof("the DPoP proof uses critical header extensions")
        jwk = header.get("jwk")
        if not isinstance(jwk, dict):
            raise InvalidDpopProof("the DPoP proof has no jwk")
        if PRIVATE_MEMBERS & set(jwk):
            raise InvalidDpopProof("the DPoP proof's jwk holds a private key")
        kty, crv = KEY_TYPES[alg]
        if jwk.get("kty") != kty or (crv is not None and jwk.get("crv") != crv):
            raise InvalidDpopProof("the DPoP proof's jwk does not fit its algorithm")
        try:
            key = jwt.PyJWK(jwk, algorithm=alg)
        except (jwt.PyJWTError, ValueError, TypeError, KeyError):
            raise InvalidDpopProof("the DPoP proof's jwk is invalid") from None
        if isinstance(key.key, rsa.RSAPublicKey) and key.key.key_size < MIN_RSA_BITS:
            raise InvalidDpopProof("the DPoP proof's RSA key is too short")
        return alg, key, jwk

    def _claims(
        self, claims: Mapping[str, Any], request: DpopRequest, access_token: str, now: float
    ) -> str:
        """The proof's ``jti`` once its claims fit the request and the token."""
        jti = claims.get("jti")
        if not isinstance(jti, str) or not 0 < len(jti) <= MAX_JTI_LENGTH:
            raise InvalidDpopProof("the DPoP proof has no valid jti")
        if claims.get("htm") != request.method:
            raise InvalidDpopProof("the DPoP proof is for another HTTP method (htm)")
        htu = claims.get("htu")
        expected = normalized_uri(request.url)
        if expected is None or not isinstance(htu, str) or normalized_uri(htu) != expected:
            raise InvalidDpopProof("the DPoP proof is for another URL (htu)")
        iat = claims.get("iat")
        if isinstance(iat, bool) or not isinstance(iat, int | float) or not math.isfinite(iat):
            raise InvalidDpopProof("the DPoP proof has no valid iat")
        if not now - self._window <= iat <= now + self._window:
            raise InvalidDpopProof("the DPoP proof is too old or from the future (iat)")
        ath = claims.get("ath")
        if ath is None:
            raise InvalidDpopProof("the DPoP proof does not hash the access token (ath)")
        if ath != access_token_hash(access_token):
            raise InvalidDpopProof("the DPoP proof is for another access token (ath)")
        return jti
