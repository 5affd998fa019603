"""APIs (resource servers) and the uniqueness guard of their identifiers."""

from __future__ import annotations

from ...errors import ItemChanged, ItemExists, ItemMissing
from ...tokens.lifetime import DEFAULT_TOKEN_REUSE
from ..records import Api, AuditRecord, Grant, Page, ScopeDefinition
from .apps import grant_to_item
from .items import (
    Item,
    _get_flag,
    _get_fraction,
    _get_n,
    _get_s,
    _key,
    _n,
    _put_flag,
    _put_fraction,
    _s,
    app_pk,
)
from .table import MAX_TRANSACTION_ITEMS, Table, translated

API_SK = "#API"
IDENT_SK = "#APIIDENT"


def api_to_item(api: Api) -> Item:
    item: Item = {
        **_key(f"API#{api.api_id}", API_SK),
        "gsi1pk": _s("API"),
        "gsi1sk": _s(api.api_id),
        "api_id": _s(api.api_id),
        "identifier": _s(api.identifier),
        "name": _s(api.name),
        "scopes": {
            "L": [
                {"M": {"value": _s(s.value), "description": _s(s.description)}}
                for s in api.scopes
            ]
        },
        "token_lifetime": _n(api.token_lifetime),
        "created_at": _n(api.created_at),
        "updated_at": _n(api.updated_at),
        "version": _n(api.version),
    }
    _put_fraction(item, "token_reuse", api.token_reuse)
    _put_flag(item, "sender_constrained_tokens_required", api.sender_constrained_tokens_required)
    return item


def item_to_api(item: Item) -> Api:
    return Api(
        api_id=_get_s(item, "api_id"),
        identifier=_get_s(item, "identifier"),
        name=_get_s(item, "name"),
        scopes=tuple(
            ScopeDefinition(value=m["M"]["value"]["S"], description=m["M"]["description"]["S"])
            for m in item["scopes"]["L"]
        ),
        token_lifetime=_get_n(item, "token_lifetime") or 0,
        created_at=_get_n(item, "created_at") or 0,
        updated_at=_get_n(item, "updated_at") or 0,
        version=_get_n(item, "version") or 1,
        token_reuse=_get_fraction(item, "token_reuse", DEFAULT_TOKEN_REUSE),
        sender_constrained_tokens_required=_get_flag(item, "sender_constrained_tokens_required"),
    )



class DynamoApiRepository(Table):
    """``ApiRepository`` on DynamoDB."""

    def create_api(self, api: Api, audit: AuditRecord | None = None) -> None:
        guard = {
            **_key(f"APIIDENT#{api.identifier}", IDENT_SK),
            "api_id": _s(api.api_id),
        }
        with translated(lambda: ItemExists(f"API identifier {api.identifier} exists")):
            self._transact(
                [{"Put": self._put_new(api_to_item(api))}, {"Put": self._put_new(guard)}], audit
            )

    def update_api(
        self,
        api: Api,
        expected_version: int,
        grants: list[tuple[str, Grant]],
        audit: AuditRecord,
    ) -> None:
        """The API item, the audit record and as many grant rewrites as fit go in one
        transaction; further grants (beyond ~98) follow in more transactions."""
        first = [{"Put": self._put_versioned(api_to_item(api), expected_version)}]
        rewrites = [
            {"Put": {"TableName": self._table, "Item": grant_to_item(client_id, grant)}}
            for client_id, grant in grants
        ]
        room = MAX_TRANSACTION_ITEMS - 2
        try:
            with translated(lambda: ItemChanged(f"API {api.api_id} changed")):
                self._transact(first + rewrites[:room], audit)
        except ItemChanged:
            if self.get_api(api.api_id) is None:
                raise ItemMissing(f"API {api.api_id} does not exist") from None
            raise
        for start in range(room, len(rewrites), MAX_TRANSACTION_ITEMS):
            with translated():
                self._transact(rewrites[start:start + MAX_TRANSACTION_ITEMS], None)

    def delete_api(self, api: Api, grant_owners: list[str], audit: AuditRecord) -> None:
        try:
            with translated(lambda: ItemChanged(f"API {api.api_id} changed")):
                self._transact(
                    [
                        {"Delete": self._delete_versioned(f"API#{api.api_id}", API_SK,
                                                          api.version)},
                        {"Delete": {"TableName": self._table,
                                    "Key": _key(f"APIIDENT#{api.identifier}", IDENT_SK)}},
                    ],
                    audit,
                )
        except ItemChanged:
            if self.get_api(api.api_id) is None:
                raise ItemMissing(f"API {api.api_id} does not exist") from None
            raise
        self._delete_items([(app_pk(c), f"GRANT#{api.api_id}") for c in grant_owners])

    def list_apis_page(self, limit: int, cursor: str | None) -> Page:
        items, next_cursor = self._query_page("API", limit, cursor)
        return Page(tuple(item_to_api(i) for i in items), next_cursor)

    def get_api(self, api_id: str) -> Api | None:
        item = self._get(f"API#{api_id}", API_SK)
        return item_to_api(item) if item else None

    def find_api(self, identifier: str) -> Api | None:
        guard = self._get(f"APIIDENT#{identifier}", IDENT_SK)
        return self.get_api(guard["api_id"]["S"]) if guard else None

    def list_apis(self) -> list[Api]:
        return [item_to_api(item) for item in self._query_index("API")]
