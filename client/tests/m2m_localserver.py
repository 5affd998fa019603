"""The whole service on loopback, started the way `make local` does, for the CLI and
key-rotation tests. Nothing leaves the machine: the server embeds moto, and the tests'
own AWS environment is fake credentials with instance metadata disabled."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests

PROJECT = Path(__file__).resolve().parents[2]
DEMO_AUDIENCE = "https://api.example.com/orders"

# What `make test` sets: fake credentials, a fixed region, no instance metadata,
# no shared files and no endpoint overrides.
OFFLINE_AWS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_REGION": "us-east-1",
    "AWS_EC2_METADATA_DISABLED": "true",
    "AWS_CONFIG_FILE": os.devnull,
    "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
}
# Never inherited by a test: they would point the CLI elsewhere or change its identity.
CLEARED = (
    "AWS_PROFILE",
    "AWS_DEFAULT_PROFILE",
    "AWS_ROLE_ARN",
    "AWS_WEB_IDENTITY_TOKEN_FILE",
    "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
    "AWS_CONTAINER_CREDENTIALS_FULL_URI",
    "M2M_ENDPOINT",
    "M2M_CLIENT_ID",
    "M2M_CLIENT_SECRET",
)


def offline_aws(mp: pytest.MonkeyPatch) -> None:
    """Fake AWS credentials in this process (client/tests has no root conftest)."""
    for name in list(os.environ):
        if name.startswith("AWS_ENDPOINT_URL") or name in CLEARED:
            mp.delenv(name, raising=False)
    for name, value in OFFLINE_AWS.items():
        mp.setenv(name, value)


@dataclass
class LocalServer:
    base: str
    moto_endpoint: str
    banner: str

    def kms(self) -> Any:
        """A boto3 KMS client of the server's embedded moto (fake credentials)."""
        import boto3

        return boto3.client(
            "kms",
            endpoint_url=self.moto_endpoint,
            region_name="us-east-1",
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )

    def create_kms_key(self) -> str:
        """A new RSA_2048 SIGN_VERIFY key in the embedded KMS; its ARN."""
        metadata = self.kms().create_key(
            KeySpec="RSA_2048",
            KeyUsage="SIGN_VERIFY",
            Description="m2m-auth client test: next signing key",
            Tags=[{"TagKey": "m2m-auth", "TagValue": "signing-key"}],
        )["KeyMetadata"]
        return str(metadata["Arn"])


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def local_server(log_dir: Path) -> Iterator[LocalServer]:
    """`python -m infra.local` on a free port, until the block ends (as tests/e2e does)."""
    if not (PROJECT / "infra" / "local.py").is_file():
        pytest.skip("needs the m2m-auth repository (infra/local.py) beside client/")
    pytest.importorskip("chalice")
    pytest.importorskip("moto")
    port = _free_port()
    log_path = log_dir / "local-server.txt"
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("AWS_ENDPOINT_URL") and k not in CLEARED
    }
    env["PORT"] = str(port)
    with open(log_path, "w") as out:
        proc = subprocess.Popen(  # noqa: S603 - our own module, fixed arguments
            [sys.executable, "-m", "infra.local"],
            cwd=PROJECT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:  # ready when it answers
            try:
                if requests.get(base + "/.well-known/jwks.json", timeout=2).status_code == 200:
                    break
            except requests.ConnectionError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"local server did not start:\n{log_path.read_text()}")
            time.sleep(0.2)
        banner = log_path.read_text()
        moto = re.search(r"embedded AWS \(moto\) at (http://127\.0\.0\.1:\d+)", banner)
        assert moto, banner
        yield LocalServer(base, moto[1], banner)
    finally:
        os.killpg(proc.pid, signal.SIGINT)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)
