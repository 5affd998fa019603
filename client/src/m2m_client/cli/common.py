"""What every `m2m` command shares: options, the admin client, errors and exit codes.

Exit codes: 0 success, 1 the server refused (an API error, an unreachable endpoint, an
invalid token), 2 a usage error (click's own, a missing endpoint or credentials, a
destructive command without `--yes` and no terminal to ask on).
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import IO, Any, TypeVar
from urllib.parse import urlsplit

import click
import requests

from m2m_client.admin_http import (
    DEFAULT_TIMEOUT,
    AdminClient,
    ApiError,
    ConfigurationError,
    TransportError,
    is_loopback_endpoint,
)
from m2m_client.errors import KeySetError, M2MClientError, TokenEndpointError, TokenError

F = TypeVar("F", bound=Callable[..., Any])

EXIT_API = 1
EXIT_USAGE = 2


class Failure(click.ClickException):
    """A failure reported on stderr as `error: ...`, with optional detail lines."""

    def __init__(self, message: str, exit_code: int = EXIT_API, lines: Iterable[str] = ()) -> None:
        super().__init__(message)
        self.exit_code = exit_code  # type: ignore[misc]  # click sets a class default
        self.lines = list(lines)

    def show(self, file: IO[Any] | None = None) -> None:
        click.echo(f"error: {self.format_message()}", err=True)
        for line in self.lines:
            click.echo(f"  {line}", err=True)


def _network_cause(exc: BaseException) -> requests.RequestException | None:
    """The connection failure or timeout behind a library error, if that is what it is."""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, requests.ConnectionError | requests.Timeout):
            return seen
        seen = seen.__cause__
    return None


def unreachable(cause: requests.RequestException, endpoint: str | None,
                timeout: float) -> Failure:
    """What to check when nothing answered: `make local` for a loopback address, the
    endpoint and the network otherwise."""
    request = getattr(cause, "request", None)
    url = str(getattr(request, "url", None) or endpoint or "the endpoint")
    parts = urlsplit(url)
    origin = f"{parts.scheme}://{parts.netloc}" if parts.netloc else url
    lines = []
    if isinstance(cause, requests.Timeout) and not isinstance(cause, requests.ConnectTimeout):
        message = f"{origin} did not answer within {timeout:g} s"
        lines.append("a slow server or network: try a larger --timeout")
    elif is_loopback_endpoint(origin):
        port = parts.port or (443 if parts.scheme == "https" else 80)
        message = f"cannot connect to {origin}: is `make local` running on port {port}?"
        lines.append(f"start it in the repository with `make local PORT={port}`, or point "
                     "--endpoint / M2M_ENDPOINT at the port it printed")
    else:
        message = f"cannot connect to {origin}"
        lines.append("check --endpoint / M2M_ENDPOINT (host name, stage) and your network")
    return Failure(message, EXIT_API, lines)


def failure_from(exc: Exception, state: State | None = None) -> Failure:
    """Map the library's errors to what the CLI reports and the exit code it uses."""
    cause = _network_cause(exc)
    if cause is not None and isinstance(exc, TransportError | TokenError | KeySetError):
        return unreachable(cause, state.endpoint if state else None,
                           state.timeout if state else DEFAULT_TIMEOUT)
    if isinstance(exc, ApiError):
        heading = f"HTTP {exc.status}"
        if exc.title:
            heading += f" {exc.title}"
        lines = [f"{name}: {message}" if name else message for name, message in exc.errors]
        return Failure(f"{heading}: {exc.detail or 'the request failed'}", EXIT_API, lines)
    if isinstance(exc, ConfigurationError):
        return Failure(str(exc), EXIT_USAGE)
    if isinstance(exc, TokenEndpointError):
        return Failure(f"the token endpoint refused: {exc}", EXIT_API)
    if isinstance(exc, TransportError | TokenError):
        return Failure(str(exc), EXIT_API)
    return Failure(str(exc), EXIT_API)


