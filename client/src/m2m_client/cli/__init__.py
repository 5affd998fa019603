"""`m2m`: the admin CLI of the m2m-auth server, plus token debugging.

Every admin request is signed with SigV4 for `execute-api` using the AWS CLI's credential
chain. `--output json|yaml` (or `--json`) prints the server's data; `-v` adds notes (such
as unsigned requests to a local server) and the library's retry warnings; exit codes: 0
ok, 1 API error or unreachable endpoint, 2 usage error (docs/cli.md).
"""

from __future__ import annotations

import logging

import click

from m2m_client import __version__
from m2m_client.admin_http import DEFAULT_TIMEOUT
from m2m_client.cli.admin import apis, apps, audit, grants, keys, secrets
from m2m_client.cli.app_keys import app_keys
from m2m_client.cli.aws_principals import aws_principal
from m2m_client.cli.common import M2MGroup, State, output_options
from m2m_client.cli.console import console
from m2m_client.cli.declarative import apply, export
from m2m_client.cli.exchange_policies import exchange_policies
from m2m_client.cli.federation import issuers
from m2m_client.cli.tls_clients import tls_clients
from m2m_client.cli.tokens import decode, token


@click.group(cls=M2MGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--endpoint", envvar="M2M_ENDPOINT", metavar="URL",
              help="Base URL of the service, e.g. https://{api-id}.execute-api.{region}"
                   ".amazonaws.com/{stage} or http://127.0.0.1:8000. [env: M2M_ENDPOINT]")
@click.option("--profile", envvar="AWS_PROFILE", help="AWS profile. [env: AWS_PROFILE]")
@click.option("--region", help="AWS region to sign for (default: from an execute-api host "
                               "name, AWS_REGION, AWS_DEFAULT_REGION or the profile).")
@click.option("--timeout", type=click.FloatRange(min=0.1), default=DEFAULT_TIMEOUT,
              show_default=True, help="Seconds per HTTP request.")
@click.option("-v", "--verbose", is_flag=True,
              help="Say more on stderr: unsigned requests to a local server, retries.")
@output_options
@click.version_option(__version__, prog_name="m2m")
@click.pass_context
def cli(
    ctx: click.Context,
    endpoint: str | None,
    profile: str | None,
    region: str | None,
    timeout: float,
    verbose: bool,
) -> None:
    """Administer an m2m-auth server, and get or check its tokens."""
    state = ctx.ensure_object(State)
    state.endpoint, state.profile, state.region, state.timeout = endpoint, profile, region, timeout
    state.verbose = verbose
    # The library logs a warning per retry; the CLI explains the final failure itself.
    # Restored when the command ends, so an in-process caller's logging is left as it was.
    library = logging.getLogger("m2m_client")
    previous = library.level
    library.setLevel(logging.INFO if verbose else logging.ERROR)
    ctx.call_on_close(lambda: library.setLevel(previous))


for command in (apis, apps, grants, exchange_policies, secrets, keys, audit, token, decode,
                issuers):
    cli.add_command(command)
apps.add_command(app_keys)  # m2m apps keys add|list|remove (private_key_jwt)
apps.add_command(aws_principal)
apps.add_command(tls_clients)  # m2m apps tls-clients add|list|remove (RFC 8705)
for command in (export, apply):  # declarative configuration (docs/declarative.md)
    cli.add_command(command)
cli.add_command(console)  # m2m console: the web admin console


def main() -> None:
    """The `m2m` console script."""
    cli(prog_name="m2m")


__all__ = ["cli", "main"]
