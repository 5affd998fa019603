"""The fake's shared state: every aggregate's dicts behind one lock (one table)."""

from __future__ import annotations

import threading

from ..records import (
    Api,
    App,
    AuditRecord,
    AwsPrincipal,
    ClientKey,
    ClientSecret,
    ExchangePolicy,
    FederatedIdentity,
    Grant,
    SigningKeyRecord,
    TlsClient,
    TrustedIssuer,
)


class MemoryTables:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.apps: dict[str, App] = {}
        self.secrets: dict[str, dict[str, ClientSecret]] = {}
        self.grants: dict[str, dict[str, Grant]] = {}
        self.client_keys: dict[str, dict[str, ClientKey]] = {}
        self.aws_principals: dict[str, dict[str, AwsPrincipal]] = {}
        self.apis: dict[str, Api] = {}
        self.api_identifiers: dict[str, str] = {}
        self.keys: dict[str, SigningKeyRecord] = {}
        self.revoked: dict[str, int] = {}
        self.used_assertions: dict[tuple[str, str], int] = {}
        self.nonce_keys: dict[tuple[str, int], bytes] = {}
        self.audit: list[AuditRecord] = []
        self.usage_counts: dict[str, dict[tuple[str, int], int]] = {}
        self.issuers: dict[str, TrustedIssuer] = {}
        self.federated: dict[str, dict[str, FederatedIdentity]] = {}
        self.tls_clients: dict[str, dict[str, TlsClient]] = {}
        self.exchange_policies: dict[str, dict[str, ExchangePolicy]] = {}
        self.reads = 0

    def _audit(self, record: AuditRecord | None) -> None:
        if record is not None:
            self.audit.append(record)
