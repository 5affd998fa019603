"""Test doubles shared by the suites: a clock and a local-key signer."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa

from chalicelib.errors import SigningFailed
from chalicelib.tokens.jws import der_to_raw_ecdsa
from chalicelib.tokens.signer import PublicKeyInfo

PrivateKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey


@dataclass
class FakeClock:
    """Starts at the real current time (PyJWT checks iat/exp against it), moves only
    when told."""

    now: float = field(default_factory=lambda: float(int(time.time())))

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@dataclass
class LocalKeySigner:
    """Implements the Signer protocol with private keys held in memory."""

    keys: dict[str, PrivateKey] = field(default_factory=dict)
    sign_calls: int = 0
    public_key_calls: int = 0
    fail_with: Exception | None = None

    def add_rsa(self, key_id: str) -> str:
        self.keys[key_id] = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        return key_id

    def add_ec(self, key_id: str) -> str:
        self.keys[key_id] = ec.generate_private_key(ec.SECP256R1())
        return key_id

    def sign(self, key_id: str, alg: str, message: bytes) -> bytes:
        self.sign_calls += 1
        if self.fail_with is not None:
            raise self.fail_with
        key = self.keys[key_id]
        if isinstance(key, rsa.RSAPrivateKey):
            return key.sign(message, padding.PKCS1v15(), hashes.SHA256())
        return der_to_raw_ecdsa(key.sign(message, ec.ECDSA(hashes.SHA256())))

    def describe(self, key_id: str) -> PublicKeyInfo:
        return self.public_key(key_id)

    def public_key(self, key_id: str) -> PublicKeyInfo:
        self.public_key_calls += 1
        if key_id not in self.keys:
            raise SigningFailed(f"no key {key_id}")
        key = self.keys[key_id]
        rsa_key = isinstance(key, rsa.RSAPrivateKey)
        return PublicKeyInfo(
            key_arn=key_id,
            key_spec="RSA_2048" if rsa_key else "ECC_NIST_P256",
            key_usage="SIGN_VERIFY",
            signing_algorithms=(
                ("RSASSA_PKCS1_V1_5_SHA_256",) if rsa_key else ("ECDSA_SHA_256",)
            ),
            der=key.public_key().public_bytes(
                serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
            ),
        )
