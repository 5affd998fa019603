"""IAM principals of apps: ``AWSPRIN#<id>`` in the app's partition (read by the token
request's one Query) and a lookup item ``AWSARN#<normal form>`` / ``APP#<client_id>``
(principal → apps in one Query), written in one transaction with the app's version bump
and the audit record."""

from __future__ import annotations

from ..records import AuditRecord, AwsPrincipal
from .items import Item, _get_n, _get_s, _key, _n, _s, app_pk
from .table import Table

PRINCIPAL_PREFIX = "AWSPRIN#"


def lookup_key(key: str, client_id: str) -> tuple[str, str]:
    return f"AWSARN#{key}", f"APP#{client_id}"


def aws_principal_to_item(client_id: str, principal: AwsPrincipal) -> Item:
    lookup_pk, lookup_sk = lookup_key(principal.key, client_id)
    return {
        **_key(app_pk(client_id), PRINCIPAL_PREFIX + principal.principal_id),
        "principal_id": _s(principal.principal_id),
        "arn": _s(principal.arn),
        "principal_key": _s(principal.key),
        "created_at": _n(principal.created_at),
        # the app's deletion removes the lookup item too (DynamoAppRepository.delete_app)
        "lookup_pk": _s(lookup_pk),
        "lookup_sk": _s(lookup_sk),
    }


def item_to_aws_principal(item: Item) -> AwsPrincipal:
    return AwsPrincipal(
        principal_id=_get_s(item, "principal_id"),
        arn=_get_s(item, "arn"),
        key=_get_s(item, "principal_key"),
        created_at=_get_n(item, "created_at") or 0,
    )


class DynamoAwsPrincipalRepository(Table):
    """``AwsPrincipalRepository`` on DynamoDB."""

    def add_aws_principal(
        self, client_id: str, principal: AwsPrincipal, app_version: int, audit: AuditRecord
    ) -> None:
        lookup_pk, lookup_sk = lookup_key(principal.key, client_id)
        lookup: Item = {
            **_key(lookup_pk, lookup_sk),
            "client_id": _s(client_id),
            "principal_id": _s(principal.principal_id),
        }
        self._write_with_app_bump(client_id, [
            {"Put": self._put_new(aws_principal_to_item(client_id, principal))},
            {"Put": self._put_new(lookup)},
        ], app_version, audit)

    def delete_aws_principal(
        self, client_id: str, principal: AwsPrincipal, app_version: int, audit: AuditRecord
    ) -> None:
        lookup_pk, lookup_sk = lookup_key(principal.key, client_id)
        self._write_with_app_bump(client_id, [
            {"Delete": {
                "TableName": self._table,
                "Key": _key(app_pk(client_id), PRINCIPAL_PREFIX + principal.principal_id),
                "ConditionExpression": "attribute_exists(pk)",
            }},
            {"Delete": {"TableName": self._table, "Key": _key(lookup_pk, lookup_sk)}},
        ], app_version, audit)

    def apps_for_aws_principal(self, key: str) -> list[str]:
        items = self._query({
            "TableName": self._table,
            "KeyConditionExpression": "pk = :pk",
            "ExpressionAttributeValues": {":pk": _s(lookup_key(key, "")[0])},
            "ConsistentRead": True,
        })
        return [_get_s(i, "client_id") for i in items]
