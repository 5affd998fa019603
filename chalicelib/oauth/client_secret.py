"""Client identifiers and secrets: generation, one-way hashing, constant-time checks.

Secrets are 256 random bits, base64url, behind the prefix ``m2msec_`` so
secret scanners can recognise a leaked one. Only a versioned hash is stored:
``v1$<salt>$<sha256(salt || secret)>``. NIST SP 800-63B §5.1.1.2 allows an
approved one-way function for secrets of at least 112 bits; a slow password
hash (bcrypt, Argon2) adds nothing against guessing 256 random bits and would
cap token issuance at a few hundred per second per CPU.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets

SECRET_PREFIX = "m2msec_"  # noqa: S105 - a public prefix, not a secret
SECRET_BYTES = 32
MAX_SECRET_LENGTH = 256
_HASH_VERSION = "v1"
_SALT_BYTES = 16


CLIENT_ID_SHAPE = re.compile(r"[a-z2-7]{26}")
SECRET_ID_SHAPE = re.compile(r"sec_[0-9a-f]{16}")


def new_client_id() -> str:
    """128 random bits as 26 lowercase base32 characters (URL- and header-safe)."""
    return base64.b32encode(secrets.token_bytes(16)).decode("ascii").rstrip("=").lower()


def new_secret_id() -> str:
    return "sec_" + secrets.token_hex(8)


def new_secret() -> str:
    return SECRET_PREFIX + secrets.token_urlsafe(SECRET_BYTES)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode("ascii").rstrip("=")


def _digest(salt: bytes, secret: str) -> bytes:
    return hashlib.sha256(salt + secret.encode("utf-8")).digest()


def hash_secret(secret: str) -> str:
    salt = secrets.token_bytes(_SALT_BYTES)
    return f"{_HASH_VERSION}${_b64(salt)}${_b64(_digest(salt, secret))}"


def verify_secret(stored_hash: str, presented: str) -> bool:
    """Constant-time comparison of a presented secret with a stored hash."""
    try:
        version, salt_b64, digest_b64 = stored_hash.split("$")
        salt = base64.urlsafe_b64decode(salt_b64 + "=" * (-len(salt_b64) % 4))
    except ValueError:
        return False
    if version != _HASH_VERSION or len(presented) > MAX_SECRET_LENGTH:
        return False
    try:
        digest = _digest(salt, presented)
    except UnicodeEncodeError:
        return False
    return hmac.compare_digest(_b64(digest), digest_b64)
