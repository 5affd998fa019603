"""Trusted issuers and apps' federated identities (docs/federation.md).

An issuer is ``ISSUER#<issuer_id>`` / ``#ISSUER`` (gsi1pk ``ISSUER`` lists them). A
federated identity lives in its app's partition (``FED#<id>``, read by the token
Query) with a lookup item written in the same transaction: ``FEDSUB#<sha256(issuer \\n
subject)>`` / ``APP#<client_id>`` for an exact subject, ``FEDPAT#<sha256(issuer)>`` /
``APP#<client_id>#<sha256(pattern)>`` for a subject pattern. Lookup items carry the
rule (subject, pattern, required claims), so one Query finds the apps a workload token
may be and tells them apart without reading their partitions.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from botocore.exceptions import ClientError

from ...errors import ItemChanged, ItemExists, ItemMissing
from ..records import AuditRecord, FederatedIdentity, Page, TrustedIssuer
from .items import Item, _get_n, _get_s, _key, _n, _s, app_pk
from .table import APP_SK, Table, cancellation_codes, translated

ISSUER_SK = "#ISSUER"
FED_PREFIX = "FED#"


def issuer_pk(issuer_id: str) -> str:
    return f"ISSUER#{issuer_id}"


def subject_pk(issuer: str, subject: str) -> str:
    digest = hashlib.sha256(f"{issuer}\n{subject}".encode()).hexdigest()
    return f"FEDSUB#{digest}"


def pattern_pk(issuer: str) -> str:
    return f"FEDPAT#{hashlib.sha256(issuer.encode()).hexdigest()}"


def lookup_key(client_id: str, identity: FederatedIdentity) -> tuple[str, str]:
    """Where the identity's lookup item lives."""
    if identity.pattern:
        digest = hashlib.sha256(identity.subject.encode()).hexdigest()[:32]
        return pattern_pk(identity.issuer), f"APP#{client_id}#{digest}"
    return subject_pk(identity.issuer, identity.subject), f"APP#{client_id}"


def issuer_to_item(issuer: TrustedIssuer) -> Item:
    item: Item = {
        **_key(issuer_pk(issuer.issuer_id), ISSUER_SK),
        "gsi1pk": _s("ISSUER"),
        "gsi1sk": _s(issuer.issuer_id),
        "issuer_id": _s(issuer.issuer_id),
        "issuer": _s(issuer.issuer),
        "name": _s(issuer.name),
        "kind": _s(issuer.kind),
        "max_token_lifetime": _n(issuer.max_token_lifetime),
        "single_use_jti": {"BOOL": issuer.single_use_jti},
        "created_at": _n(issuer.created_at),
        "version": _n(issuer.version),
    }
    if issuer.jwks_uri:
        item["jwks_uri"] = _s(issuer.jwks_uri)
    return item


def item_to_issuer(item: Item) -> TrustedIssuer:
    return TrustedIssuer(
        issuer_id=_get_s(item, "issuer_id"),
        issuer=_get_s(item, "issuer"),
        name=_get_s(item, "name"),
        kind=_get_s(item, "kind"),
        jwks_uri=_get_s(item, "jwks_uri") or None,
        max_token_lifetime=_get_n(item, "max_token_lifetime") or 3600,
        single_use_jti=bool(item["single_use_jti"]["BOOL"]),
        created_at=_get_n(item, "created_at") or 0,
        version=_get_n(item, "version") or 1,
    )


def _rule_attributes(identity: FederatedIdentity) -> Item:
    item: Item = {
        "identity_id": _s(identity.identity_id),
        "issuer": _s(identity.issuer),
        "subject": _s(identity.subject),
        "created_at": _n(identity.created_at),
    }
    if identity.audience is not None:
        item["audience"] = _s(identity.audience)
    if identity.pattern:
        item["pattern"] = {"BOOL": True}
    if identity.required_claims:
        item["required_claims"] = _s(json.dumps(dict(identity.required_claims),
                                                separators=(",", ":"), sort_keys=True))
    return item


def identity_to_item(client_id: str, identity: FederatedIdentity) -> Item:
    return {**_key(app_pk(client_id), f"{FED_PREFIX}{identity.identity_id}"),
            **_rule_attributes(identity)}


def item_to_identity(item: Item) -> FederatedIdentity:
    """An identity item, or a lookup item (older lookup items hold only the ids)."""
    return FederatedIdentity(
        identity_id=_get_s(item, "identity_id"),
        issuer=_get_s(item, "issuer"),
        subject=_get_s(item, "subject"),
        audience=_get_s(item, "audience") if "audience" in item else None,
        created_at=_get_n(item, "created_at") or 0,
        pattern=bool(item.get("pattern", {}).get("BOOL", False)),
        required_claims=json.loads(_get_s(item, "required_claims", "{}")),
    )


