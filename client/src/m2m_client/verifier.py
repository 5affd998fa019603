"""Access token verification for resource servers (RFC 9068 §4, RFC 8725 §3)."""

from __future__ import annotations

import base64
import json
import re
import time
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from m2m_client.claims import VerifiedToken, validate_claims
from m2m_client.discovery import DiscoveredJwksUri
from m2m_client.dpop import DPOP, DpopProofChecker, DpopRequest
from m2m_client.errors import BearerTokenError, InvalidDpopProof, InvalidToken
from m2m_client.fetch import Fetch, RequestsFetcher, require_secure_url
from m2m_client.introspection import Introspector
from m2m_client.jwks import DEFAULT_CACHE_POLICY, KEY_TYPES, CachePolicy, JwksCache
from m2m_client.mtls import check_certificate_binding
from m2m_client.scopes import ensure_scopes

# RFC 9068 §4: "at+jwt"; media types compare case-insensitively (RFC 2045 §5.1), and
# RFC 7515 §4.1.9 allows the "application/" prefix.
ACCESS_TOKEN_TYPES = frozenset({"at+jwt", "application/at+jwt"})
MAX_TOKEN_LENGTH = 8192

_BASE64URL = re.compile(r"[A-Za-z0-9_-]*")


class Verifier:
    """Verifies RFC 9068 JWT access tokens issued by one issuer for one audience.

    Keys come from the issuer's JWKS (`jwks_url`, or discovered from the RFC 8414
    metadata); the token's own `jku`, `x5u`, `jwk` and `x5c` headers are never used.
    Construction does no I/O. Raises `InvalidToken` (401) or `InsufficientScope` (403),
    or `KeySetError` when no key set can be had at all (a server-side failure).

    A token bound to a DPoP key (`cnf.jkt`, RFC 9449 §6.1) is valid only with the `DPoP`
    scheme and its proof (`dpop=`), which `dpop_proofs` checks (algorithms, window,
    replay cache); presented as `Bearer` it is refused (§7.2). Errors of a DPoP request
    carry a `DPoP` challenge (§7.1).

    A token bound to a TLS client certificate (`cnf.x5t#S256`, RFC 8705 §3) is valid
    only on a request made with that certificate (`client_certificate=`).
    """

    def __init__(
        self,
        issuer: str,
        audience: str,
        jwks_url: str | None = None,
        algorithms: Iterable[str] = ("RS256", "ES256"),
        leeway: float = 30.0,
        *,
        realm: str | None = None,
        metadata_url: str | None = None,
        fetch: Fetch | None = None,
        introspection: Introspector | None = None,
        cache_policy: CachePolicy = DEFAULT_CACHE_POLICY,
        clock: Callable[[], float] = time.time,
        dpop_proofs: DpopProofChecker | None = None,
    ) -> None:
        if not issuer or not audience:
            raise ValueError("issuer and audience must not be empty")
        allowed = tuple(algorithms)
        unsupported = [alg for alg in allowed if alg not in KEY_TYPES]
        if not allowed or unsupported:
            raise ValueError(
                f"algorithms must be asymmetric JWS algorithms from {sorted(KEY_TYPES)}"
            )
        if leeway < 0:
            raise ValueError("leeway must not be negative")
        self.issuer = issuer
        self.audience = audience
        self.realm = realm if realm is not None else audience
        self._algorithms = frozenset(allowed)
        self._leeway = leeway
        self._clock = clock
        self._introspection = introspection
        self.dpop_proofs = dpop_proofs if dpop_proofs is not None else DpopProofChecker(clock=clock)
        fetcher: Fetch = fetch if fetch is not None else RequestsFetcher()
        locate: Callable[[], str]
        if jwks_url is not None:
            fixed = require_secure_url(jwks_url)

            def locate() -> str:
                return fixed
        else:
            locate = DiscoveredJwksUri(issuer, fetcher, metadata_url)
        self._keys = JwksCache(locate, fetcher, self._algorithms, clock=clock, policy=cache_policy)

    def __repr__(self) -> str:
        return f"Verifier(issuer={self.issuer!r}, audience={self.audience!r})"

    def verify(
        self,
        token: str,
        required_scopes: str | Iterable[str] = (),
        *,
        scheme: str = "Bearer",
        dpop: DpopRequest | None = None,
        defer_proof: bool = False,
        client_certificate: str | bytes | None = None,
        defer_certificate: bool = False,
    ) -> VerifiedToken:
        """Verify `token`, presented with `scheme` (`Bearer` or `DPoP`), and that it
        carries every scope in `required_scopes`.

        With the `DPoP` scheme, `dpop` is the request its proof must match.
        `defer_proof=True` is for API Gateway TOKEN authorizers, which never see the
        `DPoP` header: the token is verified and must be DPoP-bound, and the caller
        checks the proof on every request (`chalice_auth.require_scopes` does).

        `client_certificate` is the TLS client certificate of the request (PEM or DER;
        behind API Gateway `m2m_client.mtls.api_gateway_certificate(event)`): a
        certificate-bound token (`cnf.x5t#S256`, RFC 8705 §3) is valid only with it.
        `defer_certificate=True` is for TOKEN authorizers too, which never see the
        certificate: the caller checks it on every request
        (`m2m_client.mtls.check_certificate_binding`; `chalice_auth.require_scopes`).
        A token bound both ways needs both its proof and its certificate.
        """
        dpop_scheme = scheme.lower() == "dpop"
        try:
            verified = self._verify(token)
            self._check_binding(verified, token, dpop_scheme, dpop, defer_proof)
            if not defer_certificate:
                check_certificate_binding(verified.claims, client_certificate)
            if self._introspection is not None and not self._introspection.is_active(
                token, verified.expires_at
            ):
                raise InvalidToken("the token is not active")
            ensure_scopes(verified.scopes, required_scopes)
        except BearerTokenError as exc:
            if exc.realm is None:
                exc.realm = self.realm
            if dpop_scheme or exc.scheme == DPOP:
                exc.scheme, exc.algs = DPOP, self.dpop_proofs.algorithms
            raise
        return verified

    def _check_binding(
        self,
        verified: VerifiedToken,
        token: str,
        dpop_scheme: bool,
        dpop: DpopRequest | None,
        defer_proof: bool,
    ) -> None:
        """RFC 9449 §7: a DPoP-bound token with its proof, and only with it."""
        cnf = verified.claims.get("cnf")
        jkt = cnf.get("jkt") if isinstance(cnf, Mapping) else None
        if not dpop_scheme:
            if jkt is not None:  # §7.2: never accepted as a bearer token
                raise InvalidToken("the token is DPoP-bound: use the DPoP scheme",
                                   scheme=DPOP)
            return
        if not isinstance(jkt, str) or not jkt:
            raise InvalidToken("the token is not DPoP-bound")
        if defer_proof:
            return
        if dpop is None:
            raise InvalidDpopProof("the request has no DPoP proof")
        self.dpop_proofs.check(dpop, token, jkt)

    def _verify(self, token: str) -> VerifiedToken:
        if not isinstance(token, str) or not token:
            raise InvalidToken("the token is missing")
        if len(token) > MAX_TOKEN_LENGTH:
            raise InvalidToken("the token is too large")
        if token.count(".") != 2:  # JWS compact serialization; a JWE has five parts
            raise InvalidToken("the token is not a signed JWT")
        header_segment, payload_segment, signature_segment = token.split(".")
        alg, kid = self._check_header(_json_object(_base64url(header_segment)))
        key = self._keys.get(kid)
        if key is None:
            raise InvalidToken("the token was signed by an unknown key")
        if key.algorithm_name != alg:  # RFC 8725 §3.1: the key fixes the algorithm
            raise InvalidToken("the token's algorithm does not match its key")
        signature = _base64url(signature_segment)
        payload_bytes = _base64url(payload_segment)
        # RFC 7515 §5.2 step 8: the signature covers the segments exactly as received.
        signing_input = f"{header_segment}.{payload_segment}".encode("ascii")
        if not key.Algorithm.verify(signing_input, key.key, signature):
            raise InvalidToken("the token's signature is invalid")
        payload = _json_object(payload_bytes)
        return validate_claims(
            payload,
            issuer=self.issuer,
            audience=self.audience,
            now=self._clock(),
            leeway=self._leeway,
        )

    def _check_header(self, header: Mapping[str, Any]) -> tuple[str, str]:
        """RFC 9068 §4 steps 1-2 and RFC 8725 §3.1: the header before any key is looked up."""
        typ = header.get("typ")
        if not isinstance(typ, str) or typ.lower() not in ACCESS_TOKEN_TYPES:
            raise InvalidToken("the token is not a JWT access token (typ)")
        if "crit" in header:  # RFC 7515 §4.1.11: no extension is understood here
            raise InvalidToken("the token uses critical header extensions")
        if "b64" in header:  # RFC 7797: an unencoded payload; only meaningful with crit
            raise InvalidToken("the token's payload encoding is not supported (b64)")
        alg = header.get("alg")
        if not isinstance(alg, str) or alg not in self._algorithms:
            raise InvalidToken("the token's algorithm is not allowed")
        kid = header.get("kid")
        if not isinstance(kid, str) or not kid:
            raise InvalidToken("the token names no key (kid)")
        return alg, kid


def _base64url(segment: str) -> bytes:
    """RFC 7515 §2: base64url without padding, in its one canonical spelling only.

    JWS segments are parsed here, once, rather than by `jwt.decode`, which checks every
    character in Python and then parses the header a second time: together that was most
    of a verification's cost besides the signature itself (client/bench/verify_bench.py).
    """
    if len(segment) % 4 == 1 or not _BASE64URL.fullmatch(segment):
        raise InvalidToken("the token is malformed")
    encoded = segment.encode("ascii")
    decoded = base64.urlsafe_b64decode(encoded + b"=" * (-len(segment) % 4))
    if base64.urlsafe_b64encode(decoded).rstrip(b"=") != encoded:  # stray low bits
        raise InvalidToken("the token is malformed")
    return decoded


def _json_object(data: bytes) -> dict[str, Any]:
    """A JOSE header or JWT claims set: a JSON object (RFC 7515 §4, RFC 7519 §7.2)."""
    try:
        value = json.loads(data)
    except (ValueError, RecursionError):
        raise InvalidToken("the token is malformed") from None
    if not isinstance(value, dict):
        raise InvalidToken("the token is malformed")
    return value
