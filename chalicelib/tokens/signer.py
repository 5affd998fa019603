"""The Signer protocol: what signing a token needs, whatever holds the private key
(the AWS KMS adapter is :mod:`chalicelib.aws.kms_signer`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

# JOSE alg -> (KMS signing algorithm, KMS key specs that can produce it): the
# vocabulary of PublicKeyInfo
ALGORITHMS: dict[str, tuple[str, tuple[str, ...]]] = {
    "RS256": ("RSASSA_PKCS1_V1_5_SHA_256", ("RSA_2048", "RSA_3072", "RSA_4096")),
    "ES256": ("ECDSA_SHA_256", ("ECC_NIST_P256",)),
}

KMS_MAX_RAW_MESSAGE = 4096
"""The longest signing input a signer must accept: KMS ``Sign`` takes at most 4,096
bytes with ``MessageType=RAW``."""


@dataclass(frozen=True)
class PublicKeyInfo:
    key_arn: str
    key_spec: str
    key_usage: str
    signing_algorithms: tuple[str, ...]
    der: bytes
    key_state: str = "Enabled"


class Signer(Protocol):
    def sign(self, key_id: str, alg: str, message: bytes) -> bytes:
        """The JWS signature (RFC 7518 §3) of ``message`` under the key."""

    def public_key(self, key_id: str) -> PublicKeyInfo:
        """The public key (SubjectPublicKeyInfo DER) and what the key can do."""

    def describe(self, key_id: str) -> PublicKeyInfo:
        """Like ``public_key``, plus the key's ARN and state (used when registering)."""
