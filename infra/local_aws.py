"""An embedded AWS for local mode and end-to-end tests: moto's server on loopback,
holding the table and a KMS signing key. No request leaves the machine."""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

OFFLINE_ENV = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_REGION": "us-east-1",
    "AWS_EC2_METADATA_DISABLED": "true",
}
TABLE_NAME = "m2m-auth-local"
KEY_ALIAS = "alias/m2m-auth-local-signing"
LOOPBACK = "127.0.0.1"


def force_offline_environment() -> None:
    """Fake credentials and a fixed region: nothing can authenticate to real AWS."""
    os.environ.update(OFFLINE_ENV)
    for name in ("AWS_PROFILE", "AWS_ENDPOINT_URL_DYNAMODB", "AWS_ENDPOINT_URL_KMS"):
        os.environ.pop(name, None)
    os.environ["AWS_CONFIG_FILE"] = os.devnull
    os.environ["AWS_SHARED_CREDENTIALS_FILE"] = os.devnull


class SerialisedWsgi:
    """A WSGI app that runs one request at a time, response body included.

    moto's backends are not thread-safe (its ``TransactWriteItems`` copies and restores
    the whole table without a lock), while DynamoDB and KMS make each request atomic.
    Serialising moto's requests gives every client of the embedded AWS (the app, the
    seeding code, tests that create KMS keys directly) DynamoDB's per-request atomicity.
    """

    def __init__(self, app: Callable[..., Iterable[bytes]]) -> None:
        self._app = app
        self._lock = threading.Lock()

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
        with self._lock:
            result = self._app(environ, start_response)
            try:
                return [b"".join(result)]
            finally:
                close = getattr(result, "close", None)
                if close is not None:
                    close()


class EmbeddedMoto:
    """moto's server on a loopback port, in a daemon thread, one request at a time
    (what ``moto.server.ThreadedMotoServer`` does, with `SerialisedWsgi` around the app)."""

    def __init__(self) -> None:
        from moto.moto_server.werkzeug_app import (
            DomainDispatcherApplication,
            MotoRequestHandler,
            create_backend_app,
        )
        from werkzeug.serving import make_server

        app = SerialisedWsgi(DomainDispatcherApplication(create_backend_app))
        self._server = make_server(
            LOOPBACK, 0, app, threaded=True, request_handler=MotoRequestHandler
        )
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def start(self) -> None:
        self._thread.start()

    def get_host_and_port(self) -> tuple[str, int]:
        host, port = self._server.server_address[:2]
        return str(host), int(port)

    def stop(self) -> None:
        self._server.shutdown()
        self._thread.join()


@dataclass
class LocalAws:
    endpoint: str
    table_name: str
    key_id: str
    server: Any

    def stop(self) -> None:
        self.server.stop()


def start_local_aws(alg_key_spec: str = "RSA_2048") -> LocalAws:
    """Start moto in a thread on 127.0.0.1 (free port), point botocore at it
    (``AWS_ENDPOINT_URL``), create the table and a signing key."""
    import boto3

    from chalicelib.store.schema import create_table

    force_offline_environment()
    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # moto's per-request access log
    server = EmbeddedMoto()
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    os.environ["AWS_ENDPOINT_URL"] = endpoint

    create_table(boto3.client("dynamodb"), TABLE_NAME)
    kms = boto3.client("kms")
    key = kms.create_key(
        KeySpec=alg_key_spec,
        KeyUsage="SIGN_VERIFY",
        Description="m2m-auth local signing key",
        Tags=[{"TagKey": "m2m-auth", "TagValue": "signing-key"}],
    )["KeyMetadata"]
    kms.create_alias(AliasName=KEY_ALIAS, TargetKeyId=key["KeyId"])
    return LocalAws(endpoint=endpoint, table_name=TABLE_NAME, key_id=key["Arn"], server=server)
