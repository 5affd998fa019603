"""Server-side cost of an `aws_sigv4` client authentication, in-process, measured in one
run (not a test): the checks and reconstruction of the signed GetCallerIdentity plus the
app lookup on in-memory fakes, against a client-secret check, as a ratio. The STS round
trip itself (a network call to sts.<region>.amazonaws.com, once per token fetch) is not
measurable offline and is not included.

    .venv/bin/python -m bench.aws_iam_bench [--requests N]
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable

from botocore.credentials import Credentials
from m2m_client.aws_iam import AwsIam

from chalicelib.admin.provisioning import Provisioning
from chalicelib.oauth.assertion import AWS_SIGV4, ClientAssertion
from chalicelib.oauth.aws_iam import AwsIamMethod
from chalicelib.oauth.aws_sigv4 import StsReply, StsRequest, reconstruct
from chalicelib.oauth.client_secret import hash_secret, verify_secret
from chalicelib.store.memory import MemoryStore

ISSUER = "https://auth.example.com"
ROLE = "arn:aws:iam::123456789012:role/Billing"
ANSWER = StsReply(200, "application/json", (
    b'{"GetCallerIdentityResponse":{"GetCallerIdentityResult":{"Arn":'
    b'"arn:aws:sts::123456789012:assumed-role/Billing/session","Account":"123456789012"}}}'
))


class InstantSts:
    def call(self, request: StsRequest) -> StsReply:
        return ANSWER


class FixedSession:
    def get_credentials(self) -> Credentials:
        return Credentials("ASIAEXAMPLE0000001", "secret", "session-token" * 80)

    def get_config_variable(self, name: str) -> None:
        return None


def per_second(n: int, work: Callable[[int], object]) -> float:
    start = time.perf_counter()
    for i in range(n):
        work(i)
    return n / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=2000)
    n = parser.parse_args().requests

    store = MemoryStore()
    provisioning = Provisioning(store, time.time)
    app, _ = provisioning.create_app(name="Billing")
    provisioning.add_aws_principal(app.client_id, ROLE)
    client = AwsIam("us-east-1", session=FixedSession())  # type: ignore[arg-type]
    assertions = [client.assertion(ISSUER) for _ in range(n)]
    method = AwsIamMethod(store, InstantSts(), frozenset({"us-east-1"}))
    now = int(time.time())
    stored = hash_secret("m2msec_" + "x" * 43)

    sign = per_second(n, lambda i: client.assertion(ISSUER))
    rebuild = per_second(n, lambda i: reconstruct(assertions[i], ISSUER, frozenset({"us-east-1"}),
                                                  now))
    assertions = [client.assertion(ISSUER) for _ in range(n)]  # fresh: each is single-use
    full = per_second(n, lambda i: method.authenticate(
        ClientAssertion(AWS_SIGV4, assertions[i], None), ISSUER, now))
    secret = per_second(n, lambda i: verify_secret(stored, "m2msec_" + "x" * 43))

    print(f"client: sign an assertion          {sign:10.0f}/s")
    print(f"server: check and rebuild           {rebuild:10.0f}/s")
    print(f"server: aws_sigv4 without STS RTT   {full:10.0f}/s")
    print(f"server: client secret check         {secret:10.0f}/s")
    print(f"ratio secret check / aws_sigv4 (CPU only): {secret / full:.1f}x")
    print(f"assertion size: {len(assertions[0])} characters (limit 8192)")


if __name__ == "__main__":
    main()
