"""Signing-free CPU per fresh token, in-process, measured in one run (issue 15 §3; not a
test).

What it measures: the **plain bearer client-credentials path** (``client_secret_basic``,
form body, no DPoP proof, no client certificate, no assertion, no token exchange) for a
fresh token (the API's ``token_reuse`` off, so every request is counted against the
quota and signed), on in-memory fakes, with a signer that returns a constant signature
(so the figure is everything but the signature; on AWS the signature is one
``kms:Sign`` call whose CPU is botocore's). Features added on other paths (DPoP, mTLS,
token exchange, assertion methods) must not make this figure worse: it is the one every
ordinary token request pays.

Three things are timed in process CPU (``time.process_time``, user + system), interleaved
in rounds so that machine load slows each alike, and the median round is printed:

1. **through the Chalice app**: ``app(event, context)`` with an API Gateway REST proxy
   event, what Lambda calls; Chalice's request handling, both middlewares, the edge,
   the token endpoint, the EMF metrics and ``token_outcome`` line, and the outcome log
   line formatted by a handler like the Lambda runtime's (written nowhere);
2. **directly**: ``TokenEndpoint.handle`` on an ``IncomingRequest`` built per request;
3. **the reference**: :func:`reference_token`, a fixed, minimal token issuance written
   here with the standard library only (parse the form body, decode the Basic header,
   one salted SHA-256 and constant-time compare, the claims, JSON and base64url of
   header and payload, a random ``jti``, the JSON response body). It is the work any
   token endpoint must do, on the same interpreter and C library, and it never changes
   with the project, so ``endpoint / reference`` compares fairly between a quiet and a
   loaded machine (or a faster one), where microseconds alone do not.

Also printed: a reused token through the Chalice app (``token_reuse`` 0.5), for scale.

    .venv/bin/python -m bench.hot_path_bench [--requests N] [--rounds R]
    .venv/bin/python -m bench.hot_path_bench --profile chalice   # cProfile, top 25

For instruction counts, which are repeatable even on a loaded machine, run it under
``valgrind --tool=callgrind`` with ``--only chalice`` (or ``direct``, ``reference``).
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import hmac
import io
import json
import logging
import os
import secrets
import statistics
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qsl, urlencode

ISSUER = "https://auth.example.com"
AUDIENCE = "https://api.example.com/orders"
BODY = urlencode({"grant_type": "client_credentials", "audience": AUDIENCE})
FORM = "application/x-www-form-urlencoded"
SIGNATURE = b"\x5a" * 256  # an RS256 signature's length
# what API Gateway (a regional REST API) passes on besides the client's own two headers
GATEWAY_HEADERS = {
    "Accept": "*/*", "Accept-Encoding": "gzip, deflate", "Content-Length": str(len(BODY)),
    "Host": "abc123.execute-api.us-east-1.amazonaws.com",
    "User-Agent": "python-requests/2.32.3",
    "X-Amzn-Trace-Id": "Root=1-67a0c0de-0123456789abcdef01234567",
    "X-Forwarded-For": "192.0.2.1", "X-Forwarded-Port": "443", "X-Forwarded-Proto": "https",
}
# the Lambda Python runtime's log format (its handler adds the request id)
LAMBDA_LOG_FORMAT = "[%(levelname)s]\t%(asctime)s.%(msecs)03dZ\t%(message)s\n"


class ConstantSigner:
    """The Signer protocol with a constant signature; public keys from a local key."""

    def __init__(self) -> None:
        from tests.fakes import LocalKeySigner

        self._keys = LocalKeySigner()
        self._keys.add_rsa("bench-key")

    def sign(self, key_id: str, alg: str, message: bytes) -> bytes:
        return SIGNATURE

    def public_key(self, key_id: str) -> Any:
        return self._keys.public_key(key_id)

    def describe(self, key_id: str) -> Any:
        return self._keys.describe(key_id)


class _Discard(io.TextIOBase):
    def write(self, text: str) -> int:
        return len(text)


class LambdaContext:
    aws_request_id = "00000000-0000-0000-0000-000000000000"
    function_name = "m2m-auth-dev"
    memory_limit_in_mb = 512


# ---- the reference: a minimal token issuance, standard library only -------------------

_REF_SALT = b"0123456789abcdef"
_REF_SECRET = "m2msec_" + "s" * 43
_REF_DIGEST = base64.urlsafe_b64encode(
    hashlib.sha256(_REF_SALT + _REF_SECRET.encode()).digest()).rstrip(b"=")
_REF_AUTH = "Basic " + base64.b64encode(f"{'c' * 26}:{_REF_SECRET}".encode()).decode()
_REF_BODY = BODY.encode()


def _b64(data: bytes) -> bytes:
    return base64.urlsafe_b64encode(data).rstrip(b"=")


def reference_token() -> str:
    """The fixed reference unit (see the module docstring). Never change it: figures of
    different runs compare only while it stays the same."""
    params = dict(parse_qsl(_REF_BODY.decode(), strict_parsing=True))
    if params["grant_type"] != "client_credentials":
        raise ValueError(params["grant_type"])
    client_id, _, secret = base64.b64decode(_REF_AUTH[6:]).decode().partition(":")
    digest = _b64(hashlib.sha256(_REF_SALT + secret.encode()).digest())
    if not hmac.compare_digest(digest, _REF_DIGEST):
        raise ValueError("secret")
    now = int(time.time())
    claims = {"iss": ISSUER, "sub": client_id, "aud": params["audience"],
              "client_id": client_id, "iat": now, "exp": now + 3600,
              "jti": secrets.token_urlsafe(16), "scope": "orders:read",
              "scp": ["orders:read"], "gty": "client_credentials"}
    header = {"alg": "RS256", "typ": "at+jwt", "kid": "k" * 43}
    signing_input = (_b64(json.dumps(header, separators=(",", ":")).encode()) + b"."
                     + _b64(json.dumps(claims, separators=(",", ":")).encode()))
    token = (signing_input + b"." + _b64(SIGNATURE)).decode()
    return json.dumps({"access_token": token, "token_type": "Bearer", "expires_in": 3600,
                       "scope": "orders:read"}, separators=(",", ":"))


# ---- the service under test -------------------------------------------------------------

def proxy_event(headers: dict[str, str], body: str) -> dict[str, Any]:
    """An API Gateway REST API proxy event for ``POST /oauth/token``."""
    return {
        "resource": "/oauth/token", "path": "/oauth/token", "httpMethod": "POST",
        "headers": headers, "multiValueHeaders": {k: [v] for k, v in headers.items()},
        "queryStringParameters": None, "multiValueQueryStringParameters": None,
        "pathParameters": None, "stageVariables": None,
        "requestContext": {
            "resourcePath": "/oauth/token", "httpMethod": "POST", "path": "/dev/oauth/token",
            "stage": "dev", "domainName": "abc123.execute-api.us-east-1.amazonaws.com",
            "requestId": "bench", "identity": {"sourceIp": "192.0.2.1", "userAgent": "bench"},
        },
        "body": body, "isBase64Encoded": False,
    }


def build() -> tuple[Any, dict[str, str]]:
    """Services on in-memory fakes (quotas counted, metrics as EMF, logging on)."""
    from chalicelib import runtime
    from chalicelib.aws import metrics
    from chalicelib.config import Settings
    from chalicelib.store.memory import MemoryStore
    from chalicelib.store.records import KeyState

    settings = Settings.from_env({"TABLE_NAME": "bench", "ISSUER": ISSUER})
    signer = ConstantSigner()
    services = runtime.build_services(settings, MemoryStore(), signer)  # type: ignore[arg-type]
    services.keyring.register("bench-key", "RS256", KeyState.CURRENT)
    p = services.provisioning
    api = p.create_api(name="Orders", identifier=AUDIENCE, scopes=["orders:read"])
    app, secret = p.create_app(name="bench")
    p.set_grant(app.client_id, api.api_id, ["orders:read"])
    p.update_api(api.api_id, {"token_reuse": None})
    basic = base64.b64encode(f"{app.client_id}:{secret.client_secret}".encode()).decode()
    runtime.install(services)
    metrics.use(metrics.EmfRecorder(metrics.namespace("bench"), write=lambda line: None))
    handler = logging.StreamHandler(_Discard())
    handler.setFormatter(logging.Formatter(LAMBDA_LOG_FORMAT))
    logging.getLogger().addHandler(handler)
    logging.getLogger().setLevel(logging.WARNING)  # the Lambda runtime's default
    return services, {**GATEWAY_HEADERS, "Content-Type": FORM,
                      "Authorization": f"Basic {basic}"}


def workloads(services: Any, headers: dict[str, str]) -> dict[str, Callable[[], object]]:
    import app as chalice_app
    from chalicelib.oauth.request import IncomingRequest

    handle = services.token.handle
    body = BODY.encode()
    authorization = headers["Authorization"]
    multi = {k.lower(): (v,) for k, v in headers.items()}
    event = proxy_event(headers, BODY)
    app = chalice_app.app
    context = LambdaContext()

    def direct() -> object:
        request = IncomingRequest(body=body, content_type=FORM, authorization=authorization,
                                  headers=multi)
        return handle(request, ISSUER)

    def chalice() -> object:
        response = app(event, context)
        if response["statusCode"] != 200:
            raise RuntimeError(response["body"])
        return response

    return {"chalice": chalice, "direct": direct, "reference": reference_token}


def cpu_per_call(fn: Callable[[], object], n: int) -> float:
    """Process CPU seconds per call, over ``n`` calls."""
    start = time.process_time()
    for _ in range(n):
        fn()
    return (time.process_time() - start) / n


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=2000, help="calls per round")
    parser.add_argument("--rounds", type=int, default=9)
    parser.add_argument("--only", choices=("chalice", "direct", "reference"),
                        help="run one workload, untimed (for valgrind --tool=callgrind)")
    parser.add_argument("--profile", choices=("chalice", "direct"),
                        help="cProfile one workload and print the top 25 by own time")
    args = parser.parse_args()

    services, headers = build()
    work = workloads(services, headers)
    for fn in work.values():
        for _ in range(200):  # warm: caches, last_used, the key ring
            fn()
    if args.only:
        for _ in range(args.requests):
            work[args.only]()
        return
    if args.profile:
        import cProfile
        import pstats

        profiler = cProfile.Profile()
        profiler.runcall(lambda: [work[args.profile]() for _ in range(args.requests)])
        pstats.Stats(profiler).sort_stats("tottime").print_stats(25)
        return

    samples: dict[str, list[float]] = {name: [] for name in work}
    for _ in range(args.rounds):
        for name, fn in work.items():
            samples[name].append(cpu_per_call(fn, args.requests))
    ratios = {name: statistics.median(a / r for a, r in zip(values, samples["reference"],
                                                             strict=True))
              for name, values in samples.items()}
    median = {name: statistics.median(values) * 1e6 for name, values in samples.items()}

    services.provisioning.update_api(services.store.list_apis()[0].api_id,
                                     {"token_reuse": 0.5})
    work["chalice"]()
    reused = statistics.median(cpu_per_call(work["chalice"], args.requests) * 1e6
                               for _ in range(3))

    print(f"plain bearer client_credentials, fresh token (token_reuse off), signer constant; "
          f"median of {args.rounds} rounds of {args.requests}, process CPU")
    print(f"  through the Chalice app (Lambda handler) : {median['chalice']:7.1f} µs/token"
          f"   {ratios['chalice']:5.2f}× reference")
    print(f"  TokenEndpoint.handle directly            : {median['direct']:7.1f} µs/token"
          f"   {ratios['direct']:5.2f}× reference")
    print(f"  reference (minimal stdlib issuance)      : {median['reference']:7.1f} µs/token")
    print(f"  reused token through the Chalice app     : {reused:7.1f} µs/token (for scale)")
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"  load average at the end: {load:.2f}")


if __name__ == "__main__":
    main()
