"""In-memory implementation of every repository protocol, for unit tests, composed
from one fake per aggregate (:mod:`.inmemory`) over shared state.

It honours the same conditions as the DynamoDB adapter (the contract tests run
against both) and counts reads, so tests can assert how often storage is hit.
"""

from __future__ import annotations

from .inmemory.apis import MemoryApiRepository
from .inmemory.apps import MemoryAppRepository
from .inmemory.assertions import MemoryAssertionReplayRepository
from .inmemory.audit import MemoryAuditRepository
from .inmemory.aws_principals import MemoryAwsPrincipalRepository
from .inmemory.client_keys import MemoryClientKeyRepository
from .inmemory.dpop_nonce_keys import MemoryDpopNonceKeyRepository
from .inmemory.exchange_policies import MemoryExchangePolicyRepository
from .inmemory.federation import MemoryFederatedIdentityRepository, MemoryIssuerRepository
from .inmemory.keys import MemoryKeyRepository
from .inmemory.revocations import MemoryRevocationRepository
from .inmemory.tls_clients import MemoryTlsClientRepository
from .inmemory.usage import MemoryUsageRepository


class MemoryStore(
    MemoryAppRepository,
    MemoryClientKeyRepository,
    MemoryApiRepository,
    MemoryKeyRepository,
    MemoryAuditRepository,
    MemoryRevocationRepository,
    MemoryUsageRepository,
    MemoryAssertionReplayRepository,
    MemoryAwsPrincipalRepository,
    MemoryIssuerRepository,
    MemoryFederatedIdentityRepository,
    MemoryExchangePolicyRepository,
    MemoryDpopNonceKeyRepository,
    MemoryTlsClientRepository,
):
    """All repositories over one shared state (``Store``)."""
