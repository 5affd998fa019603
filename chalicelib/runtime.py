"""Composition root: builds the AWS clients and services once per container, lazily.

Nothing is built at import time, so tests choose the backend (moto, Stubber,
in-memory fakes) before the first request, and ``reset()`` starts over.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .admin.federation import FederationAdmin
from .admin.keys import KeyAdmin, ScheduledRotation
from .admin.provisioning import Provisioning
from .config import Settings
from .federation.jwks_fetch import IssuerKeys
from .federation.safe_http import SafeFetcher
from .oauth.assertion import AssertionMethod
from .oauth.client_auth import ClientAuthenticator
from .oauth.federated import FederatedTokenAuth
from .oauth.grant import ClientCredentialsGrant
from .oauth.introspection import Introspection
from .oauth.metadata import Discovery
from .oauth.revocation import Revocation
from .store.repository import Store
from .tokens.issuer import TokenIssuer
from .tokens.keyring import KeyRing
from .tokens.kms_keys import KeyFactory
from .tokens.signer import Signer
from .tokens.verify import OwnTokenVerifier


@dataclass(frozen=True)
class Services:
    settings: Settings
    store: Store
    signer: Signer
    keyring: KeyRing
    token: ClientCredentialsGrant
    introspection: Introspection
    revocation: Revocation
    discovery: Discovery
    provisioning: Provisioning
    keys: KeyAdmin
    rotation: ScheduledRotation | None
    federation: FederationAdmin


WIRE_LOGGERS = ("botocore", "boto3", "urllib3")


def configure_logging() -> None:
    """Our events at INFO; AWS SDK wire logs capped at WARNING, because at DEBUG
    botocore prints request and response bodies, which hold secret hashes."""
    logging.getLogger("chalicelib").setLevel(logging.INFO)
    for name in WIRE_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)


def assertion_methods(
    settings: Settings, store: Store, clock: Callable[[], float]
) -> tuple[AssertionMethod, ...]:
    """The client-assertion methods this server accepts (RFC 7521 §4.2), one line each;
    the ClientAuthenticator routes each assertion to the one that handles it."""
    return (
        FederatedTokenAuth(store, issuer_keys(settings, clock)),
    )


def issuer_keys(settings: Settings, clock: Callable[[], float]) -> IssuerKeys:
    """Trusted issuers' keys, cached per container, fetched through the address guard."""
    return IssuerKeys(SafeFetcher(settings.local_mode), clock, settings.local_mode)


def build_services(
    settings: Settings,
    store: Store,
    signer: Signer,
    clock: Callable[[], float] = time.time,
    key_factory: KeyFactory | None = None,
) -> Services:
    configure_logging()
    bootstrap = (
        (settings.bootstrap_key_id, settings.bootstrap_key_alg)
        if settings.bootstrap_key_id
        else None
    )
    keyring = KeyRing(store, signer, clock, settings.key_cache_seconds, bootstrap)
    authenticator = ClientAuthenticator(store, clock, assertion_methods(settings, store, clock))
    verifier = OwnTokenVerifier(keyring, clock)
    keys = KeyAdmin(store, keyring, clock, settings.key_cache_seconds)
    rotation = (
        ScheduledRotation(
            keys, key_factory, clock, settings.key_rotation_days,
            settings.key_rotation_lead_days, settings.bootstrap_key_alg,
        )
        if key_factory is not None
        else None
    )
    return Services(
        settings=settings,
        store=store,
        signer=signer,
        keyring=keyring,
        token=ClientCredentialsGrant(authenticator, TokenIssuer(keyring, signer), clock),
        introspection=Introspection(authenticator, verifier, store, clock),
        revocation=Revocation(authenticator, verifier, store),
        discovery=Discovery(
            store, keyring, clock, settings.key_cache_seconds, authenticator.method_names
        ),
        provisioning=Provisioning(store, clock),
        keys=keys,
        rotation=rotation,
        federation=FederationAdmin(
            store, clock, issuer_keys(settings, clock), settings.local_mode
        ),
    )


def aws_clients(settings: Settings) -> tuple[Any, Any]:
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
    session = boto3.session.Session(region_name=settings.region)
    return session.client("dynamodb", config=config), session.client("kms", config=config)


def build_default_services() -> Services:
    from .store.dynamodb import DynamoDBStore
    from .tokens.kms_keys import KmsKeyFactory
    from .tokens.signer import KmsSigner

    settings = Settings.from_env()
    dynamodb, kms = aws_clients(settings)
    return build_services(
        settings, DynamoDBStore(dynamodb, settings.table_name), KmsSigner(kms),
        key_factory=KmsKeyFactory(kms, settings.stack),
    )


_lock = threading.Lock()
_services: Services | None = None


def services() -> Services:
    global _services
    if _services is None:
        with _lock:
            if _services is None:
                _services = build_default_services()
    return _services


def install(replacement: Services | None) -> None:
    """Use these services (tests), or ``None`` to build from the environment again."""
    global _services
    with _lock:
        _services = replacement
