"""``private_key_jwt`` client authentication (RFC 7523 §2.2 and §3, RFC 7521 §4.2), with
the audience rule of draft-ietf-oauth-rfc7523bis (the 2025 revision after
CVE-2025-27370/27371).

The client signs a short-lived JWT with a private key whose public half an admin
registered for the app (``/admin/apps/{client_id}/keys``). The rules, all checked
against our clock and every one answered with the same ``invalid_client``:

- header: ``alg`` one of :data:`SIGNING_ALGS` and equal to the registered key's ``alg``
  (never ``none`` or HMAC); no ``crit`` (we understand no extension); ``typ`` absent,
  ``JWT`` or ``client-authentication+jwt``; ``kid``, when sent, names a key of the app
  (without it every key of the app with that ``alg`` is tried);
- ``iss`` = ``sub`` = the client_id;
- ``aud`` exactly our issuer identifier: a string, or an array whose only element it
  is (RFC 7519 §4.1.3 lets one audience be a one-element array; anything else in the
  array, the token endpoint URL included, is refused — that extra audience is what
  made the attacks of CVE-2025-27370/27371 possible);
- ``exp`` required, not passed, and at most :data:`MAX_LIFETIME` seconds after ``iat``
  and after now (both with :data:`CLOCK_SKEW` of tolerance for the client's clock);
  ``iat``/``nbf``, when sent, not in the future;
- ``jti`` required and used once: recorded until ``exp`` by a conditional write, after
  every other check passed (so a forged assertion cannot spend a real one's id).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping
from typing import Any

import jwt

from ..errors import InvalidClient
from ..store.records import AppCredentials, ClientKey
from ..store.repository import AppRepository, AssertionReplayRepository
from .assertion import ClientAssertion, issued_by_client, unverified_claims
from .client_secret import CLIENT_ID_SHAPE
from .json_members import jws_repeats_a_member

log = logging.getLogger(__name__)

METHOD = "private_key_jwt"
SIGNING_ALGS = ("RS256", "PS256", "ES256", "EdDSA")
"""Accepted ``alg`` values (RFC 8414 ``token_endpoint_auth_signing_alg_values_supported``)."""
MAX_LIFETIME = 300
"""An assertion may be valid for at most five minutes."""
CLOCK_SKEW = 30
"""Seconds the client's clock may differ from ours."""
MAX_JTI_LENGTH = 256
ACCEPTED_TYPES = frozenset({"jwt", "client-authentication+jwt"})


class _Refused(Exception):
    """One rule failed; the reason goes to our log only, never to the client."""


def _int_claim(claims: Mapping[str, Any], name: str) -> int | None:
    value = claims.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise _Refused(f"{name} is not a number")
    if isinstance(value, float) and not math.isfinite(value):
        raise _Refused(f"{name} is not finite")  # JSON's Infinity, NaN, 1e400
    return int(value)


def _check_header(header: Mapping[str, Any]) -> tuple[str, str | None]:
    alg = header.get("alg")
    if alg not in SIGNING_ALGS:
        raise _Refused("alg not accepted")
    if "crit" in header:
        raise _Refused("crit header")
    typ = header.get("typ")
    if typ is not None:
        if not isinstance(typ, str):
            raise _Refused("typ")
        media = typ.lower().removeprefix("application/")
        if media not in ACCEPTED_TYPES:
            raise _Refused("typ")
    kid = header.get("kid")
    if kid is not None and not isinstance(kid, str):
        raise _Refused("kid")
    return str(alg), kid


def check_audience(aud: Any, issuer: str) -> None:
    """``aud`` is our issuer identifier, alone (string or one-element array)."""
    if aud == issuer or aud == [issuer]:
        return
    raise _Refused("aud")


def check_times(claims: Mapping[str, Any], now: int) -> int:
    """The assertion's ``exp`` once every time rule holds."""
    exp = _int_claim(claims, "exp")
    iat = _int_claim(claims, "iat")
    nbf = _int_claim(claims, "nbf")
    if exp is None:
        raise _Refused("no exp")
    if exp <= now - CLOCK_SKEW:
        raise _Refused("expired")
    if exp - now > MAX_LIFETIME + CLOCK_SKEW:
        raise _Refused("lifetime too long")
    if iat is not None and (iat > now + CLOCK_SKEW or exp - iat > MAX_LIFETIME or iat >= exp):
        raise _Refused("iat")
    if nbf is not None and nbf > now + CLOCK_SKEW:
        raise _Refused("not yet valid")
    return exp


class PrivateKeyJwtMethod:
    """The :class:`~.assertion.AssertionMethod` for ``private_key_jwt``."""

    method = METHOD

    def __init__(self, apps: AppRepository, replay: AssertionReplayRepository) -> None:
        self._apps = apps
        self._replay = replay

    def handles(self, assertion: ClientAssertion) -> bool:
        return issued_by_client(assertion)

    def authenticate(self, assertion: ClientAssertion, issuer: str, now: int) -> AppCredentials:
        client_id = "<unknown>"
        try:
            claims = unverified_claims(assertion.assertion) or {}
            iss = claims.get("iss")
            if not isinstance(iss, str) or not CLIENT_ID_SHAPE.fullmatch(iss):
                raise _Refused("iss is not a client id")
            client_id = iss
            return self._verify(assertion.assertion, client_id, issuer, now)
        except _Refused as refused:
            log.info(
                "client authentication failed method=%s client_id=%s reason=%s",
                METHOD, client_id, refused,
            )
            raise InvalidClient() from None

    def _verify(self, token: str, client_id: str, issuer: str, now: int) -> AppCredentials:
        if jws_repeats_a_member(token):  # PyJWT would read the last duplicate
            raise _Refused("a member name is given twice")
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError:
            raise _Refused("malformed header") from None
        alg, kid = _check_header(header)
        credentials = self._apps.get_credentials(client_id)
        if credentials is None:
            raise _Refused("unknown client")
        keys = [k for k in credentials.keys if kid is None or k.kid == kid]
        if kid is not None and not keys:
            raise _Refused("unknown kid")
        claims = self._verified_claims(token, [k for k in keys if k.alg == alg])
        if claims.get("iss") != client_id or claims.get("sub") != client_id:
            raise _Refused("iss and sub must both be the client id")
        check_audience(claims.get("aud"), issuer)
        exp = check_times(claims, now)
        jti = claims.get("jti")
        if not isinstance(jti, str) or not 0 < len(jti) <= MAX_JTI_LENGTH:
            raise _Refused("jti")
        if not self._replay.use_once(client_id, jti, exp + CLOCK_SKEW):
            raise _Refused("jti replayed")
        return credentials

    @staticmethod
    def _verified_claims(token: str, keys: list[ClientKey]) -> dict[str, Any]:
        """The claims of the first key whose signature verifies (times checked by us)."""
        options: Any = {
            "verify_signature": True, "verify_exp": False, "verify_nbf": False,
            "verify_iat": False, "verify_aud": False, "verify_iss": False,
        }
        for key in keys:
            try:
                public = jwt.PyJWK(dict(key.jwk), algorithm=key.alg).key
                claims = jwt.decode(token, public, algorithms=[key.alg], options=options)
            except jwt.InvalidSignatureError:
                continue
            except (jwt.PyJWTError, ValueError, TypeError):
                raise _Refused("undecodable") from None
            if not isinstance(claims, dict):
                raise _Refused("claims not an object")
            return claims
        raise _Refused("no registered key verifies the signature")
