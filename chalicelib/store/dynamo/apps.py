"""Apps with their secrets and grants: one partition per app, read by one Query."""

from __future__ import annotations

import json
from typing import Any

from ...errors import ItemChanged, ItemExists, ItemMissing
from ...tokens.lifetime import DEFAULT_TOKEN_REUSE
from ..records import (
    App,
    AppCredentials,
    AuditRecord,
    AwsPrincipal,
    ClientKey,
    ClientSecret,
    ExchangePolicy,
    FederatedIdentity,
    Grant,
    Page,
    Quota,
    TlsClient,
)
from .aws_principals import PRINCIPAL_PREFIX, item_to_aws_principal
from .client_keys import KEY_PREFIX, item_to_client_key
from .exchange_policies import POLICY_PREFIX, item_to_policy
from .federation import FED_PREFIX, federated_lookup_keys, item_to_identity
from .items import (
    Item,
    _get_flag,
    _get_fraction,
    _get_n,
    _get_s,
    _get_ss,
    _key,
    _n,
    _opt_n,
    _put_flag,
    _put_fraction,
    _s,
    app_pk,
)
from .table import APP_SK, Table, translated
from .tls_clients import TLS_PREFIX, item_to_tls_client


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
    _opt_n(item, "revocation_generation", app.revocation_generation or None)
    _opt_n(item, "revocations", app.revocations or None)
    _opt_n(item, "last_used", app.last_used)
    _put_flag(item, "dpop_bound_access_tokens", app.dpop_bound_access_tokens)
    _put_flag(item, "tls_client_certificate_bound_access_tokens",
              app.tls_client_certificate_bound_access_tokens)
    if app.quota is not None:
        quota: Item = {"enforce": {"BOOL": app.quota.enforce}}
        _opt_n(quota, "per_hour", app.quota.per_hour)
        _opt_n(quota, "per_day", app.quota.per_day)
        item["quota"] = {"M": quota}
    return item


