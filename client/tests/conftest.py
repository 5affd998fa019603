"""Shared fixtures for the client library's tests."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

# The helpers live beside this file; make them importable under any pytest import mode.
_HERE = str(Path(__file__).resolve().parent)
if _HERE not in sys.path:
    sys.path.insert(0, _HERE)

from m2m_testkit import (  # noqa: E402
    AUDIENCE,
    ISSUER,
    JWKS_URL,
    FakeClock,
    FakeFetcher,
    SigningKey,
    jwks_response,
)

from m2m_client import Verifier  # noqa: E402


@pytest.fixture(scope="session")
def rsa_key() -> SigningKey:
    return SigningKey.rsa()


@pytest.fixture(scope="session")
def rsa_key_next() -> SigningKey:
    return SigningKey.rsa()


@pytest.fixture(scope="session")
def ec_key() -> SigningKey:
    return SigningKey.ec()


@pytest.fixture(scope="session")
def attacker_key() -> SigningKey:
    return SigningKey.rsa()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def fetcher(rsa_key: SigningKey, ec_key: SigningKey) -> FakeFetcher:
    return FakeFetcher(routes={JWKS_URL: jwks_response(rsa_key, ec_key)})


@pytest.fixture
def verifier(fetcher: FakeFetcher, clock: FakeClock) -> Verifier:
    return Verifier(ISSUER, AUDIENCE, jwks_url=JWKS_URL, fetch=fetcher, clock=clock)
