"""The README's quickstart, followed literally against a fresh local server.

The fenced ``sh`` blocks that follow a ``<!-- quickstart: server -->`` or
``<!-- quickstart -->`` line are taken out of README.md, in order:

- server blocks are the terminals that keep running: the one that says ``make local``
  is started the way the Makefile's ``local`` target runs it (``python -m infra.local``,
  which avoids re-running pip from a test); any other runs in the background in bash;
- the other blocks run in order in one bash session (the third terminal), with
  ``set -euo pipefail``, and with ``curl`` failing on HTTP errors (``--fail-with-body``),
  so a command that breaks, an unset variable or an error answer fails the test.

The one change to the README's text: its ports 8000 and 8001 become free ports, so the
test runs beside a ``make local`` of yours.
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.e2e.local_process import PROJECT, free_port, local_server, stop_process_group

pytestmark = pytest.mark.e2e

README = PROJECT / "README.md"
BLOCK = re.compile(r"^<!-- quickstart(?P<server>: server)? -->\n```sh\n(?P<code>.*?)\n```$",
                   re.MULTILINE | re.DOTALL)
README_PORTS = ("8000", "8001")  # the server's and the example API's, as the README says
HARNESS = """set -euo pipefail
curl() { command curl --fail-with-body "$@"; }  # an HTTP error fails the block
"""


@dataclass(frozen=True)
class Block:
    code: str
    server: bool


def quickstart_blocks(text: str) -> list[Block]:
    return [Block(m["code"], bool(m["server"])) for m in BLOCK.finditer(text)]


def with_ports(code: str, ports: dict[str, int]) -> str:
    for readme_port, port in ports.items():
        code = re.sub(rf"\b{readme_port}\b", str(port), code)
    return code


def clean_env() -> dict[str, str]:
    """The test's fake-AWS environment without anything that would point elsewhere."""
    return {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(("AWS_ENDPOINT_URL", "M2M_")) and name != "AWS_PROFILE"
    }


def wait_for_port(port: int, proc: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 90
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"server block did not start listening on {port}:\n{log.read_text()}")
            time.sleep(0.3)


@pytest.fixture
def blocks() -> list[Block]:
    found = quickstart_blocks(README.read_text())
    assert [b.server for b in found[:2]] == [True, True], "the quickstart starts two servers"
    assert found[0].code.strip() == "make local"
    assert sum(not b.server for b in found) >= 4
    return found


@pytest.fixture
def background(tmp_path: Path) -> Iterator[list[subprocess.Popen[bytes]]]:
    started: list[subprocess.Popen[bytes]] = []
    yield started
    for proc in started:
        stop_process_group(proc)


def _recipe(target: str) -> list[str]:
    makefile = (PROJECT / "Makefile").read_text()
    return makefile.split(f"\n{target}:", 1)[1].split("\n\n", 1)[0].splitlines()[1:]


def test_makefile_local_target_runs_infra_local() -> None:
    assert any("-m infra.local" in line for line in _recipe("local"))


def test_first_make_says_what_it_installs_and_how_long_before_installing() -> None:
    recipe = _recipe("$(STAMP)")
    first_install = next(n for n, line in enumerate(recipe) if "pip install" in line)
    said = " ".join(line for line in recipe[:first_install] if line.strip().startswith("@echo"))
    assert "install" in said and "minutes" in said


def test_readme_quickstart_blocks_run_in_order_as_written(
    blocks: list[Block], background: list[subprocess.Popen[bytes]], tmp_path: Path
) -> None:
    ports = {README_PORTS[0]: free_port(), README_PORTS[1]: free_port()}
    env = clean_env()
    demo_env = PROJECT / ".local" / f"demo-{ports[README_PORTS[0]]}.env"
    with local_server(tmp_path / "make-local.txt", port=ports[README_PORTS[0]]):
        assert demo_env.stat().st_mode & 0o077 == 0  # the demo secret: owner only
        for n, block in enumerate(b for b in blocks if b.server and b is not blocks[0]):
            code = with_ports(block.code, ports)
            port_in_block = [p for p in ports.values() if re.search(rf"\b{p}\b", code)]
            log = tmp_path / f"server-{n}.txt"
            with open(log, "w") as out:
                proc = subprocess.Popen(  # noqa: S603 - the README's own commands
                    ["bash", "-c", code], cwd=PROJECT, env=env, stdout=out,  # noqa: S607
                    stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True,
                )
            background.append(proc)
            wait_for_port(port_in_block[-1], proc, log)

        script = HARNESS + "\n".join(with_ports(b.code, ports) for b in blocks if not b.server)
        result = subprocess.run(  # noqa: S603 - the README's own commands
            ["bash", "-c", script], cwd=PROJECT, env=env, capture_output=True,  # noqa: S607
            text=True, stdin=subprocess.DEVNULL, timeout=300, check=False,
        )

    assert not demo_env.exists()  # removed when the server stopped
    assert result.returncode == 0, f"{result.stdout}\n{result.stderr}"
    assert '{"orders":[]}' in result.stdout  # step 3: the example API answered
    assert '"access_token"' in result.stdout
