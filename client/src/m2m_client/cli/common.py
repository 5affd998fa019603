"""What every `m2m` command shares: options, the admin client, errors and exit codes.

Exit codes: 0 success, 1 the server refused (an API error, an unreachable endpoint, an
invalid token), 2 a usage error (click's own, a missing endpoint or credentials, a
destructive command without `--yes` and no terminal to ask on).
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import IO, Any, TypeVar

import click

from m2m_client.admin_http import (
    DEFAULT_TIMEOUT,
    AdminClient,
    ApiError,
    ConfigurationError,
    TransportError,
)
from m2m_client.errors import M2MClientError, TokenEndpointError, TokenError

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


def failure_from(exc: Exception) -> Failure:
    """Map the library's errors to what the CLI reports and the exit code it uses."""
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
            raise failure_from(exc) from exc


@dataclass
class State:
    """The root options, and the admin client built from them on first use."""

    endpoint: str | None = None
    profile: str | None = None
    region: str | None = None
    timeout: float = DEFAULT_TIMEOUT
    json: bool = False
    _admin: AdminClient | None = None

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
            if not client.signed:
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
        ctx.ensure_object(State).json = True


def json_option(f: F) -> F:
    """`--json` on a command: the raw JSON on stdout (also accepted before the command)."""
    return click.option(
        "--json",
        is_flag=True,
        expose_value=False,
        callback=_set_json,
        help="Print the raw JSON answer instead of a table.",
    )(f)


def list_options(f: F) -> F:
    f = click.option("--next", "next_cursor", metavar="CURSOR",
                     help="Start at this cursor (from a previous page).")(f)
    f = click.option("--all", "all_pages", is_flag=True, help="Follow `next` to the end.")(f)
    f = click.option("--limit", type=click.IntRange(1, 200), default=None,
                     help="Items per page (1-200; the server's default is 50).")(f)
    return json_option(f)


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


def print_json(value: Any) -> None:
    click.echo(json.dumps(value, indent=2, ensure_ascii=False))


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
