"""An app's mutual-TLS certificates (RFC 8705 §2): ``TLS#<id>`` rows in the app's
partition, so the token request's one Query reads them with the app. Added and removed
in one transaction with the app's version bump and the audit record."""

from __future__ import annotations

from ..records import AuditRecord, TlsClient
from .items import Item, _get_n, _get_s, _get_ss, _key, _n, _opt_n, _s, app_pk
from .table import Table

TLS_PREFIX = "TLS#"


def tls_client_to_item(client_id: str, tls_client: TlsClient) -> Item:
    item: Item = {
        **_key(app_pk(client_id), TLS_PREFIX + tls_client.credential_id),
        "credential_id": _s(tls_client.credential_id),
        "method": _s(tls_client.method),
        "field": _s(tls_client.field),
        "values": {"L": [_s(v) for v in tls_client.values]},
        "created_at": _n(tls_client.created_at),
    }
    _opt_n(item, "expires_at", tls_client.expires_at)
    return item


def item_to_tls_client(item: Item) -> TlsClient:
    return TlsClient(
        credential_id=_get_s(item, "credential_id"),
        method=_get_s(item, "method"),
        field=_get_s(item, "field"),
        values=_get_ss(item, "values"),
        created_at=_get_n(item, "created_at") or 0,
        expires_at=_get_n(item, "expires_at"),
    )


class DynamoTlsClientRepository(Table):
    """``TlsClientRepository`` on DynamoDB."""

    def add_tls_client(
        self, client_id: str, tls_client: TlsClient, app_version: int, audit: AuditRecord
    ) -> None:
        self._write_with_app_bump(client_id, [
            {"Put": self._put_new(tls_client_to_item(client_id, tls_client))},
        ], app_version, audit)

    def delete_tls_client(
        self, client_id: str, credential_id: str, app_version: int, audit: AuditRecord
    ) -> None:
        self._write_with_app_bump(client_id, [
            {"Delete": {
                "TableName": self._table,
                "Key": _key(app_pk(client_id), TLS_PREFIX + credential_id),
                "ConditionExpression": "attribute_exists(pk)",
            }},
        ], app_version, audit)
