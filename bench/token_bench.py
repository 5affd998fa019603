"""Token endpoint throughput, in-process, measured in one run (not a test).

Prints requests/s of fresh (signed) and reused tokens (issue 9 §1) for (1) the full
HTTP path through the Chalice app on moto DynamoDB + KMS and (2) the same requests on
in-memory fakes with a local RSA key; (3) the AWS calls one warm fresh and one warm
reused token request make; (4) the KMS signatures 1,000 requests cost from a client that
asks for a token on every call; (5) the cost of checking a client secret (salted
SHA-256) against a password-grade hash (PBKDF2-SHA256 at OWASP's 600,000 iterations);
and (6) the README's cost table per 1M token requests at 0/90/99 % reuse from list
prices. Ratios, so a noisy machine still compares fairly.

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
    from chalicelib.aws.kms_signer import KmsSigner
    from chalicelib.config import Settings
    from chalicelib.oauth.client_secret import hash_secret, new_secret, verify_secret
    from chalicelib.store.dynamodb import DynamoDBStore
    from chalicelib.store.memory import MemoryStore
    from chalicelib.store.records import KeyState
    from chalicelib.store.schema import create_table
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

    def counted(services: runtime.Services, headers: dict[str, str], clients: list[Any],
                fresh: bool) -> dict[str, float]:
        """AWS calls per warm token request, fresh (reuse off) or reused."""
        calls: Counter[str] = Counter()
        for client in clients:
            service = client.meta.service_model.service_name
            client.meta.events.register(
                "before-call.*.*",
                lambda model, service=service, **_: calls.update([f"{service}:{model.name}"]),
            )
        reuse_on_api(services, None if fresh else 0.5)
        runtime.install(services)
        with Client(chalice_app.app) as c:
            c.http.post("/oauth/token", headers=headers, body=body)  # warm last_used
            calls.clear()
            for _ in range(10):
                c.http.post("/oauth/token", headers=headers, body=body)
        for client in clients:
            client.meta.events.unregister("before-call.*.*")
        return {k: v / 10 for k, v in sorted(calls.items())}

    with mock_aws():
        ddb = boto3.client("dynamodb", region_name="us-east-1")
        kms = boto3.client("kms", region_name="us-east-1")
        create_table(ddb, "bench")
        key = kms.create_key(KeySpec="RSA_2048", KeyUsage="SIGN_VERIFY")["KeyMetadata"]
        moto_services = runtime.build_services(settings, DynamoDBStore(ddb, "bench"),
                                               KmsSigner(kms))
        moto_services.keyring.register(key["Arn"], "RS256", KeyState.CURRENT)
        headers = seed(moto_services)
        reuse_on_api(moto_services, None)
        moto_fresh = http_rate(moto_services, headers)
        reuse_on_api(moto_services, 0.5)
        moto_reused = http_rate(moto_services, headers)
        fresh_calls = counted(moto_services, headers, [ddb, kms], fresh=True)
        reused_calls = counted(moto_services, headers, [ddb, kms], fresh=False)

    signer = LocalKeySigner()
    signer.add_rsa("k")
    fake_services = runtime.build_services(settings, MemoryStore(), signer)
    fake_services.keyring.register("k", "RS256", KeyState.CURRENT)
    fake_headers = seed(fake_services)
    reuse_on_api(fake_services, None)
    fake_fresh = http_rate(fake_services, fake_headers)
    reuse_on_api(fake_services, 0.5)
    fake_reused = http_rate(fake_services, fake_headers)
    runtime.install(None)

    signatures = {c: eager_client_signatures(c, seed) for c in (1, 4)}

    secret = new_secret()
    stored = hash_secret(secret)
    sha_rate = rate(lambda: verify_secret(stored, secret), 20_000)
    salt = os.urandom(16)
    pbkdf2_rate = rate(lambda: hashlib.pbkdf2_hmac("sha256", secret.encode(), salt, 600_000), 3)

    print(f"fresh tokens/s, Chalice app on moto DynamoDB + KMS   : {moto_fresh:8.1f}")
    print(f"reused tokens/s, Chalice app on moto DynamoDB + KMS  : {moto_reused:8.1f}")
    print(f"  ratio reused / fresh (moto)                        : {moto_reused / moto_fresh:8.2f}")
    print(f"fresh tokens/s, Chalice app on in-memory fakes       : {fake_fresh:8.1f}")
    print(f"reused tokens/s, Chalice app on in-memory fakes      : {fake_reused:8.1f}")
    print(f"  ratio reused / fresh (fakes)                       : {fake_reused / fake_fresh:8.2f}")
    print(f"  ratio fakes / moto (fresh)                         : {fake_fresh / moto_fresh:8.2f}")
    print(f"AWS calls per warm fresh token                       : {fresh_calls}")
    print(f"AWS calls per warm reused token                      : {reused_calls}")
    for containers, count in signatures.items():
        print(f"KMS signatures per 1,000 requests, client asking every 10 s, "
              f"{containers} container(s): {count}")
    print(f"secret checks/s, salted SHA-256 (ours)               : {sha_rate:10.0f}")
    print(f"secret checks/s, PBKDF2-SHA256 600k iterations       : {pbkdf2_rate:10.2f}")
    print(f"  ratio SHA-256 / PBKDF2                             : {sha_rate / pbkdf2_rate:10.0f}")
    print()
    print(cost_table())


def reuse_on_api(services: Any, fraction: float | None) -> None:
    for api in services.store.list_apis():
        services.provisioning.update_api(api.api_id, {"token_reuse": fraction})


def eager_client_signatures(containers: int, seed: Callable[[Any], dict[str, str]]) -> int:
    """KMS signatures for 1,000 token requests from a client that never caches, one every
    10 s (2.8 hours), spread round-robin over ``containers`` warm containers sharing one
    store; default lifetime 3600 s and token_reuse 0.5."""
    from chalicelib import runtime
    from chalicelib.config import Settings
    from chalicelib.oauth.request import FORM, IncomingRequest
    from chalicelib.store.memory import MemoryStore
    from chalicelib.store.records import KeyState
    from tests.fakes import FakeClock, LocalKeySigner

    settings = Settings.from_env({"TABLE_NAME": "bench", "ISSUER": "https://auth.example.com"})
    clock, store, signer = FakeClock(), MemoryStore(), LocalKeySigner()
    signer.add_rsa("k")
    services = [runtime.build_services(settings, store, signer, clock) for _ in range(containers)]
    services[0].keyring.register("k", "RS256", KeyState.CURRENT)
    headers = seed(services[0])
    body = b"grant_type=client_credentials&audience=https%3A%2F%2Fapi.example.com%2Forders"
    request = IncomingRequest(body=body, content_type=FORM,
                              authorization=headers["Authorization"])
    before = signer.sign_calls
    for i in range(1000):
        services[i % containers].token.handle(request, "https://auth.example.com")
        clock.advance(10)
    return signer.sign_calls - before


# List prices (us-east-1, on-demand) used for the README's cost table.
APIGW_REST_PER_M = 3.50
LAMBDA_REQUESTS_PER_M = 0.20
LAMBDA_GB_SECOND = 0.0000166667
LAMBDA_MEMORY_GB = 0.5  # .chalice/config.json lambda_memory_size 512
FRESH_MS, REUSED_MS = 40, 15  # assumed billed duration: a KMS Sign adds ~20-25 ms in-region
DYNAMODB_READ_PER_M = 0.125  # read request units; the token Query is 1 RRU (< 4 KB, strong)
DYNAMODB_WRITE_PER_M = 0.625  # write request units; the usage counter update is 1 WRU
KMS_RSA_PER_10K = 0.03


def cost_table() -> str:
    rows = ["| reuse | API Gateway | Lambda | DynamoDB reads | DynamoDB writes | KMS | total |",
            "|---|---|---|---|---|---|---|"]
    for reuse in (0.0, 0.9, 0.99):
        fresh = 1_000_000 * (1 - reuse)
        reused = 1_000_000 * reuse
        lambda_cost = LAMBDA_REQUESTS_PER_M + LAMBDA_GB_SECOND * LAMBDA_MEMORY_GB * (
            fresh * FRESH_MS + reused * REUSED_MS) / 1000
        parts = [APIGW_REST_PER_M, lambda_cost, DYNAMODB_READ_PER_M,
                 DYNAMODB_WRITE_PER_M * fresh / 1e6, KMS_RSA_PER_10K * fresh / 10_000]
        rows.append(f"| {reuse:.0%} | " + " | ".join(f"${p:.3f}" for p in parts)
                    + f" | **${sum(parts):.2f}** |")
    return "\n".join(rows)


if __name__ == "__main__":
    main()
