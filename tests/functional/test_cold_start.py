"""Cold start: importing the app loads only what the token path needs."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

PROJECT = Path(__file__).resolve().parents[2]


def _modules_after(statement: str) -> set[str]:
    code = f"import json, sys; {statement}; print(json.dumps(sorted(sys.modules)))"
    out = subprocess.run(  # noqa: S603 - fixed interpreter and code
        [sys.executable, "-c", code], cwd=PROJECT, capture_output=True, text=True, check=True
    )
    return set(json.loads(out.stdout))


def test_import_app_loads_no_test_code_moto_or_aws_clients() -> None:
    modules = _modules_after("import app")
    roots = {m.split(".")[0] for m in modules}
    assert not roots & {"moto", "pytest", "tests", "werkzeug", "flask", "responses"}
    # AWS clients are built lazily, on the first request, by the composition root
    assert "boto3" not in roots and "chalicelib.store.dynamodb" not in modules


@pytest.mark.parametrize(
    "heavy",
    [
        "jwt",  # verification only (introspection, revocation)
        "cryptography.x509",  # PyJWT's import of it; nothing here parses certificates
        "cryptography.hazmat.primitives.serialization",  # key loading: first request
        "botocore",  # the adapters import it when they are built
        "boto3",
        # 17 frozen dataclasses (~20 ms): the admin views and validators import them
        # only under TYPE_CHECKING or inside the functions that build records
        "chalicelib.store.records",
        "chalicelib.store.repository",
        "chalicelib.store.memory",
        # issue 15: a frozen dataclass compiles its methods at import (~0.7 ms each); the
        # settings, the request types and the audit actor load on the first request
        # that needs them
        "chalicelib.config",
        "chalicelib.oauth.request",
        "chalicelib.admin.audit",
        "secrets",  # loads hashlib and OpenSSL (~4 ms): jti and audit ids, first request
        "http",  # HTTPStatus: an enum of every status, for Chalice's own rare errors
    ],
)
def test_import_app_does_not_load(heavy: str) -> None:
    assert heavy not in _modules_after("import app")



TOKEN_REQUESTS = """
import base64, json, sys
from chalice.test import Client
import app
from chalicelib import runtime
from chalicelib.config import Settings
from chalicelib.store.memory import MemoryStore
from chalicelib.store.records import KeyState
from tests.fakes import LocalKeySigner

signer = LocalKeySigner()
signer.add_rsa("k")
services = runtime.build_services(
    Settings.from_env({"TABLE_NAME": "t", "ISSUER": "https://auth.example.test"}),
    MemoryStore(), signer)
services.keyring.register("k", "RS256", KeyState.CURRENT)
runtime.install(services)
api = services.provisioning.create_api(name="A", identifier="https://api.example", scopes=["r"])
client, secret = services.provisioning.create_app(name="x")
services.provisioning.set_grant(client.client_id, api.api_id, ["r"])
basic = base64.b64encode(f"{client.client_id}:{secret.client_secret}".encode()).decode()
headers = {"Content-Type": "application/x-www-form-urlencoded", "Authorization": "Basic " + basic}
body = "grant_type=client_credentials&audience=https%3A%2F%2Fapi.example"
loaded = []
with Client(app.app) as test_client:
    assert test_client.http.post("/oauth/token", headers=headers, body=body).status_code == 200
    loaded.append("chalicelib.oauth.dpop_proof" in sys.modules)
    from tests.dpop_proofs import dpop_proof, es256_key
    url = "https://auth.example.test/oauth/token"
    proof = dpop_proof(es256_key(), url, int(__import__("time").time()))
    answer = test_client.http.post("/oauth/token", headers={**headers, "DPoP": proof}, body=body)
    assert json.loads(answer.body)["token_type"] == "DPoP", answer.body
    loaded.append("chalicelib.oauth.dpop_proof" in sys.modules)
print(json.dumps(loaded))
"""


def test_a_token_request_without_a_dpop_header_does_not_load_the_proof_checks() -> None:
    out = subprocess.run(  # noqa: S603 - fixed interpreter and code
        [sys.executable, "-c", TOKEN_REQUESTS], cwd=PROJECT, capture_output=True, text=True,
        check=True,
    )
    before, after = json.loads(out.stdout.splitlines()[-1])

    assert before is False  # a bearer request paid nothing for DPoP
    assert after is True  # the first request with a proof loads them
