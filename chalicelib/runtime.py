"""Composition root: builds the AWS clients and services once per container, lazily.

Nothing is built at import time, so tests choose the backend (moto, Stubber,
in-memory fakes) before the first request, and ``install(None)`` starts over.

With Lambda SnapStart (docs/runtime.md) one snapshot becomes many containers:
``prepare_snapshot`` imports what the first request needs, so the snapshot holds it,
and builds nothing; ``after_restore`` gives each restored container its own random
state and drops whatever services were built before the snapshot.
"""

from __future__ import annotations

import importlib
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from .aws import metrics, snapstart

# Cold start: `import app` loads none of the services, nor the settings; build_services
# imports them on the first request (bench/import_bench.py,
# tests/functional/test_cold_start.py).
if TYPE_CHECKING:
    from .admin.federation import FederationAdmin
    from .admin.keys import KeyAdmin, ScheduledRotation
    from .admin.provisioning import Provisioning
    from .config import Settings
    from .federation.jwks_fetch import IssuerKeys
    from .oauth.assertion import AssertionMethod
    from .oauth.aws_sigv4 import StsCaller
    from .oauth.client_auth import CertificateMethod
    from .oauth.introspection import Introspection
    from .oauth.metadata import Discovery
    from .oauth.revocation import Revocation
    from .oauth.token_endpoint import TokenEndpoint
    from .store.repository import Store
    from .tokens.key_factory import KeyFactory
    from .tokens.keyring import KeyRing
    from .tokens.signer import Signer


@dataclass(frozen=True)
class Services:
    settings: Settings
    store: Store
    signer: Signer
    keyring: KeyRing
    token: TokenEndpoint
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
    settings: Settings, store: Store, clock: Callable[[], float],
    sts: StsCaller | None = None, keys: IssuerKeys | None = None,
) -> tuple[AssertionMethod, ...]:
    """The client-assertion methods this server accepts (RFC 7521 §4.2), one line each;
    the ClientAuthenticator routes each assertion to the one that handles it."""
    from .aws.sts import HttpStsCaller
    from .oauth.aws_iam import AwsIamMethod
    from .oauth.federated import FederatedTokenAuth
    from .oauth.private_key_jwt import PrivateKeyJwtMethod

    return (
        PrivateKeyJwtMethod(store, store),
        FederatedTokenAuth(store, keys or issuer_keys(settings, clock)),
        AwsIamMethod(store, sts or HttpStsCaller(settings.sts_connect_to),
                     settings.aws_iam_regions),
    )


def certificate_method(settings: Settings, store: Store) -> CertificateMethod | None:
    """Mutual-TLS client authentication (RFC 8705 §2) where the stage has a mutual-TLS
    endpoint (``MTLS_ENDPOINT``), else none (no certificate can reach us there)."""
    from .oauth.tls_client_auth import TlsClientAuth

    return TlsClientAuth(store) if settings.mtls_endpoint else None


def issuer_keys(settings: Settings, clock: Callable[[], float]) -> IssuerKeys:
    """Trusted issuers' keys, cached per container, fetched through the address guard."""
    from .federation.jwks_fetch import IssuerKeys
    from .federation.safe_http import SafeFetcher

    return IssuerKeys(SafeFetcher(settings.local_mode), clock, settings.local_mode)


def build_services(
    settings: Settings,
    store: Store,
    signer: Signer,
    clock: Callable[[], float] = time.time,
    key_factory: KeyFactory | None = None,
    sts: StsCaller | None = None,
) -> Services:
    from .admin.federation import FederationAdmin
    from .admin.keys import KeyAdmin, ScheduledRotation
    from .admin.provisioning import Provisioning
    from .federation.workload_jwt import WorkloadJwtVerifier
    from .oauth.client_auth import ClientAuthenticator
    from .oauth.client_credentials import ClientCredentialsGrant
    from .oauth.dpop import SIGNING_ALGS as DPOP_SIGNING_ALGS
    from .oauth.dpop import DpopProofs
    from .oauth.dpop_nonce import DpopNonces
    from .oauth.introspection import Introspection
    from .oauth.jwt_bearer import JwtBearerGrant
    from .oauth.metadata import Discovery
    from .oauth.mtls_binding import CertificateBinding
    from .oauth.mtls_metadata import mtls_metadata
    from .oauth.quota import TokenQuotas
    from .oauth.reuse import TokenCache
    from .oauth.revocation import Revocation
    from .oauth.token_endpoint import TokenEndpoint
    from .oauth.token_exchange import TokenExchangeGrant
    from .tokens.issuer import TokenIssuer
    from .tokens.keyring import KeyRing
    from .tokens.verify import OwnTokenVerifier

    configure_logging()
    bootstrap = (
        (settings.bootstrap_key_id, settings.bootstrap_key_alg)
        if settings.bootstrap_key_id
        else None
    )
    keyring = KeyRing(store, signer, clock, settings.key_cache_seconds, bootstrap)
    trusted_keys = issuer_keys(settings, clock)  # one key cache per container
    authenticator = ClientAuthenticator(
        store, clock, assertion_methods(settings, store, clock, sts, trusted_keys),
        certificate=certificate_method(settings, store),
    )
    verifier = OwnTokenVerifier(keyring, clock)
    keys = KeyAdmin(
        store, keyring, clock, settings.key_cache_seconds,
        key_factory.unready_regions if key_factory is not None else None,
    )
    rotation = (
        ScheduledRotation(
            keys, key_factory, clock, settings.key_rotation_days,
            settings.key_rotation_lead_days, settings.bootstrap_key_alg,
            settings.key_deletion_grace_days,
            frozenset({settings.bootstrap_key_id} if settings.bootstrap_key_id else ()),
        )
        if key_factory is not None
        else None
    )
    workloads = WorkloadJwtVerifier(store, trusted_keys)
    nonces = (
        DpopNonces(store, settings.region, settings.dpop_nonce_step)
        if settings.dpop_nonces else None
    )
    token = TokenEndpoint(
        grants=(
            ClientCredentialsGrant(authenticator),
            TokenExchangeGrant(authenticator, verifier, store, workloads),
            JwtBearerGrant(workloads, store),
        ),
        issuer=TokenIssuer(keyring, signer),
        clock=clock,
        cache=TokenCache(),
        quotas=TokenQuotas(store),
        # the certificate binding is always on: a certificate can only come from mutual
        # TLS, and an app that requires bound tokens must be refused even where mutual
        # TLS is not set up
        proofs=(DpopProofs(store, settings.dpop_proof_window, nonces), CertificateBinding()),
        headers=nonces.headers if nonces is not None else None,
    )
    return Services(
        settings=settings,
        store=store,
        signer=signer,
        keyring=keyring,
        token=token,
        introspection=Introspection(authenticator, verifier, store, clock),
        revocation=Revocation(authenticator, verifier, store),
        discovery=Discovery(
            store, keyring, clock, settings.key_cache_seconds, authenticator.method_names,
            token.grant_types, DPOP_SIGNING_ALGS,
            extensions=(lambda issuer: mtls_metadata(issuer, settings.mtls_endpoint),),
        ),
        provisioning=Provisioning(store, clock, settings.default_quota),
        keys=keys,
        rotation=rotation,
        federation=FederationAdmin(
            store, clock, trusted_keys, settings.local_mode
        ),
    )


