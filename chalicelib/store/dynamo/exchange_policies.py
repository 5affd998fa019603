"""Token-exchange policies (docs/token-exchange.md): ``EXCHANGE#<target api_id>`` rows in
the caller's partition, so the token request's one Query of the caller reads them with
its credentials."""

from __future__ import annotations

from typing import Any

from ...errors import ItemChanged, ItemMissing
from ..records import AuditRecord, ExchangePolicy
from .items import Item, _get_n, _get_s, _get_ss, _key, _n, _s, app_pk
from .table import APP_SK, Table, translated

POLICY_PREFIX = "EXCHANGE#"


def _strings(values: tuple[str, ...]) -> dict[str, Any]:
    return {"L": [_s(v) for v in values]}


def policy_to_item(client_id: str, policy: ExchangePolicy) -> Item:
    return {
        **_key(app_pk(client_id), POLICY_PREFIX + policy.target_api_id),
        "target_api_id": _s(policy.target_api_id),
        "target_audience": _s(policy.target_audience),
        "scopes": _strings(policy.scopes),
        "source_apis": _strings(policy.source_apis),
        "source_audiences": _strings(policy.source_audiences),
        "source_issuers": _strings(policy.source_issuers),
        "delegation": {"BOOL": policy.delegation},
        "impersonation": {"BOOL": policy.impersonation},
        "max_act_depth": _n(policy.max_act_depth),
        "created_at": _n(policy.created_at),
        "updated_at": _n(policy.updated_at),
        "version": _n(policy.version),
    }


def item_to_policy(item: Item) -> ExchangePolicy:
    return ExchangePolicy(
        target_api_id=_get_s(item, "target_api_id"),
        target_audience=_get_s(item, "target_audience"),
        scopes=_get_ss(item, "scopes"),
        source_apis=_get_ss(item, "source_apis"),
        source_audiences=_get_ss(item, "source_audiences"),
        source_issuers=_get_ss(item, "source_issuers"),
        delegation=bool(item["delegation"]["BOOL"]),
        impersonation=bool(item["impersonation"]["BOOL"]),
        max_act_depth=_get_n(item, "max_act_depth") or 1,
        created_at=_get_n(item, "created_at") or 0,
        updated_at=_get_n(item, "updated_at") or 0,
        version=_get_n(item, "version") or 1,
    )


class DynamoExchangePolicyRepository(Table):
    """``ExchangePolicyRepository`` on DynamoDB."""

    def put_exchange_policy(
        self,
        client_id: str,
        policy: ExchangePolicy,
        expected_version: int,
        audit: AuditRecord | None = None,
    ) -> None:
        item = policy_to_item(client_id, policy)
        put: dict[str, Any] = (
            self._put_new(item) if expected_version == 0
            else self._put_versioned(item, expected_version)
        )
        try:
            with translated(lambda: ItemChanged(
                    f"policy {client_id}/{policy.target_api_id} changed")):
                self._transact([self._app_exists_check(client_id), {"Put": put}], audit)
        except ItemChanged:
            if self._get(app_pk(client_id), APP_SK) is None:
                raise ItemMissing(f"app {client_id} does not exist") from None
            raise

    def delete_exchange_policy(
        self, client_id: str, target_api_id: str, audit: AuditRecord | None = None
    ) -> None:
        with translated(lambda: ItemMissing(
                f"policy {client_id}/{target_api_id} does not exist")):
            self._transact([{"Delete": {
                "TableName": self._table,
                "Key": _key(app_pk(client_id), POLICY_PREFIX + target_api_id),
                "ConditionExpression": "attribute_exists(pk)",
            }}], audit)
