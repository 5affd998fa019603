"""Token endpoint throughput, in-process, measured in one run (not a test).

Prints requests/s for (1) the full HTTP path through the Chalice app on moto
DynamoDB + KMS, (2) the same requests on in-memory fakes with a local RSA key,
(3) the AWS calls one warm token request makes, and (4) the cost of checking a
client secret (salted SHA-256) against a password-grade hash (PBKDF2-SHA256 at
OWASP's 600,000 iterations), as ratios so a noisy machine still compares fairly.

    .venv/bin/python -m bench.token_bench [--requests N]
"""

from __future__ import annotations

import argparse
import hashlib
import os
import time
from collections import Counter
from collections.abc import Callable
from typing import Any

for _k, _v in {
    "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_DEFAULT_REGION": "us-east-1", "AWS_EC2_METADATA_DISABLED": "true",
}.items():
    os.environ[_k] = _v
os.environ.pop("AWS_ENDPOINT_URL", None)
os.environ.pop("AWS_PROFILE", None)


def rate(fn: Callable[[], Any], n: int) -> float:
    fn()  # warm
    start = time.perf_counter()
    for _ in range(n):
        fn()
    return n / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=300)
    n = parser.parse_args().requests

    import base64
    from urllib.parse import urlencode

    import boto3
    from chalice.test import Client
    from moto import mock_aws

    import app as chalice_app
    from chalicelib import runtime
    from chalicelib.config import Settings
    from chalicelib.oauth.client_secret import hash_secret, new_secret, verify_secret
    from chalicelib.store.dynamodb import DynamoDBStore
    from chalicelib.store.memory import MemoryStore
    from chalicelib.store.records import KeyState
    from chalicelib.store.schema import create_table
    from chalicelib.tokens.signer import KmsSigner
    from tests.fakes import LocalKeySigner

    settings = Settings.from_env({"TABLE_NAME": "bench", "ISSUER": "https://auth.example.com"})
    audience = "https://api.example.com/orders"

    def seed(services: runtime.Services) -> dict[str, str]:
        p = services.provisioning
        api = p.create_api(name="Orders", identifier=audience, scopes=["orders:read"])
        app, secret = p.create_app(name="bench")
        p.set_grant(app.client_id, api.api_id, ["orders:read"])
        basic = base64.b64encode(f"{app.client_id}:{secret.client_secret}".encode()).decode()
        return {"Authorization": f"Basic {basic}",
                "Content-Type": "application/x-www-form-urlencoded"}

    body = urlencode({"grant_type": "client_credentials", "audience": audience})

    def http_rate(services: runtime.Services, headers: dict[str, str]) -> float:
        runtime.install(services)
        with Client(chalice_app.app) as client:
            def one() -> None:
                response = client.http.post("/oauth/token", headers=headers, body=body)
                assert response.status_code == 200, response.body
            return rate(one, n)

    calls: Counter[str] = Counter()
    with mock_aws():
        ddb = boto3.client("dynamodb", region_name="us-east-1")
        kms = boto3.client("kms", region_name="us-east-1")
        create_table(ddb, "bench")
        key = kms.create_key(KeySpec="RSA_2048", KeyUsage="SIGN_VERIFY")["KeyMetadata"]
        moto_services = runtime.build_services(settings, DynamoDBStore(ddb, "bench"),
                                               KmsSigner(kms))
        moto_services.keyring.register(key["Arn"], "RS256", KeyState.CURRENT)
        headers = seed(moto_services)
        moto_rate = http_rate(moto_services, headers)
        for client in (ddb, kms):
            service = client.meta.service_model.service_name
            client.meta.events.register(
                "before-call.*.*",
                lambda model, service=service, **_: calls.update([f"{service}:{model.name}"]),
            )
        runtime.install(moto_services)
        with Client(chalice_app.app) as c:
            c.http.post("/oauth/token", headers=headers, body=body)  # warm last_used
            calls.clear()
            for _ in range(10):
                c.http.post("/oauth/token", headers=headers, body=body)

    signer = LocalKeySigner()
    signer.add_rsa("k")
    fake_services = runtime.build_services(settings, MemoryStore(), signer)
    fake_services.keyring.register("k", "RS256", KeyState.CURRENT)
    fake_rate = http_rate(fake_services, seed(fake_services))
    runtime.install(None)

    secret = new_secret()
    stored = hash_secret(secret)
    sha_rate = rate(lambda: verify_secret(stored, secret), 20_000)
    salt = os.urandom(16)
    pbkdf2_rate = rate(lambda: hashlib.pbkdf2_hmac("sha256", secret.encode(), salt, 600_000), 3)

    per_token = {k: v / 10 for k, v in sorted(calls.items())}
    print(f"token requests/s, Chalice app on moto DynamoDB + KMS : {moto_rate:8.1f}")
    print(f"token requests/s, Chalice app on in-memory fakes     : {fake_rate:8.1f}")
    print(f"  ratio fakes / moto                                 : {fake_rate / moto_rate:8.2f}")
    print(f"AWS calls per warm token request                     : {per_token}")
    print(f"secret checks/s, salted SHA-256 (ours)               : {sha_rate:10.0f}")
    print(f"secret checks/s, PBKDF2-SHA256 600k iterations       : {pbkdf2_rate:10.2f}")
    print(f"  ratio SHA-256 / PBKDF2                             : {sha_rate / pbkdf2_rate:10.0f}")


if __name__ == "__main__":
    main()
