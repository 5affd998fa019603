"""`m2m` when nothing answers: a short explanation on stderr and exit 1, never a trace
(no local server needed: closed and silent loopback ports, and a remote name that is
never looked up)."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest
import requests
from click.testing import CliRunner, Result
from m2m_localserver import offline_aws

from m2m_client.cli import cli
from m2m_client.cli.common import unreachable


@pytest.fixture(autouse=True)
def aws_env(monkeypatch: pytest.MonkeyPatch) -> None:
    offline_aws(monkeypatch)


def m2m(*args: str) -> Result:
    result = CliRunner().invoke(cli, list(args), catch_exceptions=False)
    assert result.exit_code == 1, (result.stdout, result.stderr)
    assert "Traceback" not in result.stderr + result.stdout
    return result


@pytest.fixture
def closed_port() -> int:
    with socket.socket() as sock:  # bound then closed: nothing listens there
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def silent_port() -> Iterator[int]:
    """A port that accepts connections (the kernel's backlog) and never answers."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(8)
        yield int(sock.getsockname()[1])


def test_an_admin_command_against_a_stopped_local_server_asks_for_make_local(
    closed_port: int,
) -> None:
    result = m2m("--endpoint", f"http://127.0.0.1:{closed_port}", "apps", "list")
    assert result.stderr.startswith(
        f"error: cannot connect to http://127.0.0.1:{closed_port}: is `make local` running on "
        f"port {closed_port}?")
    assert f"make local PORT={closed_port}" in result.stderr
    assert result.stdout == ""


def test_the_token_command_explains_the_same_without_retry_noise(closed_port: int) -> None:
    result = m2m("--endpoint", f"http://localhost:{closed_port}", "token", "--client-id", "a",
                 "--client-secret", "b", "--audience", "x")
    assert "is `make local` running" in result.stderr
    assert "retrying" not in result.stderr  # the library's warnings only with -v
    assert len(result.stderr.splitlines()) == 2


def test_a_server_that_never_answers_is_a_timeout_hint(silent_port: int) -> None:
    result = m2m("--endpoint", f"http://127.0.0.1:{silent_port}", "--timeout", "0.3",
                 "apis", "list")
    assert f"http://127.0.0.1:{silent_port} did not answer within 0.3 s" in result.stderr
    assert "--timeout" in result.stderr


def test_a_remote_endpoint_that_cannot_be_reached_points_at_the_endpoint_setting(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    url = "https://abc123.execute-api.eu-west-1.amazonaws.com/dev/admin/apis"

    def refuse(self: requests.Session, method: str, target: str, **kwargs: object) -> None:
        prepared = requests.Request(method, target).prepare()
        raise requests.ConnectionError("name resolution failed", request=prepared)

    monkeypatch.setattr(requests.Session, "request", refuse)  # no DNS lookup, no packet
    result = m2m("--endpoint", url.rsplit("/admin", 1)[0], "apis", "list")
    assert result.stderr.startswith(
        "error: cannot connect to https://abc123.execute-api.eu-west-1.amazonaws.com\n")
    assert "check --endpoint / M2M_ENDPOINT" in result.stderr
    assert "make local" not in result.stderr


def test_unreachable_falls_back_to_the_configured_endpoint_without_a_request_url() -> None:
    failure = unreachable(requests.ConnectionError("refused"), "http://127.0.0.1:8000", 5.0)
    assert "is `make local` running on port 8000?" in failure.format_message()
