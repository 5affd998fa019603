"""DynamoDB adapter: every repository protocol on one table, composed from one
repository per aggregate (:mod:`.dynamo`), as Hydra gives each manager its own
persistence. AWS errors are translated in :mod:`.dynamo.table`; nothing above the
adapter imports botocore.
"""

from __future__ import annotations

from .dynamo.apis import DynamoApiRepository, api_to_item, item_to_api
from .dynamo.apps import (
    DynamoAppRepository,
    app_to_item,
    grant_to_item,
    item_to_app,
    item_to_grant,
    item_to_secret,
    secret_to_item,
)
from .dynamo.assertions import DynamoAssertionReplayRepository
from .dynamo.audit import DynamoAuditRepository, item_to_audit
from .dynamo.aws_principals import DynamoAwsPrincipalRepository
from .dynamo.client_keys import DynamoClientKeyRepository
from .dynamo.dpop_nonce_keys import DynamoDpopNonceKeyRepository
from .dynamo.exchange_policies import DynamoExchangePolicyRepository
from .dynamo.federation import DynamoFederatedIdentityRepository, DynamoIssuerRepository
from .dynamo.items import app_pk
from .dynamo.keys import DynamoKeyRepository, item_to_key, key_to_item
from .dynamo.revocations import DynamoRevocationRepository
from .dynamo.table import StoreUnavailable, audit_to_item, decode_cursor, encode_cursor
from .dynamo.tls_clients import DynamoTlsClientRepository
from .dynamo.usage import DynamoUsageRepository

__all__ = [
    "DynamoDBStore", "StoreUnavailable", "api_to_item", "app_pk", "app_to_item",
    "audit_to_item", "decode_cursor", "encode_cursor", "grant_to_item", "item_to_api",
    "item_to_app", "item_to_audit", "item_to_grant", "item_to_key", "item_to_secret",
    "key_to_item", "secret_to_item",
]


class DynamoDBStore(
    DynamoAppRepository,
    DynamoClientKeyRepository,
    DynamoApiRepository,
    DynamoKeyRepository,
    DynamoAuditRepository,
    DynamoRevocationRepository,
    DynamoUsageRepository,
    DynamoAssertionReplayRepository,
    DynamoAwsPrincipalRepository,
    DynamoIssuerRepository,
    DynamoFederatedIdentityRepository,
    DynamoExchangePolicyRepository,
    DynamoDpopNonceKeyRepository,
    DynamoTlsClientRepository,
):
    """All repositories on one table (``Store``); each also works on its own."""
