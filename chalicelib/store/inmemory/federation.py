"""Trusted issuers and apps' federated identities, in memory."""

from __future__ import annotations

from dataclasses import replace

from ...errors import ItemChanged, ItemExists, ItemMissing
from ..paging import page as _page
from ..records import AuditRecord, FederatedIdentity, Page, TrustedIssuer
from .state import MemoryTables


class MemoryIssuerRepository(MemoryTables):
    def add_issuer(self, issuer: TrustedIssuer, audit: AuditRecord | None = None) -> None:
        with self._lock:
            if issuer.issuer_id in self.issuers:
                raise ItemExists(f"issuer {issuer.issuer} is registered")
            self.issuers[issuer.issuer_id] = issuer
            self._audit(audit)

    def get_issuer(self, issuer_id: str) -> TrustedIssuer | None:
        with self._lock:
            self.reads += 1
            return self.issuers.get(issuer_id)

    def list_issuers(self, limit: int, cursor: str | None) -> Page:
        with self._lock:
            return _page(list(self.issuers.values()), lambda i: i.issuer_id, limit, cursor)

    def delete_issuer(
        self, issuer_id: str, expected_version: int | None, audit: AuditRecord | None = None
    ) -> None:
        with self._lock:
            stored = self.issuers.get(issuer_id)
            if stored is None:
                raise ItemMissing(f"issuer {issuer_id} is not registered")
            if expected_version is not None and stored.version != expected_version:
                raise ItemChanged(f"issuer {issuer_id} changed")
            del self.issuers[issuer_id]
            self._audit(audit)


class MemoryFederatedIdentityRepository(MemoryTables):
    def add_federated_identity(
        self,
        client_id: str,
        identity: FederatedIdentity,
        app_version: int,
        audit: AuditRecord | None = None,
    ) -> None:
        with self._lock:
            app = self.apps.get(client_id)
            if app is None:
                raise ItemMissing(f"app {client_id} does not exist")
            if app.version != app_version:
                raise ItemChanged(f"app {client_id} changed")
            listed = self.federated.setdefault(client_id, {})
            if any((i.issuer, i.subject, i.pattern)
                   == (identity.issuer, identity.subject, identity.pattern)
                   for i in listed.values()):
                raise ItemExists("the app lists this issuer and subject already")
            self.apps[client_id] = replace(app, version=app_version + 1)
            listed[identity.identity_id] = identity
            self._audit(audit)

    def delete_federated_identity(
        self, client_id: str, identity: FederatedIdentity, audit: AuditRecord | None = None
    ) -> None:
        with self._lock:
            if identity.identity_id not in self.federated.get(client_id, {}):
                raise ItemMissing(f"identity {identity.identity_id} does not exist")
            del self.federated[client_id][identity.identity_id]
            self._audit(audit)

    def apps_for_subject(self, issuer: str, subject: str) -> list[str]:
        with self._lock:
            self.reads += 1
            return sorted(
                client_id for client_id, listed in self.federated.items()
                if client_id in self.apps and any(
                    (i.issuer, i.subject, i.pattern) == (issuer, subject, False)
                    for i in listed.values()
                )
            )

    def identity_rules(
        self, issuer: str, subject: str | None
    ) -> list[tuple[str, FederatedIdentity]]:
        with self._lock:
            self.reads += 1
            return sorted(
                ((client_id, identity) for client_id, listed in self.federated.items()
                 if client_id in self.apps for identity in listed.values()
                 if identity.issuer == issuer and (
                     identity.pattern if subject is None
                     else (not identity.pattern and identity.subject == subject))),
                key=lambda rule: (rule[0], rule[1].identity_id),
            )
