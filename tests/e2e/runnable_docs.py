"""Run a page's runnable blocks, in order, as written, against a fresh local server.

The convention, for README.md and every page under docs/ (docs/contributing.md says it
for writers):

- ``<!-- quickstart -->`` on the line before a fenced ``sh`` block: run it. The page's
  blocks run in order in one bash session (a reader's terminal), started in the
  repository root, with ``set -euo pipefail`` and ``curl`` failing on HTTP errors
  (``--fail-with-body``), so a command that breaks, an unset variable or an error answer
  fails the page; a ``curl`` that writes out ``%{http_code}`` shows the status itself
  and is left alone (a page showing a 403 or a 429 on purpose). Before a fenced
  ``python`` block it runs that code with ``python -`` in the same session (a script
  that sees the exported variables, as yours would).
- ``<!-- quickstart: server -->`` before an ``sh`` block: a terminal that keeps running.
  ``make local`` is the server the harness has already started (``python -m infra.local``,
  as the Makefile's ``local`` target runs it, without re-running pip); any other runs in
  the background in bash, and the page goes on once it listens on the last port it names.

Every page gets its own fresh server, so pages never depend on each other. The one change
to a page's text: the ports 8000 (the server) and 8001 (the example API) become free
ports, so the test runs beside a ``make local`` of yours. A page must leave the checkout
as it found it (files it makes belong in a scratch directory).
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.e2e.local_process import PROJECT, free_port, local_server, stop_process_group

MARKER = re.compile(r"^<!-- quickstart(?P<server>: server)? -->$", re.MULTILINE)
BLOCK = re.compile(
    r"^<!-- quickstart(?P<server>: server)? -->\n```(?P<lang>sh|python)\n(?P<code>.*?)\n```$",
    re.MULTILINE | re.DOTALL,
)
PAGE_PORTS = ("8000", "8001")  # the server's and the example API's, as the pages say
# An HTTP error fails the block, except for a curl that writes out %{http_code}: the
# page shows the status itself (a 401, 403 or 429 it means to show).
HARNESS = """set -euo pipefail
curl() {
  case "$*" in
    *'%{http_code}'*) command curl "$@" ;;
    *) command curl --fail-with-body "$@" ;;
  esac
}
"""
PYTHON_END = "M2M_DOCS_PYTHON_BLOCK"


@dataclass(frozen=True)
class Block:
    code: str
    server: bool
    lang: str = "sh"

    def as_shell(self) -> str:
        if self.lang == "python":
            return f"python - <<'{PYTHON_END}'\n{self.code}\n{PYTHON_END}"
        return self.code


@dataclass(frozen=True)
class PageRun:
    stdout: str
    stderr: str
    returncode: int
    demo_env: Path


def runnable_blocks(text: str) -> list[Block]:
    return [Block(m["code"], bool(m["server"]), m["lang"]) for m in BLOCK.finditer(text)]


def stray_markers(text: str) -> int:
    """Markers not followed by a block the harness runs (a typo would silently skip one)."""
    return len(MARKER.findall(text)) - len(BLOCK.findall(text))


def is_make_local(block: Block) -> bool:
    return block.server and block.code.strip() == "make local"


def with_ports(code: str, ports: dict[str, int]) -> str:
    for page_port, port in ports.items():
        code = re.sub(rf"\b{page_port}\b", str(port), code)
    return code


def clean_env() -> dict[str, str]:
    """The test's fake-AWS environment without anything that would point elsewhere."""
    return {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(("AWS_ENDPOINT_URL", "M2M_")) and name != "AWS_PROFILE"
    }


def checkout_state() -> str:
    """What git sees as changed or new in the checkout (ignored files excluded); empty
    outside a git checkout (a source tarball), where there is nothing to compare."""
    status = subprocess.run(
        ["git", "status", "--porcelain", "--untracked-files=all"],  # noqa: S607
        cwd=PROJECT, capture_output=True, text=True, check=False,
    )
    return status.stdout if status.returncode == 0 else ""


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


@contextmanager
def background_servers(
    blocks: list[Block], ports: dict[str, int], env: dict[str, str], logs: Path
) -> Iterator[None]:
    started: list[subprocess.Popen[bytes]] = []
    try:
        for n, block in enumerate(b for b in blocks if b.server and not is_make_local(b)):
            code = with_ports(block.code, ports)
            port_in_block = [p for p in ports.values() if re.search(rf"\b{p}\b", code)]
            assert port_in_block, f"server block names no port it listens on:\n{block.code}"
            log = logs / f"server-{n}.txt"
            with open(log, "w") as out:
                proc = subprocess.Popen(  # noqa: S603 - the page's own commands
                    ["bash", "-c", code], cwd=PROJECT, env=env, stdout=out,  # noqa: S607
                    stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True,
                )
            started.append(proc)
            wait_for_port(port_in_block[-1], proc, log)
        yield
    finally:
        for proc in started:
            stop_process_group(proc)


def run_page(blocks: list[Block], logs: Path, timeout: float = 300) -> PageRun:
    """Start a fresh local server, then the page's other servers, then its blocks."""
    ports = {page_port: free_port() for page_port in PAGE_PORTS}
    env = clean_env()
    demo_env = PROJECT / ".local" / f"demo-{ports[PAGE_PORTS[0]]}.env"
    script = HARNESS + "\n".join(
        with_ports(b.as_shell(), ports) for b in blocks if not b.server
    )
    with ExitStack() as stack:
        stack.enter_context(local_server(logs / "make-local.txt", port=ports[PAGE_PORTS[0]]))
        assert demo_env.stat().st_mode & 0o077 == 0  # the demo secret: owner only
        stack.enter_context(background_servers(blocks, ports, env, logs))
        result = subprocess.run(  # noqa: S603 - the page's own commands
            ["bash", "-c", script], cwd=PROJECT, env=env, capture_output=True,  # noqa: S607
            text=True, stdin=subprocess.DEVNULL, timeout=timeout, check=False,
        )
    return PageRun(result.stdout, result.stderr, result.returncode, demo_env)
