"""`.local/demo-$PORT.env` (infra/local.py) gives the quickstart shell the demo app and
the tools: after sourcing it, `m2m` and a `python` that imports `m2m_client` are the
ones of this environment, even from a shell whose PATH has neither."""

from __future__ import annotations

import socket
import subprocess
import sysconfig
from pathlib import Path

from infra.local import write_demo_env


def _unused_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_sourcing_the_demo_env_puts_m2m_and_the_client_library_on_path(tmp_path: Path) -> None:
    path = write_demo_env(_unused_port(), "http://127.0.0.1:1", "a" * 26, "m2msec_x'y")
    try:
        shell = subprocess.run(  # noqa: S603 - fixed arguments, our own file
            ["/usr/bin/env", "-i", f"HOME={tmp_path}", "PATH=/usr/bin:/bin", "bash", "-c",
             f". {path} && command -v m2m && m2m --version"
             " && python -c 'import m2m_client, sys; print(sys.prefix)'"
             ' && echo "$M2M_CLIENT_SECRET"'],
            capture_output=True, text=True, timeout=60, check=False,
        )
        mode = path.stat().st_mode
    finally:
        path.unlink()

    assert shell.returncode == 0, shell.stderr
    m2m, version, prefix, secret = shell.stdout.splitlines()
    scripts = Path(sysconfig.get_path("scripts"))
    assert Path(m2m) == scripts / "m2m"
    assert "version" in version
    assert (Path(prefix) / "bin") == scripts
    assert secret == "m2msec_x'y"  # quoted for the shell
    assert mode & 0o077 == 0
