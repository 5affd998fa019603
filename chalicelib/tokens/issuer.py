"""Sign access tokens with the key ring's current key (RFC 9068 §2.1 header)."""

from __future__ import annotations

from typing import Any

from ..errors import SigningFailed
from ..store.records import SigningKeyRecord
from .jws import compact, signing_input
from .keyring import KeyRing
from .signer import KMS_MAX_RAW_MESSAGE, Signer

ACCESS_TOKEN_TYPE = "at+jwt"  # noqa: S105 - the JWT typ value


class TokenIssuer:
    def __init__(self, keyring: KeyRing, signer: Signer) -> None:
        self._keyring = keyring
        self._signer = signer

    def current_key(self) -> SigningKeyRecord:
        return self._keyring.current()

    def issue(self, claims: dict[str, Any], key: SigningKeyRecord | None = None) -> str:
        """Sign with ``key`` (the one the caller looked up), else the current key."""
        key = key or self._keyring.current()
        header = {"alg": key.alg, "typ": ACCESS_TOKEN_TYPE, "kid": key.kid}
        message = signing_input(header, claims)
        if len(message) > KMS_MAX_RAW_MESSAGE:
            raise SigningFailed(f"signing input of {len(message)} bytes exceeds the KMS limit")
        return compact(message, self._signer.sign(key.kms_key_id, key.alg, message))