class M2MGroup(click.Group):
    """The root group: turns the library's errors into messages and exit codes."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except M2MClientError as exc:
            raise failure_from(exc, ctx.find_object(State)) from exc


OUTPUTS = ("table", "json", "yaml")


@dataclass
class State:
    """The root options, and the admin client built from them on first use."""

    endpoint: str | None = None
    profile: str | None = None
    region: str | None = None
    timeout: float = DEFAULT_TIMEOUT
    output: str = "table"
    """How resources are printed: `table` (people), `json` or `yaml` (the server's data)."""
    verbose: bool = False
    _admin: AdminClient | None = None
    _chosen: set[str] = field(default_factory=set)

    @property
    def structured(self) -> bool:
        """The server's data on stdout (json, yaml) rather than tables and messages."""
        return self.output != "table"

    def choose_output(self, value: str, option: str) -> None:
        """`--output VALUE` or `--json`, before or after the command; two different
        choices in one command line are a usage error."""
        self._chosen.add(value)
        if len(self._chosen) > 1:
            raise click.UsageError(
                f"{option} conflicts with an earlier --output/--json "
                f"({' and '.join(sorted(self._chosen))})")
        self.output = value

    def emit(self, value: Any) -> None:
        """Print the server's data as JSON or YAML (`--output`)."""
        if self.output == "yaml":
            from m2m_client.declarative.document import dump_yaml  # PyYAML only when asked

            click.echo(dump_yaml(value), nl=False)
        else:
            click.echo(json.dumps(value, indent=2, ensure_ascii=False))

    def require_endpoint(self) -> str:
        if not self.endpoint:
            raise Failure("no endpoint: pass --endpoint URL or set M2M_ENDPOINT", EXIT_USAGE)
        return self.endpoint

    def admin(self) -> AdminClient:
        if self._admin is None:
            client = AdminClient.from_aws_config(
                self.require_endpoint(),
                profile=self.profile,
                region=self.region,
                timeout=self.timeout,
            )
            if not client.signed and self.verbose:  # built once: at most once per run
                click.echo(
                    f"note: no AWS credentials found; sending unsigned requests to "
                    f"{client.endpoint} (only the local server accepts them)",
                    err=True,
                )
            self._admin = client
        return self._admin


pass_state = click.make_pass_decorator(State, ensure=True)


def _set_json(ctx: click.Context, _param: click.Parameter, value: bool) -> None:
    if value:
        ctx.ensure_object(State).choose_output("json", "--json")


def _set_output(ctx: click.Context, _param: click.Parameter, value: str | None) -> None:
    if value is not None:
        ctx.ensure_object(State).choose_output(value, f"--output {value}")


def output_options(f: F) -> F:
    """`-o/--output table|json|yaml` and `--json` (`--output json`) on a command; also
    accepted before the command."""
    f = click.option(
        "--json",
        is_flag=True,
        expose_value=False,
        callback=_set_json,
        help="Same as --output json.",
    )(f)
    return click.option(
        "-o", "--output",
        type=click.Choice(OUTPUTS),
        expose_value=False,
        callback=_set_output,
        help="table (default), or the server's data as json or yaml.",
    )(f)


def list_options(f: F) -> F:
    f = click.option("--next", "next_cursor", metavar="CURSOR",
                     help="Start at this cursor (from a previous page).")(f)
    f = click.option("--all", "all_pages", is_flag=True, help="Follow `next` to the end.")(f)
    f = click.option("--limit", type=click.IntRange(1, 200), default=None,
                     help="Items per page (1-200; the server's default is 50).")(f)
    return output_options(f)


def if_match_option(f: F) -> F:
    return click.option(
        "--if-match",
        "if_match",
        type=click.IntRange(min=0),
        metavar="VERSION",
        help="Only if the item is still at this version (sends If-Match; 412 otherwise).",
    )(f)


def yes_option(f: F) -> F:
    return click.option("--yes", "-y", is_flag=True, help="Do not ask for confirmation.")(f)


def stdin_is_tty() -> bool:
    stream = sys.stdin
    return bool(stream is not None and stream.isatty())


def confirm(question: str, yes: bool) -> None:
    """Ask before destroying something; refuse (exit 2) when nobody can answer."""
    if yes:
        return
    if not stdin_is_tty():
        raise Failure(f"{question} Refusing without --yes: stdin is not a terminal.", EXIT_USAGE)
    click.confirm(question, abort=True, err=True)


def parse_json_object(text: str, option: str) -> dict[str, Any]:
    try:
        value = json.loads(text)
    except ValueError as exc:
        raise click.BadParameter(f"not JSON: {exc}", param_hint=option) from None
    if not isinstance(value, dict):
        raise click.BadParameter("must be a JSON object", param_hint=option)
    return value


def secret_warning() -> None:
    click.echo(
        "warning: store the client secret now; it is shown only once and cannot be "
        "retrieved again.",
        err=True,
    )
