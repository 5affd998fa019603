"""Client authentication cost, in-process, measured in one run (not a test).

Prints authentications/s through ClientAuthenticator on the in-memory store for a client
secret (client_secret_basic) and for a private_key_jwt assertion of each algorithm
(RS256, PS256, ES256, EdDSA: parse, signature check, claim checks and the single-use
jti write), and each assertion method's rate as a ratio of the secret's, so a noisy
machine still compares fairly. Assertions are signed before timing starts.

    .venv/bin/python -m bench.client_assertion_bench [--requests N]
"""

from __future__ import annotations

import argparse
import base64
import time
from collections.abc import Callable
from urllib.parse import urlencode

from chalicelib import runtime
from chalicelib.config import Settings
from chalicelib.oauth.client_auth import ClientAuthenticator
from chalicelib.oauth.private_key_jwt import PrivateKeyJwtMethod
from chalicelib.oauth.request import FORM, IncomingRequest, parse_parameters
from chalicelib.store.memory import MemoryStore
from tests.assertion_keys import ALGS, assertion, assertion_params, new_key_pair
from tests.fakes import LocalKeySigner

ISSUER = "https://auth.example.com"


def rate(
    requests: list[IncomingRequest], authenticate: Callable[[IncomingRequest], object]
) -> float:
    start = time.perf_counter()
    for request in requests:
        authenticate(request)
    return len(requests) / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=2000)
    n = parser.parse_args().requests

    store = MemoryStore()
    settings = Settings.from_env({"TABLE_NAME": "bench", "ISSUER": ISSUER})
    services = runtime.build_services(settings, store, LocalKeySigner())
    app, secret = services.provisioning.create_app(name="bench")
    authenticator = ClientAuthenticator(store, time.time, [PrivateKeyJwtMethod(store, store)])

    def authenticate(request: IncomingRequest) -> object:
        return authenticator.authenticate(request, parse_parameters(request), ISSUER)

    raw = f"{app.client_id}:{secret.client_secret}".encode()
    basic = IncomingRequest(b"", FORM, "Basic " + base64.b64encode(raw).decode())
    secret_rate = rate([basic] * n, authenticate)
    print(f"client_secret_basic   {secret_rate:10.0f}/s   1.00x")
    for alg in ALGS:
        pair = new_key_pair(alg)
        services.provisioning.add_client_key(app.client_id, pair.public_jwk)
        now = int(time.time())
        requests = [
            IncomingRequest(urlencode(assertion_params(
                assertion(pair, app.client_id, ISSUER, now))).encode(), FORM)
            for _ in range(n)
        ]
        alg_rate = rate(requests, authenticate)
        print(f"private_key_jwt {alg:6s}{alg_rate:10.0f}/s   {alg_rate / secret_rate:.2f}x")


if __name__ == "__main__":
    main()
