"""Start the service the way ``make local`` does (``python -m infra.local``), on a free
loopback port, with everything it prints captured in a file."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests

PROJECT = Path(__file__).resolve().parents[2]


@dataclass
class LocalProcess:
    base: str
    port: int
    log_path: Path

    def output(self) -> str:
        """Everything the server printed so far (stdout and stderr)."""
        return self.log_path.read_text()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def stop_process_group(proc: subprocess.Popen[bytes]) -> None:
    """Ctrl-C the whole group (as a terminal would), then make sure it is gone."""
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGINT)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=15)


@contextmanager
def local_server(log_path: Path, port: int | None = None) -> Iterator[LocalProcess]:
    """`python -m infra.local` until the block ends; ready when it answers the JWKS."""
    port = port or free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_ENDPOINT_URL")}
    env["PORT"] = str(port)
    with open(log_path, "w") as out:
        proc = subprocess.Popen(  # noqa: S603 - our own module, fixed arguments
            [sys.executable, "-m", "infra.local"], cwd=PROJECT, env=env,
            stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
        )
    server = LocalProcess(f"http://127.0.0.1:{port}", port, log_path)
    try:
        deadline = time.monotonic() + 120
        while True:
            if "Press Ctrl-C" in server.output():
                try:
                    requests.get(server.base + "/.well-known/jwks.json", timeout=5)
                    break
                except requests.ConnectionError:
                    pass
            if proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"local server did not start:\n{server.output()}")
            time.sleep(0.3)
        yield server
    finally:
        stop_process_group(proc)
