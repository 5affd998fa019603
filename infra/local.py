"""``make local``: the whole service on 127.0.0.1 against an embedded AWS (moto).

Starts moto in-process, creates the table and a KMS key, seeds a demo API and
app, prints the demo credentials and a curl that gets a token, then serves
the Chalice app in the foreground until Ctrl-C. It binds to loopback only:
``chalice local`` does not enforce IAM, so nothing else may reach it.
"""

from __future__ import annotations

import os
import shlex
import sys
from pathlib import Path

from infra import local_gateway
from infra.local_aws import LOOPBACK, start_local_aws

PROJECT_DIR = Path(__file__).resolve().parent.parent
DEMO_AUDIENCE = "https://api.example.com/orders"


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

    factory = CLIFactory(str(PROJECT_DIR), environ=os.environ)
    config = factory.create_config_obj(chalice_stage_name="local")
    server = factory.create_local_server(config.chalice_app, config, LOOPBACK, port)
    local_gateway.install(server, config)  # unknown paths answered as API Gateway does
    server.serve_forever()


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

Demo API   {DEMO_AUDIENCE}  (scopes: orders:read orders:write)
Demo app   granted orders:read
  client_id      {client_id}
  client_secret  {client_secret}

Get a token:
  {curl}

Press Ctrl-C to stop.
""",
        flush=True,
    )
    try:
        serve(port)
    except KeyboardInterrupt:
        print("\nstopped", file=sys.stderr)
    finally:
        aws.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
