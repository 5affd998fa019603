"""Verifier throughput with a warm JWKS cache versus bare `jwt.decode` on the same token.

Not a test: run `python client/bench/verify_bench.py [--seconds S] [--rounds N] [--batch B]`.
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


def timed(call: Callable[[], object], calls: int) -> float:
    """Seconds taken by `calls` calls."""
    start = time.perf_counter()
    for _ in range(calls):
        call()
    return time.perf_counter() - start


def measure_round(
    verify: Callable[[], object], bare: Callable[[], object], seconds: float, batch: int
) -> tuple[float, float]:
    """Calls per second of each side over one round of about `seconds`.

    The two sides alternate in small batches (ABBA order, so a drift in machine load
    within a pair hits both alike) and each side's rate is its calls over its own time:
    load on a shared machine slows both sides equally instead of whichever ran during it.
    """
    verify_time = bare_time = 0.0
    calls = 0
    deadline = time.perf_counter() + seconds
    while time.perf_counter() < deadline:
        verify_time += timed(verify, batch)
        bare_time += timed(bare, batch)
        bare_time += timed(bare, batch)
        verify_time += timed(verify, batch)
        calls += 2 * batch
    return calls / verify_time, calls / bare_time


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=1.0, help="per round")
    parser.add_argument("--rounds", type=int, default=7, help="rounds; the median is reported")
    parser.add_argument("--batch", type=int, default=20, help="calls per interleaved batch")
    args = parser.parse_args()

    token, verifier, bare = build()

    def verify() -> object:
        return verifier.verify(token, required_scopes=["orders:read"])

    measure_round(verify, bare, 0.3, args.batch)  # warm-up for both paths
    rounds = [measure_round(verify, bare, args.seconds, args.batch) for _ in range(args.rounds)]
    ratios = sorted(v / b for v, b in rounds)
    verifier_rate = statistics.median(v for v, _ in rounds)
    bare_rate = statistics.median(b for _, b in rounds)
    print(f"Verifier.verify (warm JWKS): {verifier_rate:10,.0f} tokens/s")
    print(f"bare jwt.decode:             {bare_rate:10,.0f} tokens/s")
    print(f"ratio verify / jwt.decode:   {statistics.median(ratios):10.3f}"
          f"   (rounds: {ratios[0]:.3f} to {ratios[-1]:.3f})")
    print(f"(median of {args.rounds} rounds of {args.seconds:g} s, the two interleaved in "
          f"batches of {args.batch}; RS256 2048-bit, one thread)")


if __name__ == "__main__":
    main()
