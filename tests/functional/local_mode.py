"""The Chalice app on moto in local mode, so a test OpenID provider on loopback can be a
trusted issuer (docs/federation.md); public names never resolve. Shared by the federation,
jwt-bearer and token-exchange tests."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from typing import Any

from chalice.test import Client

from chalicelib import runtime
from chalicelib.admin.federation import FederationAdmin
from chalicelib.federation.jwks_fetch import IssuerKeys
from chalicelib.federation.safe_http import FetchFailed, SafeFetcher
from chalicelib.store.records import KeyState
from tests.conftest import TABLE, AwsBackend, make_settings
from tests.fakes import FakeClock


class NoDns:
    """Public names never resolve here (the tests send traffic to loopback only)."""

    def __init__(self) -> None:
        self.asked: list[str] = []

    def __call__(self, host: str, port: int) -> list[str]:
        self.asked.append(host)
        raise FetchFailed("no DNS in tests")


def local_services(aws: AwsBackend, clock: FakeClock, dns: NoDns) -> runtime.Services:
    """Local mode (loopback issuers allowed) on moto; public names never resolve."""
    from chalicelib.aws.kms_signer import KmsSigner
    from chalicelib.store.dynamodb import DynamoDBStore

    built = runtime.build_services(
        make_settings(M2M_LOCAL_MODE="1"), DynamoDBStore(aws.dynamodb, TABLE),
        KmsSigner(aws.kms), clock,
    )
    built.keyring.register(aws.key_arn, "RS256", KeyState.CURRENT)
    fetcher = SafeFetcher(True, resolver=dns)  # only 127.0.0.1 literals get connected
    return replace(built, federation=FederationAdmin(
        built.store, clock, IssuerKeys(fetcher, clock, True), local_mode=True,
    ))


def chalice_http(services: runtime.Services) -> Iterator[Any]:
    import app as chalice_app

    runtime.install(services)
    with Client(chalice_app.app) as client:
        yield client.http
