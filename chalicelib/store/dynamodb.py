"""DynamoDB adapter: implements every repository protocol on one table.

AWS errors are translated here into :mod:`chalicelib.errors` store errors;
nothing above this module imports botocore.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError

from ..errors import InvalidCursor, ItemChanged, ItemExists, ItemMissing, StoreError
from .records import (
    Api,
    App,
    AppCredentials,
    AuditRecord,
    ClientSecret,
    Grant,
    KeyState,
    Page,
    ScopeDefinition,
    SigningKeyRecord,
)
from .schema import GSI1, TTL_ATTRIBUTE

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

Item = dict[str, Any]

APP_SK = "#APP"
API_SK = "#API"
IDENT_SK = "#APIIDENT"
JTI_SK = "#JTI"
KEYS_PK = "KEYS"
AUDIT_PK = "AUDIT"
MAX_TRANSACTION_ITEMS = 100


class StoreUnavailable(StoreError):
    """DynamoDB failed or throttled; the request cannot be answered now."""


def app_pk(client_id: str) -> str:
    return f"APP#{client_id}"


def _s(value: str) -> dict[str, str]:
    return {"S": value}


def _n(value: int) -> dict[str, str]:
    return {"N": str(int(value))}


def _opt_n(item: Item, name: str, value: int | None) -> None:
    if value is not None:
        item[name] = _n(value)


def _get_s(item: Item, name: str, default: str = "") -> str:
    return str(item[name]["S"]) if name in item else default


def _get_n(item: Item, name: str) -> int | None:
    return int(item[name]["N"]) if name in item else None


def _get_ss(item: Item, name: str) -> tuple[str, ...]:
    return tuple(v["S"] for v in item[name]["L"]) if name in item else ()


def _key(pk: str, sk: str) -> Item:
    return {"pk": _s(pk), "sk": _s(sk)}


# ---- marshalling -----------------------------------------------------------


def app_to_item(app: App) -> Item:
    item: Item = {
        **_key(app_pk(app.client_id), APP_SK),
        "gsi1pk": _s("APP"),
        "gsi1sk": _s(app.client_id),
        "client_id": _s(app.client_id),
        "name": _s(app.name),
        "description": _s(app.description),
        "enabled": {"BOOL": app.enabled},
        "claims": _s(json.dumps(dict(app.claims), separators=(",", ":"), sort_keys=True)),
        "permissions": {"L": [_s(p) for p in sorted(app.permissions)]},
        "created_at": _n(app.created_at),
        "updated_at": _n(app.updated_at),
        "version": _n(app.version),
    }
    _opt_n(item, "token_lifetime", app.token_lifetime)
    _opt_n(item, "revoked_before", app.revoked_before)
    return item


def item_to_app(item: Item) -> App:
    return App(
        client_id=_get_s(item, "client_id"),
        name=_get_s(item, "name"),
        description=_get_s(item, "description"),
        enabled=bool(item["enabled"]["BOOL"]),
        claims=json.loads(_get_s(item, "claims", "{}")),
        token_lifetime=_get_n(item, "token_lifetime"),
        permissions=frozenset(_get_ss(item, "permissions")),
        revoked_before=_get_n(item, "revoked_before"),
        created_at=_get_n(item, "created_at") or 0,
        updated_at=_get_n(item, "updated_at") or 0,
        version=_get_n(item, "version") or 1,
    )


def secret_to_item(client_id: str, secret: ClientSecret) -> Item:
    item: Item = {
        **_key(app_pk(client_id), f"SECRET#{secret.secret_id}"),
        "secret_id": _s(secret.secret_id),
        "secret_hash": _s(secret.secret_hash),
        "created_at": _n(secret.created_at),
    }
    _opt_n(item, "expires_at", secret.expires_at)
    _opt_n(item, "last_used", secret.last_used)
    return item


def item_to_secret(item: Item) -> ClientSecret:
    return ClientSecret(
        secret_id=_get_s(item, "secret_id"),
        secret_hash=_get_s(item, "secret_hash"),
        created_at=_get_n(item, "created_at") or 0,
        expires_at=_get_n(item, "expires_at"),
        last_used=_get_n(item, "last_used"),
    )


def grant_to_item(client_id: str, grant: Grant) -> Item:
    return {
        **_key(app_pk(client_id), f"GRANT#{grant.api_id}"),
        "gsi1pk": _s(f"GRANT#{grant.api_id}"),
        "gsi1sk": _s(client_id),
        "client_id": _s(client_id),
        "api_id": _s(grant.api_id),
        "audience": _s(grant.audience),
        "scopes": {"L": [_s(s) for s in grant.scopes]},
        "token_lifetime": _n(grant.token_lifetime),
        "version": _n(grant.version),
    }


def item_to_grant(item: Item) -> Grant:
    return Grant(
        api_id=_get_s(item, "api_id"),
        audience=_get_s(item, "audience"),
        scopes=_get_ss(item, "scopes"),
        token_lifetime=_get_n(item, "token_lifetime") or 0,
        version=_get_n(item, "version") or 1,
    )


def api_to_item(api: Api) -> Item:
    return {
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
    )


def key_to_item(key: SigningKeyRecord) -> Item:
    item: Item = {
        **_key(KEYS_PK, f"KEY#{key.kid}"),
        "kid": _s(key.kid),
        "kms_key_id": _s(key.kms_key_id),
        "alg": _s(key.alg),
        "state": _s(key.state.value),
        "created_at": _n(key.created_at),
        "version": _n(key.version),
    }
    _opt_n(item, "activated_at", key.activated_at)
    _opt_n(item, "deactivated_at", key.deactivated_at)
    _opt_n(item, "retired_at", key.retired_at)
    _opt_n(item, "deletion_scheduled_at", key.deletion_scheduled_at)
    return item


def item_to_key(item: Item) -> SigningKeyRecord:
    return SigningKeyRecord(
        kid=_get_s(item, "kid"),
        kms_key_id=_get_s(item, "kms_key_id"),
        alg=_get_s(item, "alg"),
        state=KeyState(_get_s(item, "state")),
        created_at=_get_n(item, "created_at") or 0,
        activated_at=_get_n(item, "activated_at"),
        deactivated_at=_get_n(item, "deactivated_at"),
        retired_at=_get_n(item, "retired_at"),
        deletion_scheduled_at=_get_n(item, "deletion_scheduled_at"),
        version=_get_n(item, "version") or 1,
    )


def audit_to_item(record: AuditRecord) -> Item:
    item: Item = {
        **_key(AUDIT_PK, f"{record.time:012d}#{record.audit_id}"),
        "audit_id": _s(record.audit_id),
        "time": _n(record.time),
        "actor": _s(record.actor),
        "action": _s(record.action),
        "target": _s(record.target),
        "changes": _s(json.dumps(dict(record.changes), separators=(",", ":"), sort_keys=True)),
    }
    if record.request_id:
        item["request_id"] = _s(record.request_id)
    return item


def item_to_audit(item: Item) -> AuditRecord:
    return AuditRecord(
        audit_id=_get_s(item, "audit_id"),
        time=_get_n(item, "time") or 0,
        actor=_get_s(item, "actor"),
        action=_get_s(item, "action"),
        target=_get_s(item, "target"),
        changes=json.loads(_get_s(item, "changes", "{}")),
        request_id=_get_s(item, "request_id") or None,
    )


def encode_cursor(last_key: Item) -> str:
    raw = json.dumps(last_key, separators=(",", ":"), sort_keys=True).encode()
    return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


def decode_cursor(cursor: str, expected: Item) -> Item:
    """The start key a cursor encodes. It must have exactly the key attributes of the
    list being read and the same partition (``expected`` names them with their values,
    ``None`` for any value); anything else was not handed out by this list."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        key = json.loads(raw)
    except (binascii.Error, ValueError) as exc:
        raise InvalidCursor("malformed cursor") from exc
    valid = isinstance(key, dict) and set(key) == set(expected) and all(
        isinstance(v, dict) and list(v) == ["S"] and isinstance(v["S"], str)
        and (expected[k] is None or v == expected[k])
        for k, v in key.items()
    )
    if not valid:
        raise InvalidCursor("malformed cursor")
    return dict(key)


