"""`m2m console`: the web admin console on 127.0.0.1, signing with your AWS credentials."""

from __future__ import annotations

import click

from m2m_client.admin_http import (
    ConfigurationError,
    check_endpoint,
    is_loopback_endpoint,
    signer_from_aws_config,
)
from m2m_client.cli.common import EXIT_USAGE, Failure, State, pass_state
from m2m_client.console.server import ConsoleServer, Upstream


@click.command("console")
@click.option("--port", type=click.IntRange(0, 65535), default=8765, show_default=True,
              help="Port on 127.0.0.1 (0: any free port).")
@pass_state
def console(state: State, port: int) -> None:
    """Serve the web admin console on 127.0.0.1 and print the URL to open.

    The console's admin calls go through this process, which signs them with SigV4 for
    execute-api from your AWS credential chain (--profile, --region), exactly like the
    other commands; the credentials never reach the browser. The printed URL carries a
    token that changes every run. Nothing is opened for you. Ctrl-C stops it.
    """
    endpoint = check_endpoint(state.require_endpoint())
    signer = signer_from_aws_config(endpoint, profile=state.profile, region=state.region)
    if signer is None and not is_loopback_endpoint(endpoint):
        raise ConfigurationError(
            "no AWS credentials found: configure them as for the AWS CLI "
            "(aws configure, AWS_PROFILE or --profile, or AWS_ACCESS_KEY_ID and "
            "AWS_SECRET_ACCESS_KEY)"
        )
    try:
        server = ConsoleServer(Upstream(endpoint, signer, state.timeout), port=port)
    except OSError as exc:
        raise Failure(f"cannot listen on 127.0.0.1:{port}: {exc.strerror}", EXIT_USAGE) from exc
    how = (f"signing as your AWS credentials for {signer.region}" if signer
           else "unsigned (no AWS credentials; only the local server accepts that)")
    click.echo(f"m2m console for {endpoint}, {how}.", err=True)
    click.echo("Open this URL in your browser (it carries this run's token; keep it private):",
               err=True)
    click.echo(server.url)
    click.echo("Press Ctrl-C to stop.", err=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        click.echo("stopped", err=True)
    finally:
        server.server_close()