def metrics_recorder(settings: Settings) -> metrics.Recorder:
    """EMF lines on Lambda's stdout; nothing in local mode (its stdout is the console)."""
    if settings.local_mode:
        return metrics.NullRecorder()
    return metrics.EmfRecorder(metrics.namespace(settings.stack or "m2m-auth"))


def build_default_services() -> Services:
    from .aws.clients import aws_clients, regional_kms_clients
    from .aws.kms_keys import KmsKeyFactory
    from .aws.kms_signer import KmsSigner
    from .config import Settings
    from .store.dynamodb import DynamoDBStore

    settings = Settings.from_env()
    recorder = metrics_recorder(settings)
    metrics.use(recorder)
    dynamodb, kms = aws_clients(settings.region)
    return build_services(
        settings,
        DynamoDBStore(dynamodb, settings.table_name,
                      settings.region if settings.home_region else None),
        KmsSigner(kms, recorder, settings.region if settings.home_region else None),
        key_factory=KmsKeyFactory(
            kms, settings.stack, settings.signer_role_arn, settings.rotation_role_arn,
            replica_regions=[r for r in settings.stage_regions if r != settings.region],
            client_for=regional_kms_clients(),
            signer_role_pattern=settings.signer_role_pattern,
        ),
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
        if replacement is None:
            metrics.use(metrics.NullRecorder())  # the next build installs its own


SNAPSHOT_IMPORTS = (
    "boto3",
    "botocore.config",
    "chalicelib.admin.federation",
    "chalicelib.admin.keys",
    "chalicelib.admin.provisioning",
    "chalicelib.aws.clients",
    "chalicelib.aws.kms_keys",
    "chalicelib.aws.kms_signer",
    "chalicelib.aws.sts",
    "chalicelib.config",
    "chalicelib.federation.jwks_fetch",
    "chalicelib.federation.safe_http",
    "chalicelib.oauth.aws_iam",
    "chalicelib.oauth.client_auth",
    "chalicelib.oauth.client_credentials",
    "chalicelib.oauth.dpop",
    "chalicelib.oauth.dpop_nonce",
    "chalicelib.oauth.federated",
    "chalicelib.oauth.grant_types",
    "chalicelib.oauth.introspection",
    "chalicelib.oauth.jwt_bearer",
    "chalicelib.oauth.metadata",
    "chalicelib.oauth.mtls_binding",
    "chalicelib.oauth.mtls_metadata",
    "chalicelib.oauth.private_key_jwt",
    "chalicelib.oauth.quota",
    "chalicelib.oauth.reuse",
    "chalicelib.oauth.revocation",
    "chalicelib.oauth.token_endpoint",
    "chalicelib.oauth.token_exchange",
    "chalicelib.store.dynamodb",
    "chalicelib.tokens.issuer",
    "chalicelib.tokens.keyring",
    "chalicelib.tokens.verify",
)
"""What ``build_default_services`` imports on the first request (a test keeps the two
in step): cold, on Lambda, compiling and importing them is most of a cold start."""


def prepare_snapshot() -> None:
    """SnapStart, before the snapshot: import the services' modules (no client, no
    credentials, no connection, no random value: nothing that must differ between
    the containers restored from the snapshot)."""
    for module in SNAPSHOT_IMPORTS:
        importlib.import_module(module)


def after_restore() -> None:
    """SnapStart, in each restored container, before its first request."""
    # Everything in the snapshot is shared by every container restored from it: the
    # random module's state (botocore's retry jitter draws from it) gets fresh
    # entropy, and services built before the snapshot (boto3 clients, their
    # connections and credentials, the token-reuse cache, quotas, key caches) are
    # dropped, to be built again on the first request.
    import random  # not at cold start

    random.seed()
    install(None)


def register_snapstart_hooks() -> bool:
    """Hand both hooks to the Lambda runtime (a no-op outside Lambda 3.12+)."""
    return snapstart.register(prepare_snapshot, after_restore)


register_snapstart_hooks()
