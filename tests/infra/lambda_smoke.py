"""Run by tests/infra/test_lambda_python.py under the Lambda's Python, as a script:
the unzipped artifact goes through one SnapStart lifecycle and answers a token
request, on in-memory fakes (no AWS, no network).

    python -I -S lambda_smoke.py <unzipped artifact> <AWS SDK directory>

``-I -S``: nothing but the standard library, the artifact and the SDK (which the
Lambda runtime provides, after the function's code on ``sys.path``) can be
imported, so a compiled module missing from the zip or built for another Python
fails here. Prints one JSON line: what the test checks.
"""

from __future__ import annotations

import base64
import json
import os
import sys
import types
from typing import Any


def main(task_dir: str, sdk_dir: str) -> dict[str, Any]:
    sys.path[:0] = [task_dir, sdk_dir]
    os.environ.update(AWS_DEFAULT_REGION="us-east-1", AWS_REGION="us-east-1",
                      AWS_EC2_METADATA_DISABLED="true", TABLE_NAME="smoke",
                      ISSUER="https://auth.example.test")
    # The Lambda runtime's snapshot_restore_py, faked: the hooks app.py registers.
    hooks: dict[str, list[Any]] = {"before": [], "after": []}
    fake = types.ModuleType("snapshot_restore_py")
    fake.register_before_snapshot = hooks["before"].append  # type: ignore[attr-defined]
    fake.register_after_restore = hooks["after"].append  # type: ignore[attr-defined]
    sys.modules["snapshot_restore_py"] = fake

    import app  # the handler module, as Lambda imports it (INIT)
    from chalicelib import runtime

    preloaded = "boto3" in sys.modules
    for hook in hooks["before"]:  # Lambda snapshots the initialised function...
        hook()
    snapshot_modules = set(sys.modules)
    for hook in hooks["after"]:  # ...and restores a container from it
        hook()

    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import padding, rsa

    from chalicelib.config import Settings
    from chalicelib.store.memory import MemoryStore
    from chalicelib.store.records import KeyState
    from chalicelib.tokens.signer import PublicKeyInfo

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)

    class Signer:
        def sign(self, key_id: str, alg: str, message: bytes) -> bytes:
            return key.sign(message, padding.PKCS1v15(), hashes.SHA256())

        def public_key(self, key_id: str) -> PublicKeyInfo:
            der = key.public_key().public_bytes(
                serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
            return PublicKeyInfo(key_arn=key_id, key_spec="RSA_2048", key_usage="SIGN_VERIFY",
                                 signing_algorithms=("RSASSA_PKCS1_V1_5_SHA_256",), der=der)

        describe = public_key

    services = runtime.build_services(Settings.from_env(), MemoryStore(), Signer())
    services.keyring.register("smoke-key", "RS256", KeyState.CURRENT)
    api = services.provisioning.create_api(
        name="Orders", identifier="https://api.example.com/orders",
        scopes=[{"value": "orders:read", "description": "Read"}])
    client, secret = services.provisioning.create_app(name="Billing")
    services.provisioning.set_grant(client.client_id, api.api_id, ["orders:read"])
    runtime.install(services)

    response = app.app(_token_event(client.client_id, secret.client_secret), _Context())
    body = json.loads(response["body"])
    claims: dict[str, Any] = {}
    if response["statusCode"] == 200:
        import jwt

        claims = jwt.decode(body["access_token"], key.public_key(), algorithms=["RS256"],
                            audience="https://api.example.com/orders")
    return {
        "python": list(sys.version_info[:2]),
        "status": response["statusCode"],
        "body_keys": sorted(body),
        "claims": {k: claims[k] for k in ("iss", "aud", "scope") if k in claims},
        "hooks": [len(hooks["before"]), len(hooks["after"])],
        "boto3_before_snapshot": [preloaded, "boto3" in snapshot_modules],
        "files": {name: getattr(sys.modules.get(name), "__file__", None)
                  for name in ("cryptography", "_cffi_backend", "jwt", "chalicelib", "boto3")},
    }


def _token_event(client_id: str, client_secret: str) -> dict[str, Any]:
    """An API Gateway REST proxy event for ``POST /oauth/token`` (client_secret_basic)."""
    basic = base64.b64encode(f"{client_id}:{client_secret}".encode()).decode()
    headers = {"Content-Type": "application/x-www-form-urlencoded",
               "Authorization": f"Basic {basic}", "Host": "abc123.execute-api.example"}
    body = "grant_type=client_credentials&audience=https%3A%2F%2Fapi.example.com%2Forders"
    return {
        "resource": "/oauth/token", "path": "/oauth/token", "httpMethod": "POST",
        "headers": headers, "multiValueHeaders": {k: [v] for k, v in headers.items()},
        "queryStringParameters": None, "multiValueQueryStringParameters": None,
        "pathParameters": None, "stageVariables": None, "body": body, "isBase64Encoded": False,
        "requestContext": {
            "resourcePath": "/oauth/token", "httpMethod": "POST", "path": "/dev/oauth/token",
            "stage": "dev", "domainName": "abc123.execute-api.example", "requestId": "smoke-1",
            "identity": {"sourceIp": "198.51.100.7", "userArn": None},
        },
    }


class _Context:
    function_name = "m2m-auth-dev-api"
    function_version = "1"
    aws_request_id = "smoke-1"
    memory_limit_in_mb = 512
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:m2m-auth-dev-api:live"

    def get_remaining_time_in_millis(self) -> int:
        return 10_000


if __name__ == "__main__":
    print(json.dumps(main(sys.argv[1], sys.argv[2])))