# ---- error translation -----------------------------------------------------


def _cancellation_codes(exc: ClientError) -> list[str]:
    reasons = exc.response.get("CancellationReasons") or []
    return [str(r.get("Code", "None")) for r in reasons]


@contextmanager
def _translated(on_condition: Callable[[], StoreError] | None = None) -> Iterator[None]:
    """Turn botocore failures into store errors (the adapter's one translation point)."""
    try:
        yield
    except ClientError as exc:
        code = exc.response.get("Error", {}).get("Code", "")
        conditional = code == "ConditionalCheckFailedException" or (
            code == "TransactionCanceledException"
            and "ConditionalCheckFailed" in _cancellation_codes(exc)
        )
        if conditional and on_condition is not None:
            raise on_condition() from exc
        raise StoreUnavailable(f"DynamoDB request failed: {code}") from exc
    except BotoCoreError as exc:
        raise StoreUnavailable(f"DynamoDB request failed: {type(exc).__name__}") from exc


class DynamoDBStore:
    """All repositories on one table, through a low-level client built once per container."""

    def __init__(self, client: DynamoDBClient, table_name: str) -> None:
        self._client = client
        self._table = table_name

    # -- apps ---------------------------------------------------------------

    def get_credentials(self, client_id: str) -> AppCredentials | None:
        items = self._query_partition(app_pk(client_id))
        app: App | None = None
        secrets: list[ClientSecret] = []
        grants: list[Grant] = []
        for item in items:
            sk = item["sk"]["S"]
            if sk == APP_SK:
                app = item_to_app(item)
            elif sk.startswith("SECRET#"):
                secrets.append(item_to_secret(item))
            elif sk.startswith("GRANT#"):
                grants.append(item_to_grant(item))
        if app is None:
            return None
        return AppCredentials(app=app, secrets=tuple(secrets), grants=tuple(grants))

    def get_app(self, client_id: str) -> App | None:
        item = self._get(app_pk(client_id), APP_SK)
        return item_to_app(item) if item else None

    def create_app(
        self, app: App, secret: ClientSecret, audit: AuditRecord | None = None
    ) -> None:
        with _translated(lambda: ItemExists(f"app {app.client_id} exists")):
            self._transact(
                [
                    {"Put": self._put_new(app_to_item(app))},
                    {"Put": self._put_new(secret_to_item(app.client_id, secret))},
                ],
                audit,
            )

    def update_app(
        self, app: App, expected_version: int, audit: AuditRecord | None = None
    ) -> None:
        try:
            with _translated(lambda: ItemChanged(f"app {app.client_id} changed")):
                self._transact(
                    [{"Put": self._put_versioned(app_to_item(app), expected_version)}], audit
                )
        except ItemChanged:
            if self.get_app(app.client_id) is None:
                raise ItemMissing(f"app {app.client_id} does not exist") from None
            raise

    def delete_app(self, client_id: str, expected_version: int, audit: AuditRecord) -> None:
        """The app item and the audit record go in one transaction; once the app item
        is gone no token is issued, so its secrets and grants are removed after it."""
        try:
            with _translated(lambda: ItemChanged(f"app {client_id} changed")):
                self._transact(
                    [{"Delete": self._delete_versioned(app_pk(client_id), APP_SK,
                                                       expected_version)}],
                    audit,
                )
        except ItemChanged:
            if self.get_app(client_id) is None:
                raise ItemMissing(f"app {client_id} does not exist") from None
            raise
        self._delete_items([(i["pk"]["S"], i["sk"]["S"])
                            for i in self._query_partition(app_pk(client_id))])

    def list_apps(self, limit: int, cursor: str | None) -> Page:
        items, next_cursor = self._query_page("APP", limit, cursor)
        return Page(tuple(item_to_app(i) for i in items), next_cursor)

    def add_secret(
        self,
        client_id: str,
        secret: ClientSecret,
        app_version: int | None = None,
        audit: AuditRecord | None = None,
    ) -> None:
        guard: dict[str, Any]
        if app_version is None:
            guard = self._app_exists_check(client_id)
        else:
            guard = {
                "Update": {
                    "TableName": self._table,
                    "Key": _key(app_pk(client_id), APP_SK),
                    "UpdateExpression": "SET version = :next",
                    "ConditionExpression": "attribute_exists(pk) AND version = :v",
                    "ExpressionAttributeValues": {
                        ":v": _n(app_version), ":next": _n(app_version + 1),
                    },
                }
            }
        try:
            with _translated(lambda: ItemChanged(f"app {client_id} changed")):
                self._transact(
                    [guard, {"Put": self._put_new(secret_to_item(client_id, secret))}], audit
                )
        except ItemChanged:
            if app_version is None or self.get_app(client_id) is None:
                raise ItemMissing(f"app {client_id} does not exist") from None
            raise

    def delete_secret(
        self, client_id: str, secret_id: str, audit: AuditRecord | None = None
    ) -> None:
        with _translated(lambda: ItemMissing(f"secret {secret_id} does not exist")):
            self._transact(
                [
                    {
                        "Delete": {
                            "TableName": self._table,
                            "Key": _key(app_pk(client_id), f"SECRET#{secret_id}"),
                            "ConditionExpression": "attribute_exists(pk)",
                        }
                    }
                ],
                audit,
            )

    def record_secret_use(self, client_id: str, secret_id: str, when: int, interval: int) -> None:
        try:
            with _translated(lambda: ItemChanged("recorded recently")):
                self._client.update_item(
                    TableName=self._table,
                    Key=_key(app_pk(client_id), f"SECRET#{secret_id}"),
                    UpdateExpression="SET last_used = :now",
                    ConditionExpression=(
                        "attribute_exists(pk) AND "
                        "(attribute_not_exists(last_used) OR last_used <= :threshold)"
                    ),
                    ExpressionAttributeValues={
                        ":now": _n(when),
                        ":threshold": _n(when - interval),
                    },
                )
        except ItemChanged:
            pass  # another request recorded it within the interval, or it was revoked

    def put_grant(
        self,
        client_id: str,
        grant: Grant,
        expected_version: int | None = None,
        audit: AuditRecord | None = None,
    ) -> None:
        put: dict[str, Any] = {"TableName": self._table, "Item": grant_to_item(client_id, grant)}
        if expected_version == 0:
            put["ConditionExpression"] = "attribute_not_exists(pk)"
        elif expected_version is not None:
            put = self._put_versioned(grant_to_item(client_id, grant), expected_version)
        try:
            with _translated(lambda: ItemChanged(f"grant {client_id}/{grant.api_id} changed")):
                self._transact([self._app_exists_check(client_id), {"Put": put}], audit)
        except ItemChanged:
            if self.get_app(client_id) is None:
                raise ItemMissing(f"app {client_id} does not exist") from None
            raise

    def delete_grant(
        self, client_id: str, api_id: str, audit: AuditRecord | None = None
    ) -> None:
        with _translated(lambda: ItemMissing(f"grant {client_id}/{api_id} does not exist")):
            self._transact(
                [
                    {
                        "Delete": {
                            "TableName": self._table,
                            "Key": _key(app_pk(client_id), f"GRANT#{api_id}"),
                            "ConditionExpression": "attribute_exists(pk)",
                        }
                    }
                ],
                audit,
            )

    def grants_for_api(self, api_id: str) -> list[tuple[str, Grant]]:
        items = self._query_index(f"GRANT#{api_id}")
        return [(_get_s(i, "client_id"), item_to_grant(i)) for i in items]

    # -- APIs ---------------------------------------------------------------

    def create_api(self, api: Api, audit: AuditRecord | None = None) -> None:
        guard = {
            **_key(f"APIIDENT#{api.identifier}", IDENT_SK),
            "api_id": _s(api.api_id),
        }
        with _translated(lambda: ItemExists(f"API identifier {api.identifier} exists")):
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
            with _translated(lambda: ItemChanged(f"API {api.api_id} changed")):
                self._transact(first + rewrites[:room], audit)
        except ItemChanged:
            if self.get_api(api.api_id) is None:
                raise ItemMissing(f"API {api.api_id} does not exist") from None
            raise
        for start in range(room, len(rewrites), MAX_TRANSACTION_ITEMS):
            with _translated():
                self._transact(rewrites[start:start + MAX_TRANSACTION_ITEMS], None)

    def delete_api(self, api: Api, grant_owners: list[str], audit: AuditRecord) -> None:
        try:
            with _translated(lambda: ItemChanged(f"API {api.api_id} changed")):
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

    # -- signing keys -------------------------------------------------------

    def list_keys(self) -> list[SigningKeyRecord]:
        return [item_to_key(item) for item in self._query_partition(KEYS_PK)]

    def add_key(self, key: SigningKeyRecord, audit: AuditRecord | None = None) -> None:
        with _translated(lambda: ItemExists(f"key {key.kid} exists")):
            self._transact([{"Put": self._put_new(key_to_item(key))}], audit)

    def save_keys(
        self, changes: list[tuple[SigningKeyRecord, int]], audit: AuditRecord | None
    ) -> None:
        with _translated(lambda: ItemChanged("signing keys changed")):
            self._transact(
                [{"Put": self._put_versioned(key_to_item(k), v)} for k, v in changes], audit
            )

    # -- audit --------------------------------------------------------------

    def list_audit(self, limit: int, cursor: str | None) -> Page:
        args: dict[str, Any] = {
            "TableName": self._table,
            "KeyConditionExpression": "pk = :pk",
            "ExpressionAttributeValues": {":pk": _s(AUDIT_PK)},
            "ScanIndexForward": False,
            "Limit": limit,
        }
        if cursor:
            args["ExclusiveStartKey"] = decode_cursor(
                cursor, {"pk": _s(AUDIT_PK), "sk": None}
            )
        with _translated():
            response = self._client.query(**args)
        last = response.get("LastEvaluatedKey")
        return Page(
            tuple(item_to_audit(i) for i in response.get("Items", [])),
            encode_cursor(last) if last else None,
        )

    # -- revocation ---------------------------------------------------------

    def revoke_token(self, jti: str, client_id: str, expires_at: int) -> None:
        with _translated():
            self._client.put_item(
                TableName=self._table,
                Item={
                    **_key(f"JTI#{jti}", JTI_SK),
                    "client_id": _s(client_id),
                    "expires_at": _n(expires_at),
                    TTL_ATTRIBUTE: _n(expires_at),
                },
            )

    def token_status(self, client_id: str, jti: str, now: int) -> tuple[App | None, bool]:
        keys = [_key(app_pk(client_id), APP_SK), _key(f"JTI#{jti}", JTI_SK)]
        found: list[Item] = []
        request: dict[str, Any] = {self._table: {"Keys": keys, "ConsistentRead": True}}
        with _translated():
            while request:
                response = self._client.batch_get_item(RequestItems=request)
                found.extend(response.get("Responses", {}).get(self._table, []))
                request = dict(response.get("UnprocessedKeys") or {})
        app: App | None = None
        revoked = False
        for item in found:
            if item["sk"]["S"] == APP_SK:
                app = item_to_app(item)
            elif item["sk"]["S"] == JTI_SK:
                # DynamoDB TTL deletes lazily: an expired record no longer counts.
                revoked = (_get_n(item, "expires_at") or 0) > now
        return app, revoked

    # -- helpers ------------------------------------------------------------

    def _transact(self, items: list[dict[str, Any]], audit: AuditRecord | None) -> None:
        if audit is not None:
            items = [*items, {"Put": self._put_new(audit_to_item(audit))}]
        self._client.transact_write_items(TransactItems=items)  # type: ignore[arg-type]

    def _put_versioned(self, item: Item, expected_version: int) -> dict[str, Any]:
        return {
            "TableName": self._table,
            "Item": item,
            "ConditionExpression": "attribute_exists(pk) AND version = :v",
            "ExpressionAttributeValues": {":v": _n(expected_version)},
        }

    def _delete_versioned(self, pk: str, sk: str, expected_version: int) -> dict[str, Any]:
        return {
            "TableName": self._table,
            "Key": _key(pk, sk),
            "ConditionExpression": "attribute_exists(pk) AND version = :v",
            "ExpressionAttributeValues": {":v": _n(expected_version)},
        }

    def _delete_items(self, keys: list[tuple[str, str]]) -> None:
        for start in range(0, len(keys), 25):
            request: dict[str, Any] = {
                self._table: [
                    {"DeleteRequest": {"Key": _key(pk, sk)}}
                    for pk, sk in keys[start:start + 25]
                ]
            }
            with _translated():
                while request:
                    response = self._client.batch_write_item(RequestItems=request)
                    request = dict(response.get("UnprocessedItems") or {})

    def _query_page(
        self, kind: str, limit: int, cursor: str | None
    ) -> tuple[list[Item], str | None]:
        args: dict[str, Any] = {
            "TableName": self._table,
            "IndexName": GSI1,
            "KeyConditionExpression": "gsi1pk = :k",
            "ExpressionAttributeValues": {":k": _s(kind)},
            "Limit": limit,
        }
        if cursor:
            args["ExclusiveStartKey"] = decode_cursor(
                cursor, {"gsi1pk": _s(kind), "gsi1sk": None, "pk": None, "sk": None}
            )
        with _translated():
            response = self._client.query(**args)
        last = response.get("LastEvaluatedKey")
        return list(response.get("Items", [])), encode_cursor(last) if last else None

    def _put_new(self, item: Item) -> dict[str, Any]:
        return {
            "TableName": self._table,
            "Item": item,
            "ConditionExpression": "attribute_not_exists(pk)",
        }

    def _app_exists_check(self, client_id: str) -> dict[str, Any]:
        return {
            "ConditionCheck": {
                "TableName": self._table,
                "Key": _key(app_pk(client_id), APP_SK),
                "ConditionExpression": "attribute_exists(pk)",
            }
        }

    def _get(self, pk: str, sk: str) -> Item | None:
        with _translated():
            response = self._client.get_item(
                TableName=self._table, Key=_key(pk, sk), ConsistentRead=True
            )
        item = response.get("Item")
        return dict(item) if item else None

    def _query_index(self, kind: str) -> list[Item]:
        return self._query(
            {
                "TableName": self._table,
                "IndexName": GSI1,
                "KeyConditionExpression": "gsi1pk = :k",
                "ExpressionAttributeValues": {":k": _s(kind)},
            }
        )

    def _query_partition(self, pk: str) -> list[Item]:
        return self._query(
            {
                "TableName": self._table,
                "KeyConditionExpression": "pk = :pk",
                "ExpressionAttributeValues": {":pk": _s(pk)},
                "ConsistentRead": True,
            }
        )

    def _query(self, args: dict[str, Any]) -> list[Item]:
        items: list[Item] = []
        with _translated():
            while True:
                response = self._client.query(**args)
                items.extend(response.get("Items", []))
                last = response.get("LastEvaluatedKey")
                if not last:
                    return items
                args["ExclusiveStartKey"] = last
