"""Sign access tokens with the key ring's current key (RFC 9068 §2.1 header)."""

from __future__ import annotations

import functools
from typing import Any

from ..errors import SigningFailed
from ..store.records import SigningKeyRecord
from .jws import compact, segment
from .keyring import KeyRing
from .signer import KMS_MAX_RAW_MESSAGE, Signer

ACCESS_TOKEN_TYPE = "at+jwt"  # noqa: S105 - the JWT typ value


@functools.lru_cache(maxsize=32)
def header_segment(alg: str, kid: str) -> bytes:
    """The encoded JOSE header of an access token signed by this key: the same for every
    token, so encoded once per key."""
    return segment({"alg": alg, "typ": ACCESS_TOKEN_TYPE, "kid": kid})


class TokenIssuer:
    def __init__(self, keyring: KeyRing, signer: Signer) -> None:
        self._keyring = keyring
        self._signer = signer

    def current_key(self) -> SigningKeyRecord:
        return self._keyring.current()

    def issue(self, claims: dict[str, Any], key: SigningKeyRecord | None = None) -> str:
        """Sign with ``key`` (the one the caller looked up), else the current key."""
        key = key or self._keyring.current()
        message = header_segment(key.alg, key.kid) + b"." + segment(claims)
        if len(message) > KMS_MAX_RAW_MESSAGE:
            raise SigningFailed(f"signing input of {len(message)} bytes exceeds the KMS limit")
        return compact(message, self._signer.sign(key.kms_key_id, key.alg, message))
