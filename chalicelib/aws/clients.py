"""boto3 clients, built once per container by the composition root (never at import
time of a module, so tests choose their backend first)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


def aws_clients(region: str) -> tuple[Any, Any]:
    """DynamoDB and KMS clients with tight timeouts and few retries (a token
    request should fail fast rather than hang a Lambda)."""
    import boto3
    from botocore.config import Config

    config = Config(
        connect_timeout=2,
        read_timeout=5,
        retries={"max_attempts": 3, "mode": "standard"},
        tcp_keepalive=True,
    )
    session = boto3.session.Session(region_name=region)
    return session.client("dynamodb", config=config), session.client("kms", config=config)


def regional_kms_clients() -> Callable[[str], Any]:
    """KMS clients of the stage's other regions, built on first use (the rotation
    replicates keys and checks replicas there)."""
    import boto3
    from botocore.config import Config

    clients: dict[str, Any] = {}
    config = Config(connect_timeout=2, read_timeout=5,
                    retries={"max_attempts": 3, "mode": "standard"})

    def client_for(region: str) -> Any:
        if region not in clients:
            clients[region] = boto3.session.Session(region_name=region).client(
                "kms", config=config)
        return clients[region]

    return client_for