def lookup_item(client_id: str, identity: FederatedIdentity) -> Item:
    pk, sk = lookup_key(client_id, identity)
    return {**_key(pk, sk), "client_id": _s(client_id), **_rule_attributes(identity)}


def federated_lookup_keys(client_id: str, partition: list[Item]) -> list[tuple[str, str]]:
    """The lookup items of an app's federated identities (removed with the app)."""
    return [lookup_key(client_id, item_to_identity(item)) for item in partition
            if item["sk"]["S"].startswith(FED_PREFIX)]


class DynamoIssuerRepository(Table):
    """``IssuerRepository`` on DynamoDB."""

    def add_issuer(self, issuer: TrustedIssuer, audit: AuditRecord | None = None) -> None:
        with translated(lambda: ItemExists(f"issuer {issuer.issuer} is registered")):
            self._transact([{"Put": self._put_new(issuer_to_item(issuer))}], audit)

    def get_issuer(self, issuer_id: str) -> TrustedIssuer | None:
        item = self._get(issuer_pk(issuer_id), ISSUER_SK)
        return item_to_issuer(item) if item else None

    def list_issuers(self, limit: int, cursor: str | None) -> Page:
        items, next_cursor = self._query_page("ISSUER", limit, cursor)
        return Page(tuple(item_to_issuer(i) for i in items), next_cursor)

    def delete_issuer(
        self, issuer_id: str, expected_version: int | None, audit: AuditRecord | None = None
    ) -> None:
        delete: dict[str, Any] = {
            "TableName": self._table,
            "Key": _key(issuer_pk(issuer_id), ISSUER_SK),
            "ConditionExpression": "attribute_exists(pk)",
        }
        if expected_version is not None:
            delete = self._delete_versioned(issuer_pk(issuer_id), ISSUER_SK, expected_version)
        try:
            with translated(lambda: ItemChanged(f"issuer {issuer_id} changed")):
                self._transact([{"Delete": delete}], audit)
        except ItemChanged:
            if expected_version is None or self.get_issuer(issuer_id) is None:
                raise ItemMissing(f"issuer {issuer_id} is not registered") from None
            raise


class DynamoFederatedIdentityRepository(Table):
    """``FederatedIdentityRepository`` on DynamoDB."""

    def add_federated_identity(
        self,
        client_id: str,
        identity: FederatedIdentity,
        app_version: int,
        audit: AuditRecord | None = None,
    ) -> None:
        bump = {
            "Update": {
                "TableName": self._table,
                "Key": _key(app_pk(client_id), APP_SK),
                "UpdateExpression": "SET version = :next",
                "ConditionExpression": "attribute_exists(pk) AND version = :v",
                "ExpressionAttributeValues": {":v": _n(app_version), ":next": _n(app_version + 1)},
            }
        }
        items = [
            bump,
            {"Put": self._put_new(identity_to_item(client_id, identity))},
            {"Put": self._put_new(lookup_item(client_id, identity))},
        ]
        try:
            with translated(lambda: ItemChanged(f"app {client_id} changed")):
                self._transact(items, audit)
        except ItemChanged as exc:
            cause = exc.__cause__
            codes = cancellation_codes(cause) if isinstance(cause, ClientError) else []
            if len(codes) > 2 and codes[2] == "ConditionalCheckFailed":
                raise ItemExists("the app lists this issuer and subject already") from None
            if self._get(app_pk(client_id), APP_SK) is None:
                raise ItemMissing(f"app {client_id} does not exist") from None
            raise

    def delete_federated_identity(
        self, client_id: str, identity: FederatedIdentity, audit: AuditRecord | None = None
    ) -> None:
        lookup_pk, lookup_sk = lookup_key(client_id, identity)
        with translated(lambda: ItemMissing(f"identity {identity.identity_id} does not exist")):
            self._transact(
                [
                    {
                        "Delete": {
                            "TableName": self._table,
                            "Key": _key(app_pk(client_id), f"{FED_PREFIX}{identity.identity_id}"),
                            "ConditionExpression": "attribute_exists(pk)",
                        }
                    },
                    {"Delete": {"TableName": self._table, "Key": _key(lookup_pk, lookup_sk)}},
                ],
                audit,
            )

    def apps_for_subject(self, issuer: str, subject: str) -> list[str]:
        items = self._query_partition(subject_pk(issuer, subject))
        return sorted(_get_s(i, "client_id") for i in items)

    def identity_rules(
        self, issuer: str, subject: str | None
    ) -> list[tuple[str, FederatedIdentity]]:
        pk = pattern_pk(issuer) if subject is None else subject_pk(issuer, subject)
        rules = []
        for item in self._query_partition(pk):
            identity = item_to_identity(item)
            if subject is not None and not identity.subject:  # an older lookup item
                identity = FederatedIdentity(identity.identity_id, issuer, subject)
            rules.append((_get_s(item, "client_id"), identity))
        return sorted(rules, key=lambda rule: (rule[0], rule[1].identity_id))
