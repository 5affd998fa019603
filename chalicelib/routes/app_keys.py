"""Admin routes for an app's public keys (private_key_jwt, RFC 7523 §2.2): thin views
over chalicelib.admin.client_keys, behind API Gateway IAM auth. Registered under /admin."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from chalice.app import Response

from .. import runtime
from ..admin import validation as v
from ..admin.views import timestamp
from .blueprint import ANY, AdminBlueprint, iam
from .http import (
    admin_endpoint,
    admin_json,
    etag,
    if_match,
    no_content,
    paged_json,
    read_json_object,
)

if TYPE_CHECKING:
    from ..store.records import ClientKey

app_keys = AdminBlueprint(__name__)


def client_key_view(key: ClientKey) -> dict[str, Any]:
    return {
        "kid": key.kid,
        "alg": key.alg,
        "jwk": dict(key.jwk),
        "created_at": timestamp(key.created_at),
        "version": key.version,
    }


@app_keys.route("/apps/{client_id}/keys", methods=["POST"], authorizer=iam, content_types=ANY)
@admin_endpoint
def add_client_key(client_id: str) -> Response:
    body = read_json_object(app_keys.request())
    v.only_fields(body, {"jwk"}, frozenset({"jwk"}))
    key = runtime.services().provisioning.add_client_key(
        client_id, body["jwk"], app_keys.actor()
    )
    return admin_json(client_key_view(key), 201, etag(key.version))


@app_keys.route("/apps/{client_id}/keys", methods=["GET"], authorizer=iam)
@admin_endpoint
def list_client_keys(client_id: str) -> Response:
    keys = runtime.services().provisioning.list_client_keys(client_id)
    rank = {k.kid: f"{i:06d}" for i, k in enumerate(keys)}  # oldest first
    return paged_json(app_keys.request(), keys, lambda k: rank[k.kid], client_key_view)


@app_keys.route("/apps/{client_id}/keys/{kid}", methods=["DELETE"], authorizer=iam)
@admin_endpoint
def remove_client_key(client_id: str, kid: str) -> Response:
    runtime.services().provisioning.remove_client_key(
        client_id, kid, if_match(app_keys.request()), app_keys.actor()
    )
    return no_content()
