"""Shared fixtures. Every test runs offline: fake credentials, a fixed region,
no instance metadata, and no endpoint override (so moto's mock intercepts)."""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from infra.local_aws import force_offline_environment

force_offline_environment()  # before anything can build an AWS client
for _name in ("AWS_ENDPOINT_URL", "ISSUER", "TABLE_NAME", "SIGNING_KEY_ID"):
    os.environ.pop(_name, None)

from chalicelib import runtime  # noqa: E402
from chalicelib.config import Settings  # noqa: E402
from chalicelib.store.memory import MemoryStore  # noqa: E402
from chalicelib.store.records import KeyState  # noqa: E402
from tests.fakes import FakeClock, LocalKeySigner  # noqa: E402

TABLE = "m2m-auth-test"
ISSUER = "https://auth.example.test/v1"
AUDIENCE = "https://api.example.com/orders"


def make_settings(**overrides: str) -> Settings:
    env = {"TABLE_NAME": TABLE, "ISSUER": ISSUER, **overrides}
    return Settings.from_env(env)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture(autouse=True)
def _no_installed_services() -> Iterator[None]:
    yield
    runtime.install(None)


class CallCounter:
    """Counts AWS API calls made by botocore clients (``before-call`` events)."""

    def __init__(self) -> None:
        self.calls: Counter[str] = Counter()

    def attach(self, client: Any) -> None:
        service = client.meta.service_model.service_name
        client.meta.events.register(
            "before-call.*.*",
            lambda model, **_: self.calls.update([f"{service}:{model.name}"]),
        )

    def reset(self) -> None:
        self.calls.clear()

    def count(self, service: str) -> int:
        return sum(n for name, n in self.calls.items() if name.startswith(service + ":"))


@dataclass
class AwsBackend:
    dynamodb: Any
    kms: Any
    key_arn: str
    counter: CallCounter


@pytest.fixture
def aws() -> Iterator[AwsBackend]:
    """moto DynamoDB table and RSA_2048 KMS key, with AWS calls counted."""
    import boto3
    from moto import mock_aws

    from chalicelib.store.schema import create_table

    with mock_aws():
        dynamodb = boto3.client("dynamodb", region_name="us-east-1")
        kms = boto3.client("kms", region_name="us-east-1")
        create_table(dynamodb, TABLE)
        key = kms.create_key(KeySpec="RSA_2048", KeyUsage="SIGN_VERIFY")["KeyMetadata"]
        counter = CallCounter()
        counter.attach(dynamodb)
        counter.attach(kms)
        yield AwsBackend(dynamodb, kms, key["Arn"], counter)


@pytest.fixture
def moto_services(aws: AwsBackend, clock: FakeClock) -> runtime.Services:
    """The real adapters (DynamoDB, KMS) on moto, with the key registered as current."""
    from chalicelib.aws.kms_signer import KmsSigner
    from chalicelib.store.dynamodb import DynamoDBStore

    services = runtime.build_services(
        make_settings(), DynamoDBStore(aws.dynamodb, TABLE), KmsSigner(aws.kms), clock
    )
    services.keyring.register(aws.key_arn, "RS256", KeyState.CURRENT)
    return services


@pytest.fixture
def signer() -> LocalKeySigner:
    s = LocalKeySigner()
    s.add_rsa("rsa-key-1")
    return s


@pytest.fixture
def memory_services(clock: FakeClock, signer: LocalKeySigner) -> runtime.Services:
    """Protocol code on in-memory fakes: a dict store and a local-key signer."""
    services = runtime.build_services(make_settings(), MemoryStore(), signer, clock)
    services.keyring.register("rsa-key-1", "RS256", KeyState.CURRENT)
    return services


@dataclass
class Demo:
    api_id: str
    client_id: str
    client_secret: str
    secret_id: str


def reuse_off(services: runtime.Services, demo: Demo) -> None:
    """Every token request signs a fresh token (tests about fresh tokens)."""
    services.provisioning.update_api(demo.api_id, {"token_reuse": None})


def seed_demo(services: runtime.Services, scopes: tuple[str, ...] = ("orders:read",)) -> Demo:
    p = services.provisioning
    api = p.create_api(
        name="Orders",
        identifier=AUDIENCE,
        scopes=[{"value": "orders:read", "description": "Read"},
                {"value": "orders:write", "description": "Write"}],
    )
    app, secret = p.create_app(name="Billing service")
    p.set_grant(app.client_id, api.api_id, list(scopes))
    return Demo(api.api_id, app.client_id, secret.client_secret, secret.secret_id)