def _item_to_quota(item: Item) -> Quota:
    return Quota(per_hour=_get_n(item, "per_hour"), per_day=_get_n(item, "per_day"),
                 enforce=bool(item["enforce"]["BOOL"]))


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
        revocation_generation=_get_n(item, "revocation_generation") or 0,
        revocations=_get_n(item, "revocations") or 0,
        quota=_item_to_quota(item["quota"]["M"]) if "quota" in item else None,
        created_at=_get_n(item, "created_at") or 0,
        updated_at=_get_n(item, "updated_at") or 0,
        version=_get_n(item, "version") or 1,
        last_used=_get_n(item, "last_used"),
        dpop_bound_access_tokens=_get_flag(item, "dpop_bound_access_tokens"),
        tls_client_certificate_bound_access_tokens=_get_flag(
            item, "tls_client_certificate_bound_access_tokens"
        ),
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
    item: Item = {
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
    _put_fraction(item, "token_reuse", grant.token_reuse)
    _put_flag(item, "sender_constrained_tokens_required",
              grant.sender_constrained_tokens_required)
    return item


def item_to_grant(item: Item) -> Grant:
    return Grant(
        api_id=_get_s(item, "api_id"),
        audience=_get_s(item, "audience"),
        scopes=_get_ss(item, "scopes"),
        token_lifetime=_get_n(item, "token_lifetime") or 0,
        version=_get_n(item, "version") or 1,
        token_reuse=_get_fraction(item, "token_reuse", DEFAULT_TOKEN_REUSE),
        sender_constrained_tokens_required=_get_flag(item, "sender_constrained_tokens_required"),
    )



class DynamoAppRepository(Table):
    """``AppRepository`` on DynamoDB."""

    def get_credentials(self, client_id: str) -> AppCredentials | None:
        items = self._query_partition(app_pk(client_id))
        app: App | None = None
        secrets: list[ClientSecret] = []
        grants: list[Grant] = []
        keys: list[ClientKey] = []
        aws_principals: list[AwsPrincipal] = []
        federated: list[FederatedIdentity] = []
        tls_clients: list[TlsClient] = []
        policies: list[ExchangePolicy] = []
        for item in items:
            sk = item["sk"]["S"]
            if sk == APP_SK:
                app = item_to_app(item)
            elif sk.startswith("SECRET#"):
                secrets.append(item_to_secret(item))
            elif sk.startswith("GRANT#"):
                grants.append(item_to_grant(item))
            elif sk.startswith(KEY_PREFIX):
                keys.append(item_to_client_key(item))
            elif sk.startswith(PRINCIPAL_PREFIX):
                aws_principals.append(item_to_aws_principal(item))
            elif sk.startswith(FED_PREFIX):
                federated.append(item_to_identity(item))
            elif sk.startswith(TLS_PREFIX):
                tls_clients.append(item_to_tls_client(item))
            elif sk.startswith(POLICY_PREFIX):
                policies.append(item_to_policy(item))
        if app is None:
            return None
        return AppCredentials(
            app=app, secrets=tuple(secrets), grants=tuple(grants), keys=tuple(keys),
            aws_principals=tuple(aws_principals), federated_identities=tuple(federated),
            tls_clients=tuple(tls_clients),
            exchange_policies=tuple(policies),
        )

    def get_app(self, client_id: str) -> App | None:
        item = self._get(app_pk(client_id), APP_SK)
        return item_to_app(item) if item else None

    def create_app(
        self, app: App, secret: ClientSecret | None, audit: AuditRecord | None = None
    ) -> None:
        items = [{"Put": self._put_new(app_to_item(app))}]
        if secret is not None:
            items.append({"Put": self._put_new(secret_to_item(app.client_id, secret))})
        with translated(lambda: ItemExists(f"app {app.client_id} exists")):
            self._transact(items, audit)

    def update_app(
        self, app: App, expected_version: int, audit: AuditRecord | None = None
    ) -> None:
        try:
            with translated(lambda: ItemChanged(f"app {app.client_id} changed")):
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
            with translated(lambda: ItemChanged(f"app {client_id} changed")):
                self._transact(
                    [{"Delete": self._delete_versioned(app_pk(client_id), APP_SK,
                                                       expected_version)}],
                    audit,
                )
        except ItemChanged:
            if self.get_app(client_id) is None:
                raise ItemMissing(f"app {client_id} does not exist") from None
            raise
        items = self._query_partition(app_pk(client_id))
        # items of the partition, and the lookup items some of them own (lookup_pk/sk
        # on AWS principals; federated identities' lookups are derived from them)
        keys = [(i["pk"]["S"], i["sk"]["S"]) for i in items]
        keys += [(i["lookup_pk"]["S"], i["lookup_sk"]["S"]) for i in items if "lookup_pk" in i]
        keys += federated_lookup_keys(client_id, items)
        self._delete_items(list(dict.fromkeys(keys)))

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
            guard = self._app_version_bump(client_id, app_version)
        try:
            with translated(lambda: ItemChanged(f"app {client_id} changed")):
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
        with translated(lambda: ItemMissing(f"secret {secret_id} does not exist")):
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
        self._record_use(app_pk(client_id), f"SECRET#{secret_id}", when, interval)

    def record_app_use(self, client_id: str, when: int, interval: int) -> None:
        self._record_use(app_pk(client_id), APP_SK, when, interval)

    def _record_use(self, pk: str, sk: str, when: int, interval: int) -> None:
        """One conditional UpdateItem of ``last_used`` (``version`` untouched)."""
        try:
            with translated(lambda: ItemChanged("recorded recently")):
                self._client.update_item(
                    TableName=self._table,
                    Key=_key(pk, sk),
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
            pass  # another request recorded it within the interval, or it was deleted

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
            with translated(lambda: ItemChanged(f"grant {client_id}/{grant.api_id} changed")):
                self._transact([self._app_exists_check(client_id), {"Put": put}], audit)
        except ItemChanged:
            if self.get_app(client_id) is None:
                raise ItemMissing(f"app {client_id} does not exist") from None
            raise

    def delete_grant(
        self, client_id: str, api_id: str, audit: AuditRecord | None = None
    ) -> None:
        with translated(lambda: ItemMissing(f"grant {client_id}/{api_id} does not exist")):
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
