"""``make local``: the whole service on 127.0.0.1 against an embedded AWS (moto).

Starts moto in-process, creates the table and a KMS key, seeds a demo API (the
audience of the example API in ``examples/orders_api``) and a demo app, prints the
demo credentials and a curl that gets a token, writes the credentials to
``.local/demo-$PORT.env`` for your shell (deleted on exit: they die with the embedded
AWS), then serves the Chalice app in the foreground until Ctrl-C. It binds to loopback
only: ``chalice local`` does not enforce IAM, so nothing else may reach it.
"""

from __future__ import annotations

import os
import shlex
import signal
import sys
import sysconfig
from pathlib import Path

from infra.local_aws import LOOPBACK, start_local_aws

PROJECT_DIR = Path(__file__).resolve().parent.parent
# The example API (examples/orders_api) is started with this audience in the README.
DEMO_AUDIENCE = "https://api.example.com/orders"
EXAMPLE_API_PORT = 8001


def seed(issuer: str) -> tuple[str, str]:
    """Register the signing key and create the demo API, app and grant."""
    from chalicelib import runtime
    from chalicelib.store.records import KeyState

    services = runtime.services()
    services.keyring.register(
        os.environ["SIGNING_KEY_ID"], services.settings.bootstrap_key_alg, KeyState.CURRENT
    )
    provisioning = services.provisioning
    api = provisioning.create_api(
        name="Orders API (demo)",
        identifier=DEMO_AUDIENCE,
        scopes=[
            {"value": "orders:read", "description": "Read orders"},
            {"value": "orders:write", "description": "Create and change orders"},
        ],
    )
    app, secret = provisioning.create_app(name="Demo service", description="Seeded by make local")
    provisioning.set_grant(app.client_id, api.api_id, ["orders:read"])
    return app.client_id, secret.client_secret


def serve(port: int) -> None:
    from chalice.cli.factory import CLIFactory

    from infra.local_http import build_server

    factory = CLIFactory(str(PROJECT_DIR), environ=os.environ)
    config = factory.create_config_obj(chalice_stage_name="local")
    build_server(config.chalice_app, config, LOOPBACK, port).serve_forever()


def write_demo_env(port: int, issuer: str, client_id: str, client_secret: str) -> Path:
    """The demo app's credentials as a shell file (0600) for `. .local/demo-PORT.env`.

    It also puts this interpreter's scripts directory (`.venv/bin` under `make local`)
    first on `PATH`, so `m2m` and a `python` that imports `m2m_client` work in that shell.
    """
    directory = PROJECT_DIR / ".local"
    directory.mkdir(mode=0o700, exist_ok=True)
    path = directory / f"demo-{port}.env"
    lines = [
        f"# m2m-auth local mode on port {port}: the demo app. Valid while that server runs",
        "# (its AWS is in memory); deleted when it stops. Use it with: . " + _relative(path),
        f"export M2M_ENDPOINT={issuer}",
        f"export M2M_ISSUER={issuer}",
        f"export M2M_AUDIENCE={DEMO_AUDIENCE}",
        f"export M2M_CLIENT_ID={shlex.quote(client_id)}",
        f"export M2M_CLIENT_SECRET={shlex.quote(client_secret)}",
        "# m2m and the python that has m2m_client (.venv/bin), first on PATH",
        f'export PATH={shlex.quote(sysconfig.get_path("scripts"))}:"$PATH"',
    ]
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as out:
        out.write("\n".join(lines) + "\n")
    return path


def _relative(path: Path) -> str:
    return str(path.relative_to(PROJECT_DIR))


def start_console(issuer: str) -> str:
    """The web console (the same proxy as `m2m console`, with its Host, token, origin and
    route checks) on CONSOLE_PORT (0 or unset: any free port), forwarding unsigned: local
    mode has no IAM. Its URL, with this run's token."""
    from m2m_client.console import ConsoleServer, Upstream, serve_in_thread

    port = int(os.environ.get("CONSOLE_PORT") or 0)
    try:
        console = ConsoleServer(Upstream(issuer, None), port=port)
    except OSError:  # taken (another make local?): any free port rather than no console
        print(f"note: console port {port} is taken; using a free one", file=sys.stderr)
        console = ConsoleServer(Upstream(issuer, None), port=0)
    serve_in_thread(console)
    return console.url


def main() -> int:
    port = int(os.environ.get("PORT", "8000"))
    aws = start_local_aws()
    issuer = f"http://{LOOPBACK}:{port}"
    os.environ.update(
        {
            "TABLE_NAME": aws.table_name,
            "SIGNING_KEY_ID": aws.key_id,
            "ISSUER": issuer,
            "M2M_LOCAL_MODE": "1",
        }
    )
    client_id, client_secret = seed(issuer)
    demo_env = write_demo_env(port, issuer, client_id, client_secret)
    console_url = start_console(issuer)
    curl = " ".join(
        [
            "curl -s",
            "-u", shlex.quote(f"{client_id}:{client_secret}"),
            "-d grant_type=client_credentials",
            "-d", shlex.quote(f"audience={DEMO_AUDIENCE}"),
            f"{issuer}/oauth/token",
        ]
    )
    print(
        f"""
m2m-auth local mode — embedded AWS (moto) at {aws.endpoint}, nothing leaves this machine.
Serving on {issuer} (loopback only: IAM is NOT enforced on admin routes in local mode).

  Issuer     {issuer}
  Token URL  {issuer}/oauth/token
  JWKS       {issuer}/.well-known/jwks.json
  Metadata   {issuer}/.well-known/oauth-authorization-server

Demo API   {DEMO_AUDIENCE}  (scopes: orders:read orders:write; the example API's audience)
Demo app   granted orders:read
  client_id      {client_id}
  client_secret  {client_secret}
  for your shell: . {_relative(demo_env)}   (M2M_CLIENT_ID, M2M_CLIENT_SECRET, ...)

Get a token:
  {curl}

Web console (admin pages; the URL carries this run's token):
  Console    {console_url}

Call the example API (docs/getting-started.md): start it in another terminal with
  cd examples/orders_api && M2M_ISSUER={issuer} M2M_AUDIENCE={DEMO_AUDIENCE} \\
    ../../.venv/bin/chalice local --stage local --port {EXAMPLE_API_PORT}

Press Ctrl-C to stop.
""",
        flush=True,
    )
    # `kill` as well as Ctrl-C ends in the `finally` below (the demo file is removed).
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    try:
        serve(port)
    except KeyboardInterrupt:
        print("\nstopped", file=sys.stderr)
    finally:
        demo_env.unlink(missing_ok=True)
        aws.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
