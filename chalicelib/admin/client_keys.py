"""Admin use cases for an app's public keys (private_key_jwt, RFC 7523 §2.2): add, list,
remove; at most five per app, so keys can be rotated with overlap. No HTTP here.

The JWK is validated here and only here: a public key (RFC 7517 §4, RFC 7518 §6) of
RSA (2048 bits or more, no factor anyone can find; ``alg`` RS256 or PS256, which the
JWK must name), EC P-256 (ES256) or OKP Ed25519 (EdDSA, not a point of small order),
with a ``kid``. A JWK holding any private member is refused and never stored or echoed;
only the public members are kept.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, rsa

from ..errors import Conflict, NotFound
from ..oauth.client_secret import CLIENT_ID_SHAPE
from ..oauth.private_key_jwt import SIGNING_ALGS
from ..store.records import ClientKey
from . import validation as v
from .audit import SYSTEM, Actor, log_record, new_record
from .usecase import UseCases, check_if_match, stored

MAX_CLIENT_KEYS = 5
MIN_RSA_BITS = 2048
KID_SHAPE = re.compile(r"[A-Za-z0-9._~-]{1,128}")
"""URL-safe (the kid is a path segment of DELETE) and short."""
PRIVATE_MEMBERS = frozenset({"d", "p", "q", "dp", "dq", "qi", "oth", "k"})
PUBLIC_MEMBERS = {"RSA": ("n", "e"), "EC": ("crv", "x", "y"), "OKP": ("crv", "x")}
DEFAULT_ALG = {"EC": "ES256", "OKP": "EdDSA"}
CURVES = {"ES256": ("EC", "P-256"), "EdDSA": ("OKP", "Ed25519")}
ED25519_SMALL_ORDER = frozenset(bytes.fromhex(h) for h in (
    "0000000000000000000000000000000000000000000000000000000000000000",
    "0100000000000000000000000000000000000000000000000000000000000000",
    "26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05",
    "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a",
    "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
    "edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
    "eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
))
"""Ed25519 encodings of small-order points (libsodium's list; the sign bit is ignored).
With one as the public key, OpenSSL's cofactorless check accepts ``R`` = the point and
``s`` = 0 as a signature of any message: anyone could sign the app's assertions."""


_SMALL_PRIMES = tuple(p for p in range(2, 1000) if all(p % d for d in range(2, p)))
_WITNESSES = _SMALL_PRIMES[:16]


def _probably_prime(n: int) -> bool:
    """Miller-Rabin with the first 16 primes as witnesses (for n past the trial range)."""
    d, s = n - 1, 0
    while d % 2 == 0:
        d, s = d // 2, s + 1
    for a in _WITNESSES:
        x = pow(a, d, n)
        if x in (1, n - 1):
            continue
        for _ in range(s - 1):
            x = pow(x, 2, n)
            if x == n - 1:
                break
        else:
            return False
    return True


def _factorable_modulus(n: int) -> bool:
    """An RSA modulus whose factors anyone can find: prime, or a small prime times a
    prime (the private exponent then follows from ``n`` alone). A real modulus is the
    product of two large primes and has no factor below 1000."""
    for p in _SMALL_PRIMES:
        if n % p == 0:
            return True
    return _probably_prime(n)


def _small_order(key: ed25519.Ed25519PublicKey) -> bool:
    raw = key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return raw[:31] + bytes([raw[31] & 0x7F]) in ED25519_SMALL_ORDER


def public_jwk(errors: v.Errors, field: str, value: Any) -> tuple[str, str, dict[str, Any]]:
    """(kid, alg, the JWK's public members) of an admin-supplied JWK."""
    if not isinstance(value, Mapping):
        errors.add(field, "must be a JWK object")
        return "", "", {}
    private = sorted(PRIVATE_MEMBERS & set(value))
    if private:
        errors.add(field, "must be a public key: remove the private members "
                   + ", ".join(private))
        return "", "", {}
    kty = value.get("kty")
    if not isinstance(kty, str) or kty not in PUBLIC_MEMBERS:  # a dict or list: unhashable
        errors.add(f"{field}.kty", "must be RSA, EC or OKP")
        return "", "", {}
    kid = value.get("kid")
    if not isinstance(kid, str) or not KID_SHAPE.fullmatch(kid):
        errors.add(f"{field}.kid", "is required: 1 to 128 characters of A-Z a-z 0-9 . _ ~ -")
    alg = value.get("alg", DEFAULT_ALG.get(str(kty)))
    if not isinstance(alg, str) or alg not in SIGNING_ALGS:
        errors.add(f"{field}.alg", "must be one of " + ", ".join(SIGNING_ALGS)
                   + (" (required for RSA keys)" if kty == "RSA" else ""))
        return "", "", {}
    expected_kty, expected_crv = CURVES.get(str(alg), ("RSA", None))
    # an RSA key has no crv member at all (not even null)
    if kty != expected_kty or ("crv" in value) != (expected_crv is not None) or (
        value.get("crv") != expected_crv
    ):
        errors.add(f"{field}.alg", f"{alg} needs a {expected_kty} key"
                   + (f" on {expected_crv}" if expected_crv else ""))
        return "", "", {}
    if value.get("use", "sig") != "sig":
        errors.add(f"{field}.use", "must be sig")
    ops = value.get("key_ops", ["verify"])
    if not isinstance(ops, list) or "verify" not in ops:
        errors.add(f"{field}.key_ops", "must include verify")
    kept = {name: value.get(name) for name in ("kty", *PUBLIC_MEMBERS[str(kty)])}
    if not all(isinstance(member, str) and member for member in kept.values()):
        errors.add(field, "has missing or non-string key members")
        return "", "", {}
    try:
        key = jwt.PyJWK({**kept, "alg": alg}, algorithm=str(alg)).key
    except (jwt.PyJWTError, ValueError, TypeError):
        errors.add(field, "is not a valid public key")
        return "", "", {}
    if isinstance(key, rsa.RSAPublicKey) and key.key_size < MIN_RSA_BITS:
        errors.add(field, f"RSA keys must have at least {MIN_RSA_BITS} bits")
    elif isinstance(key, rsa.RSAPublicKey) and _factorable_modulus(key.public_numbers().n):
        errors.add(field, "is not an RSA modulus of two large primes: anyone could sign")
    if isinstance(key, ed25519.Ed25519PublicKey) and _small_order(key):
        errors.add(field, "is an Ed25519 point of small order, for which anyone can sign")
    return str(kid), str(alg), {**kept, "kid": kid, "alg": alg, "use": "sig"}


class ClientKeyAdmin(UseCases):
    def add_client_key(
        self, client_id: str, jwk_value: Any, actor: Actor = SYSTEM
    ) -> ClientKey:
        errors = v.Errors()
        kid, alg, jwk_members = public_jwk(errors, "jwk", jwk_value)
        errors.raise_if_any()
        credentials = self.get_app(client_id)
        if any(k.kid == kid for k in credentials.keys):
            raise Conflict(f"The app already has a key with kid {kid!r}.")
        if len(credentials.keys) >= MAX_CLIENT_KEYS:
            raise Conflict(
                f"The app already has {MAX_CLIENT_KEYS} keys; remove one first."
            )
        key = ClientKey(kid=kid, alg=alg, jwk=jwk_members, created_at=self._now())
        audit = new_record(actor, "client_key.add", f"app/{client_id}/keys/{kid}",
                           {"kid": kid, "alg": alg, "kty": jwk_members["kty"]}, self._now())
        with stored(f"No app with client_id {client_id[:64]!r}."):
            # bumping the app's version serialises concurrent additions (at most 5)
            self._store.add_client_key(client_id, key, credentials.app.version, audit)
        log_record(audit)
        return key

    def list_client_keys(self, client_id: str) -> tuple[ClientKey, ...]:
        return tuple(sorted(self.get_app(client_id).keys, key=lambda k: (k.created_at, k.kid)))

    def remove_client_key(
        self, client_id: str, kid: str, if_match: int | None = None, actor: Actor = SYSTEM
    ) -> None:
        missing = f"App {client_id[:64]!r} has no key {kid[:64]!r}."
        if not (CLIENT_ID_SHAPE.fullmatch(client_id) and KID_SHAPE.fullmatch(kid)):
            raise NotFound(missing)
        if if_match is not None:
            key = next((k for k in self.get_app(client_id).keys if k.kid == kid), None)
            if key is None:
                raise NotFound(missing)
            check_if_match(if_match, key.version)
        audit = new_record(actor, "client_key.remove", f"app/{client_id}/keys/{kid}",
                           {"kid": kid}, self._now())
        with stored(missing, if_match):
            self._store.delete_client_key(client_id, kid, if_match, audit)
        log_record(audit)
