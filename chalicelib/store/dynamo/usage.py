"""Fresh-token counters (issue 9 §2): one item per app and UTC day, in the app's own
``USAGE#`` partition — outside the ``APP#`` partition the token path queries, so that
Query's cost never grows with usage history. The item holds the day's count and one
attribute per hour (``h00``..``h23``); one atomic UpdateItem (ADD) counts both windows
and, when a quota is enforced, is conditional on both limits, so concurrent containers
can never exceed them.

In a multi-region stage (``counter_region``) each region counts in its own item
(``DAY#<day>#<region>``): a global table resolves concurrent writes to one item
last-writer-wins, which would lose increments; per-region items never conflict, so
each region enforces the quota exactly on its own traffic (at most N× the quota
across N regions), and ``usage`` adds the regions' counts up."""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from ..records import Quota, Usage, UsageCount
from ..schema import TTL_ATTRIBUTE
from ..usage_windows import (
    KEEP_SECONDS,
    daily_starts,
    day_label,
    day_start,
    hour_attribute,
    hourly_starts,
)
from .items import Item, _get_n, _key, _n, _s
from .table import Table, translated

DAY_TOTAL = "day_count"


def usage_pk(client_id: str) -> str:
    return f"USAGE#{client_id}"


class DynamoUsageRepository(Table):
    """``UsageRepository`` on DynamoDB."""

    def count_fresh_token(self, client_id: str, now: int, quota: Quota | None) -> UsageCount:
        day, hour = day_start(now), hour_attribute(now)
        args: dict[str, Any] = {
            "TableName": self._table,
            "Key": _key(usage_pk(client_id), self._day_key(day)),
            "UpdateExpression": "SET #ttl = :ttl, client_id = :c ADD #d :one, #h :one",
            "ExpressionAttributeNames": {"#ttl": TTL_ATTRIBUTE, "#d": DAY_TOTAL, "#h": hour},
            "ExpressionAttributeValues": {
                ":one": _n(1), ":ttl": _n(day + KEEP_SECONDS), ":c": _s(client_id),
            },
            "ReturnValues": "UPDATED_NEW",
        }
        conditions = []
        if quota is not None and quota.enforce:
            if quota.per_day is not None:
                conditions.append("(attribute_not_exists(#d) OR #d < :day_limit)")
                args["ExpressionAttributeValues"][":day_limit"] = _n(quota.per_day)
            if quota.per_hour is not None:
                conditions.append("(attribute_not_exists(#h) OR #h < :hour_limit)")
                args["ExpressionAttributeValues"][":hour_limit"] = _n(quota.per_hour)
        if conditions:
            args["ConditionExpression"] = " AND ".join(conditions)
            args["ReturnValuesOnConditionCheckFailure"] = "ALL_OLD"
        with translated():
            try:
                response = self._client.update_item(**args)
            except ClientError as exc:
                if exc.response.get("Error", {}).get("Code") != "ConditionalCheckFailedException":
                    raise
                # the counts that refused, returned by the same request (no extra read)
                old: Item = dict(exc.response.get("Item") or {})
                return UsageCount(_get_n(old, hour) or 0, _get_n(old, DAY_TOTAL) or 0,
                                  allowed=False)
        new = response.get("Attributes", {})
        return UsageCount(_get_n(new, hour) or 0, _get_n(new, DAY_TOTAL) or 0)

    def _day_key(self, day: int) -> str:
        region = self._counter_region
        return f"DAY#{day_label(day)}" + (f"#{region}" if region else "")

    def usage(self, client_id: str, now: int) -> Usage:
        """Every region's counts added up (one region's item per day, or several)."""
        days = daily_starts(now)
        items: list[Item] = self._query({
            "TableName": self._table,
            "KeyConditionExpression": "pk = :pk AND sk BETWEEN :first AND :last",
            "ExpressionAttributeValues": {
                ":pk": _s(usage_pk(client_id)),
                ":first": _s(f"DAY#{day_label(days[0])}"),
                # "$" sorts right after "#": the last day's per-region items too
                ":last": _s(f"DAY#{day_label(days[-1])}$"),
            },
            "ConsistentRead": True,
        })
        by_day: dict[str, list[Item]] = {}
        for item in items:
            label = item["sk"]["S"][len("DAY#"):].split("#", 1)[0]
            by_day.setdefault(label, []).append(item)

        def total(label: str, attribute: str) -> int:
            return sum(_get_n(item, attribute) or 0 for item in by_day.get(label, []))

        daily = tuple((d, total(day_label(d), DAY_TOTAL)) for d in days)
        hourly = tuple((h, total(day_label(day_start(h)), hour_attribute(h)))
                       for h in hourly_starts(now))
        return Usage(hourly=hourly, daily=daily)
