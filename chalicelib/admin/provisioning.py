"""Admin use cases for APIs, apps, secrets and grants, composed from one module per
aggregate (:mod:`.apis`, :mod:`.apps`, :mod:`.secrets`, :mod:`.grants`, :mod:`.usage`,
:mod:`.exchange_policies`): the service
layer the admin routes, the local seed and the tests share. No HTTP here.

Every change is validated in :mod:`.validation`, guarded by the item's version
(no lost updates), and written with its audit record in one transaction.
"""

from __future__ import annotations

from .apis import API_FIELDS, ApiAdmin
from .apps import APP_FIELDS, APP_PATCH_FIELDS, AppAdmin
from .aws_principals import AwsPrincipalAdmin
from .client_keys import ClientKeyAdmin
from .exchange_policies import ExchangePolicyAdmin
from .grants import GrantAdmin
from .secrets import MAX_ACTIVE_SECRETS, IssuedSecret, SecretAdmin
from .tls_clients import TlsClientAdmin
from .usage import UsageAdmin
from .usecase import API_ID_SHAPE, CONCURRENT

__all__ = [
    "API_FIELDS", "API_ID_SHAPE", "APP_FIELDS", "APP_PATCH_FIELDS", "CONCURRENT",
    "MAX_ACTIVE_SECRETS", "IssuedSecret", "Provisioning",
]


class Provisioning(
    ApiAdmin, AppAdmin, SecretAdmin, GrantAdmin, UsageAdmin, ClientKeyAdmin, AwsPrincipalAdmin,
    TlsClientAdmin,
    ExchangePolicyAdmin,
):
    """Every admin use case but signing keys (:mod:`.keys`)."""
