"""``make local``: the whole service on 127.0.0.1 against an embedded AWS (moto).

Starts moto in-process, creates the table and a KMS key, seeds a demo API (the
audience of the example API in ``examples/orders_api``) and a demo app, prints the
demo credentials and a curl that gets a token, writes the credentials to
``.local/demo-$PORT.env`` for your shell (deleted on exit: they die with the embedded
AWS), then serves the Chalice app in the foreground until Ctrl-C. It binds to loopback
only: ``chalice local`` does not enforce IAM, so nothing else may reach it.

With ``MTLS_PORT`` (``make local`` sets 8443; unset: any free port; ``off``: none) it
also serves the app over TLS with client certificates (RFC 8705, docs/mtls.md): a test
CA made on the fly, its certificates under ``.local/mtls-$PORT/`` (removed on exit), and
the demo app registered for the demo client certificate's subject DN.
"""

from __future__ import annotations

import os
import shlex
import shutil
import signal
import sys
import sysconfig
import threading
from pathlib import Path
from typing import TYPE_CHECKING

from infra.local_aws import LOOPBACK, start_local_aws

if TYPE_CHECKING:
    from chalice.config import Config

    from infra.local_mtls import MtlsFiles
    from infra.local_tls import TlsHTTPServer

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


def chalice_config() -> Config:
    from chalice.cli.factory import CLIFactory

    factory = CLIFactory(str(PROJECT_DIR), environ=os.environ)
    return factory.create_config_obj(chalice_stage_name="local")


def serve(config: Config, port: int) -> None:
    from infra.local_http import build_server

    build_server(config.chalice_app, config, LOOPBACK, port).serve_forever()


def mtls_server(config: Config, port: int) -> tuple[TlsHTTPServer, MtlsFiles] | None:
    """The TLS port (bound, not yet serving) and its certificates; ``None`` when
    ``MTLS_PORT=off``. A taken port falls back to a free one, like the console's."""
    from infra.local_http import build_server
    from infra.local_mtls import prepare, server_context
    from infra.local_tls import TlsHTTPServer

    wanted = os.environ.get("MTLS_PORT", "").strip()
    if wanted.lower() == "off":
        return None
    files = prepare(PROJECT_DIR / ".local" / f"mtls-{port}", LOOPBACK,
                    os.environ.get("MTLS_TRUSTSTORE") or None)
    try:
        server = build_server(config.chalice_app, config, LOOPBACK, int(wanted or 0),
                              server_cls=TlsHTTPServer)
    except OSError:
        print(f"note: MTLS_PORT {wanted} is taken; using a free one", file=sys.stderr)
        server = build_server(config.chalice_app, config, LOOPBACK, 0,
                              server_cls=TlsHTTPServer)
    tls = server.server
    if not isinstance(tls, TlsHTTPServer):
        raise RuntimeError("build_server ignored server_cls")
    tls.context = server_context(files)
    return tls, files


def register_demo_certificate(client_id: str) -> None:
    """The demo app authenticates with the demo client certificate too (tls_client_auth
    by its subject DN)."""
    from chalicelib import runtime
    from infra.local_mtls import DEMO_CLIENT_DN

    runtime.services().provisioning.add_tls_client(
        client_id, {"tls_client_auth_subject_dn": DEMO_CLIENT_DN}
    )


def write_demo_env(port: int, issuer: str, client_id: str, client_secret: str,
                   mtls: tuple[str, MtlsFiles] | None = None) -> Path:
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
    if mtls is not None:
        endpoint, files = mtls
        lines += [
            "# mutual TLS (docs/mtls.md): the TLS port, its test CA, the demo client cert",
            f"export M2M_MTLS_ENDPOINT={endpoint}",
            f"export M2M_CA={shlex.quote(_relative(files.ca))}",
            f"export M2M_CLIENT_CERT={shlex.quote(_relative(files.demo_certificate))}",
            f"export M2M_CLIENT_KEY={shlex.quote(_relative(files.demo_key))}",
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


def _mtls_banner(endpoint: str | None, files: MtlsFiles | None, client_id: str) -> str:
    if endpoint is None or files is None:
        return ""
    curl = " ".join([
        "curl -s", "--cacert", shlex.quote(_relative(files.ca)),
        "--cert", shlex.quote(_relative(files.demo_certificate)),
        "--key", shlex.quote(_relative(files.demo_key)),
        "-d grant_type=client_credentials", "-d", shlex.quote(f"client_id={client_id}"),
        "-d", shlex.quote(f"audience={DEMO_AUDIENCE}"), f"{endpoint}/oauth/token",
    ])
    return f"""
Mutual TLS (RFC 8705, docs/mtls.md): the same app on {endpoint}
  (client certificate optional; the test CA and certificates are in {_relative(files.directory)}/)
  A certificate-bound token for the demo app, authenticated by its certificate:
  {curl}
"""


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
    config = chalice_config()
    tls = mtls_server(config, port)
    mtls_endpoint = f"https://{LOOPBACK}:{tls[0].server_address[1]}" if tls else None
    if mtls_endpoint:  # before the services are built: they read it once
        os.environ["MTLS_ENDPOINT"] = mtls_endpoint
    client_id, client_secret = seed(issuer)
    if tls:
        register_demo_certificate(client_id)
        threading.Thread(target=tls[0].serve_forever, name="mtls", daemon=True).start()
    demo_env = write_demo_env(port, issuer, client_id, client_secret,
                              (mtls_endpoint, tls[1]) if tls and mtls_endpoint else None)
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
{_mtls_banner(mtls_endpoint, tls[1] if tls else None, client_id)}
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
        serve(config, port)
    except KeyboardInterrupt:
        print("\nstopped", file=sys.stderr)
    finally:
        demo_env.unlink(missing_ok=True)
        if tls:
            shutil.rmtree(tls[1].directory, ignore_errors=True)
        aws.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
