"""Admin routes for federated workload identity (docs/federation.md): trusted issuers
and apps' federated identities. Thin views over chalicelib.admin.federation, behind
API Gateway IAM auth like every admin route. Registered under /admin by app.py."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from chalice.app import Response

from .. import runtime
from ..admin.views import timestamp
from .blueprint import ANY, AdminBlueprint, iam
from .http import (
    admin_endpoint,
    admin_json,
    etag,
    if_match,
    issuer_for,
    no_content,
    page_params,
    paged_json,
    read_json_object,
)

if TYPE_CHECKING:  # the issuers' key fetching loads on the first request, not at cold start
    from ..admin.federation import FederationAdmin
    from ..federation.jwks_fetch import KeySetStatus
    from ..store.records import FederatedIdentity, TrustedIssuer

federation = AdminBlueprint(__name__)


def issuer_view(issuer: TrustedIssuer) -> dict[str, Any]:
    return {
        "id": issuer.issuer_id,
        "issuer": issuer.issuer,
        "name": issuer.name,
        "kind": issuer.kind,
        "jwks_uri": issuer.jwks_uri,
        "max_token_lifetime": issuer.max_token_lifetime,
        "single_use_jti": issuer.single_use_jti,
        "created_at": timestamp(issuer.created_at),
        "version": issuer.version,
    }


def key_set_view(issuer: TrustedIssuer, status: KeySetStatus) -> dict[str, Any]:
    def when(epoch: float | None) -> str | None:
        return timestamp(int(epoch)) if epoch is not None else None

    return {
        "issuer_id": issuer.issuer_id,
        "issuer": issuer.issuer,
        "state": status.state,
        "jwks_uri": status.jwks_uri,
        "keys": [dict(k) for k in status.keys],
        "fetched_at": when(status.fetched_at),
        "expires_at": when(status.expires_at),
        "checked_at": when(status.checked_at),
    }


def identity_view(identity: FederatedIdentity) -> dict[str, Any]:
    return {
        "id": identity.identity_id,
        "issuer": identity.issuer,
        "subject": None if identity.pattern else identity.subject,
        "subject_pattern": identity.subject if identity.pattern else None,
        "required_claims": dict(identity.required_claims),
        "audience": identity.audience,
        "created_at": timestamp(identity.created_at),
    }


def _admin() -> FederationAdmin:
    return runtime.services().federation


@federation.route("/issuers", methods=["POST"], authorizer=iam, content_types=ANY)
@admin_endpoint
def add_issuer() -> Response:
    request, settings = federation.request(), runtime.services().settings
    own = issuer_for(request, settings.issuer, allow_host=settings.local_mode)
    issuer = _admin().add_issuer(read_json_object(request), federation.actor(), own)
    return admin_json(issuer_view(issuer), 201, etag(issuer.version))


@federation.route("/issuers", methods=["GET"], authorizer=iam)
@admin_endpoint
def list_issuers() -> Response:
    found = _admin().list_issuers(*page_params(federation.request()))
    return admin_json({"items": [issuer_view(i) for i in found.items], "next": found.next})


@federation.route("/issuers/{issuer_id}", methods=["GET"], authorizer=iam)
@admin_endpoint
def get_issuer(issuer_id: str) -> Response:
    issuer = _admin().get_issuer(issuer_id)
    return admin_json(issuer_view(issuer), headers=etag(issuer.version))


@federation.route("/issuers/{issuer_id}/keys", methods=["GET"], authorizer=iam)
@admin_endpoint
def get_issuer_keys(issuer_id: str) -> Response:
    issuer, status = _admin().key_set(issuer_id)
    return admin_json(key_set_view(issuer, status))


@federation.route("/issuers/{issuer_id}", methods=["DELETE"], authorizer=iam)
@admin_endpoint
def delete_issuer(issuer_id: str) -> Response:
    _admin().delete_issuer(issuer_id, if_match(federation.request()), federation.actor())
    return no_content()


@federation.route("/apps/{client_id}/federated-identities", methods=["POST"], authorizer=iam,
                  content_types=ANY)
@admin_endpoint
def add_identity(client_id: str) -> Response:
    identity = _admin().add_identity(
        client_id, read_json_object(federation.request()), federation.actor()
    )
    return admin_json(identity_view(identity), 201)


@federation.route("/apps/{client_id}/federated-identities", methods=["GET"], authorizer=iam)
@admin_endpoint
def list_identities(client_id: str) -> Response:
    return paged_json(federation.request(), _admin().list_identities(client_id),
                      lambda i: i.identity_id, identity_view)


@federation.route("/apps/{client_id}/federated-identities/{identity_id}", methods=["DELETE"],
                  authorizer=iam)
@admin_endpoint
def remove_identity(client_id: str, identity_id: str) -> Response:
    _admin().remove_identity(
        client_id, identity_id, if_match(federation.request()), federation.actor()
    )
    return no_content()
