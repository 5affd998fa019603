"""Verifier throughput with a warm JWKS cache versus bare `jwt.decode` on the same token.

Not a test: run `python client/bench/verify_bench.py [--seconds S] [--rounds N]`.
Both sides verify one RS256 token (2048-bit key generated in-process); the verifier's JWKS
comes from an in-process fake, fetched once before timing starts. `jwt.decode` gets the
public key object and checks iss/aud/exp itself, so the ratio is the verifier's overhead:
header checks, key lookup, and its own claim validation.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
import uuid
from collections.abc import Callable

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

from m2m_client import Verifier
from m2m_client.fetch import HttpResponse

ISSUER = "https://auth.example.com"
AUDIENCE = "https://api.example.com/orders"
JWKS_URL = f"{ISSUER}/.well-known/jwks.json"
KID = "bench-key"


def build() -> tuple[str, Verifier, Callable[[], object]]:
    private_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    public_key = private_key.public_key()
    jwk = RSAAlgorithm.to_jwk(public_key, as_dict=True) | {"kid": KID, "use": "sig", "alg": "RS256"}
    document = json.dumps({"keys": [jwk]}).encode()
    fetches: list[str] = []

    def fetch(url: str) -> HttpResponse:
        fetches.append(url)
        return HttpResponse(200, {"cache-control": "public, max-age=600"}, document)

    now = int(time.time())
    claims = {
        "iss": ISSUER,
        "sub": "svc-billing",
        "aud": AUDIENCE,
        "client_id": "svc-billing",
        "iat": now,
        "exp": now + 3600,
        "jti": str(uuid.uuid4()),
        "scope": "orders:read orders:write",
        "scp": ["orders:read", "orders:write"],
        "gty": "client_credentials",
    }
    token = jwt.encode(
        claims, private_key, algorithm="RS256", headers={"typ": "at+jwt", "kid": KID}
    )
    verifier = Verifier(ISSUER, AUDIENCE, jwks_url=JWKS_URL, fetch=fetch)
    verifier.verify(token, required_scopes=["orders:read"])  # warms the JWKS cache
    if fetches != [JWKS_URL]:
        raise SystemExit(f"expected one JWKS fetch while warming, saw {fetches}")

    def bare() -> object:
        return jwt.decode(
            token,
            public_key,
            algorithms=["RS256"],
            audience=AUDIENCE,
            issuer=ISSUER,
            options={"require": ["iss", "sub", "aud", "exp", "iat", "jti"]},
        )

    return token, verifier, bare


def rate(call: Callable[[], object], seconds: float) -> float:
    """Calls per second over at least `seconds`, timed in batches."""
    calls = 0
    start = time.perf_counter()
    deadline = start + seconds
    while True:
        for _ in range(50):
            call()
        calls += 50
        now = time.perf_counter()
        if now >= deadline:
            return calls / (now - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=1.0, help="per measurement")
    parser.add_argument("--rounds", type=int, default=5, help="alternating rounds")
    args = parser.parse_args()

    token, verifier, bare = build()

    def verify() -> object:
        return verifier.verify(token, required_scopes=["orders:read"])

    rate(verify, 0.2)  # warm-up for both paths
    rate(bare, 0.2)
    verifier_rates, bare_rates = [], []
    for _ in range(args.rounds):  # alternate so drift hits both sides alike
        verifier_rates.append(rate(verify, args.seconds))
        bare_rates.append(rate(bare, args.seconds))
    verifier_rate = statistics.median(verifier_rates)
    bare_rate = statistics.median(bare_rates)
    print(f"Verifier.verify (warm JWKS): {verifier_rate:10,.0f} tokens/s")
    print(f"bare jwt.decode:             {bare_rate:10,.0f} tokens/s")
    print(f"ratio verify / jwt.decode:   {verifier_rate / bare_rate:10.3f}")
    print(f"(median of {args.rounds} rounds of {args.seconds:g} s, RS256 2048-bit, one thread)")


if __name__ == "__main__":
    main()
