"""Admin routes (docs/admin-contract.md): thin views over chalicelib.admin, every one
behind API Gateway IAM auth (SigV4). Registered under /admin by app.py."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from chalice.app import Response

from .. import runtime
from ..admin import validation as v
from ..admin.views import (
    api_grant_view,
    api_view,
    app_view,
    audit_view,
    grant_view,
    key_view,
    timestamp,
    usage_view,
)
from ..store.paging import page
from ..tokens.lifetime import DEFAULT_TOKEN_REUSE
from .blueprint import ANY, AdminBlueprint, iam
from .http import (
    admin_endpoint,
    admin_json,
    etag,
    if_match,
    no_content,
    page_params,
    paged_json,
    read_json_object,
)

if TYPE_CHECKING:
    from ..store.records import Page

admin = AdminBlueprint(__name__)

CERTIFICATE_BOUND = "tls_client_certificate_bound_access_tokens"
"""RFC 8705 §3.4 client metadata (chalicelib.admin.apps, not imported at cold start)."""


def _body(allowed: set[str], required: frozenset[str] = frozenset()) -> dict[str, Any]:
    body = read_json_object(admin.request())
    v.only_fields(body, allowed, required)
    return body


def _page(page: Page, view: Any) -> Response:
    return admin_json({"items": [view(i) for i in page.items], "next": page.next})


# ---- APIs ----------------------------------------------------------------------


@admin.route("/apis", methods=["POST"], authorizer=iam, content_types=ANY)
@admin_endpoint
def create_api() -> Response:
    body = _body({"name", "identifier", "scopes", "token_lifetime", "token_reuse",
                  "sender_constrained_tokens_required"}, frozenset({"name", "identifier"}))
    api = runtime.services().provisioning.create_api(
        name=body["name"], identifier=body["identifier"], scopes=body.get("scopes", []),
        token_lifetime=body.get("token_lifetime"), actor=admin.actor(),
        token_reuse=body.get("token_reuse", DEFAULT_TOKEN_REUSE),
        sender_constrained_tokens_required=body.get("sender_constrained_tokens_required", False),
    )
    return admin_json(api_view(api), 201, etag(api.version))


@admin.route("/apis", methods=["GET"], authorizer=iam)
@admin_endpoint
def list_apis() -> Response:
    return _page(runtime.services().provisioning.list_apis(*page_params(admin.request())), api_view)


@admin.route("/apis/{api_id}", methods=["GET"], authorizer=iam)
@admin_endpoint
def get_api(api_id: str) -> Response:
    api = runtime.services().provisioning.get_api(api_id)
    return admin_json(api_view(api), headers=etag(api.version))


@admin.route("/apis/{api_id}", methods=["PATCH"], authorizer=iam, content_types=ANY)
@admin_endpoint
def update_api(api_id: str) -> Response:
    body = read_json_object(admin.request())
    api = runtime.services().provisioning.update_api(
        api_id, body, if_match(admin.request()), admin.actor()
    )
    return admin_json(api_view(api), headers=etag(api.version))


@admin.route("/apis/{api_id}/grants", methods=["GET"], authorizer=iam)
@admin_endpoint
def list_api_grants(api_id: str) -> Response:
    grants = runtime.services().provisioning.grants_of_api(api_id)
    return paged_json(admin.request(), grants, lambda g: g[0],
                      lambda item: api_grant_view(*item))


@admin.route("/apis/{api_id}", methods=["DELETE"], authorizer=iam)
@admin_endpoint
def delete_api(api_id: str) -> Response:
    runtime.services().provisioning.delete_api(api_id, if_match(admin.request()), admin.actor())
    return no_content()


# ---- apps ----------------------------------------------------------------------


@admin.route("/apps", methods=["POST"], authorizer=iam, content_types=ANY)
@admin_endpoint
def create_app() -> Response:
    body = _body({"name", "description", "claims", "token_lifetime", "permissions", "quota",
                  "secret", "dpop_bound_access_tokens", CERTIFICATE_BOUND},
                 frozenset({"name"}))
    fields: dict[str, Any] = {
        k: body.get(k) for k in ("description", "claims", "token_lifetime", "permissions")
    }
    fields["dpop_bound_access_tokens"] = body.get("dpop_bound_access_tokens", False)
    if "quota" in body:  # omitted: the stage default (DEFAULT_APP_QUOTA)
        fields["quota"] = body["quota"]
    if CERTIFICATE_BOUND in body:  # RFC 8705 §3.4
        fields[CERTIFICATE_BOUND] = body[CERTIFICATE_BOUND]
    provisioning = runtime.services().provisioning
    errors = v.Errors()
    with_secret = v.enabled(errors, "secret", body.get("secret", True))
    errors.raise_if_any()
    if not with_secret:  # a secretless app authenticates by assertion only
        app = provisioning.create_secretless_app(name=body["name"], actor=admin.actor(), **fields)
        return admin_json({**app_view(app), "secrets": []}, 201, etag(app.version))
    app, secret = provisioning.create_app(name=body["name"], actor=admin.actor(), **fields)
    view = app_view(app)
    view["secrets"] = [{
        "secret_id": secret.secret_id, "created_at": timestamp(secret.created_at),
        "expires_at": None, "last_used": None,
    }]
    # the only time a secret is ever returned
    view.update(client_secret=secret.client_secret, secret_id=secret.secret_id)
    return admin_json(view, 201, etag(app.version))


@admin.route("/apps", methods=["GET"], authorizer=iam)
@admin_endpoint
def list_apps() -> Response:
    return _page(runtime.services().provisioning.list_apps(*page_params(admin.request())), app_view)


@admin.route("/apps/{client_id}", methods=["GET"], authorizer=iam)
@admin_endpoint
def get_app(client_id: str) -> Response:
    credentials = runtime.services().provisioning.get_app(client_id)
    return admin_json(app_view(credentials.app, credentials.secrets),
                      headers=etag(credentials.app.version))


@admin.route("/apps/{client_id}", methods=["PATCH"], authorizer=iam, content_types=ANY)
@admin_endpoint
def update_app(client_id: str) -> Response:
    body = read_json_object(admin.request())
    provisioning = runtime.services().provisioning
    provisioning.update_app(client_id, body, if_match(admin.request()), admin.actor())
    credentials = provisioning.get_app(client_id)
    return admin_json(app_view(credentials.app, credentials.secrets),
                      headers=etag(credentials.app.version))


@admin.route("/apps/{client_id}", methods=["DELETE"], authorizer=iam)
@admin_endpoint
def delete_app(client_id: str) -> Response:
    runtime.services().provisioning.delete_app(client_id, if_match(admin.request()), admin.actor())
    return no_content()


@admin.route("/apps/{client_id}/usage", methods=["GET"], authorizer=iam)
@admin_endpoint
def app_usage(client_id: str) -> Response:
    app, usage = runtime.services().provisioning.usage(client_id)
    return admin_json(usage_view(app, usage))


@admin.route("/apps/{client_id}/revoke-tokens", methods=["POST"], authorizer=iam,
             content_types=ANY)
@admin_endpoint
def revoke_tokens(client_id: str) -> Response:
    _body(set())
    app = runtime.services().provisioning.revoke_tokens(client_id, admin.actor())
    return admin_json(app_view(app), headers=etag(app.version))


# ---- grants --------------------------------------------------------------------


@admin.route("/apps/{client_id}/grants/{api_id}", methods=["PUT"], authorizer=iam,
             content_types=ANY)
@admin_endpoint
def set_grant(client_id: str, api_id: str) -> Response:
    body = _body({"scopes"}, frozenset({"scopes"}))
    grant = runtime.services().provisioning.set_grant(
        client_id, api_id, body["scopes"], if_match(admin.request()), admin.actor()
    )
    return admin_json(grant_view(grant), headers=etag(grant.version))


@admin.route("/apps/{client_id}/grants", methods=["GET"], authorizer=iam)
@admin_endpoint
def list_grants(client_id: str) -> Response:
    grants = runtime.services().provisioning.list_grants(client_id)
    return _page(page(grants, lambda g: g.api_id, *page_params(admin.request())), grant_view)


@admin.route("/apps/{client_id}/grants/{api_id}", methods=["DELETE"], authorizer=iam)
@admin_endpoint
def remove_grant(client_id: str, api_id: str) -> Response:
    runtime.services().provisioning.remove_grant(
        client_id, api_id, if_match(admin.request()), admin.actor()
    )
    return no_content()


# ---- secrets -------------------------------------------------------------------


@admin.route("/apps/{client_id}/secrets", methods=["POST"], authorizer=iam, content_types=ANY)
@admin_endpoint
def create_secret(client_id: str) -> Response:
    body = _body({"expires_in"})
    secret = runtime.services().provisioning.add_secret(
        client_id, body.get("expires_in"), admin.actor()
    )
    return admin_json({
        "secret_id": secret.secret_id,
        "client_secret": secret.client_secret,  # shown once, never again
        "created_at": timestamp(secret.created_at),
        "expires_at": timestamp(secret.expires_at),
    }, 201)


@admin.route("/apps/{client_id}/secrets/{secret_id}", methods=["DELETE"], authorizer=iam)
@admin_endpoint
def revoke_secret(client_id: str, secret_id: str) -> Response:
    runtime.services().provisioning.revoke_secret(client_id, secret_id, admin.actor())
    return no_content()


# ---- signing keys --------------------------------------------------------------


@admin.route("/keys", methods=["GET"], authorizer=iam)
@admin_endpoint
def list_keys() -> Response:
    keys = runtime.services().keys.list_keys()
    rank = {k.kid: f"{i:06d}" for i, k in enumerate(keys)}  # keep list_keys()'s order
    return _page(page(keys, lambda k: rank[k.kid], *page_params(admin.request())), key_view)


@admin.route("/keys", methods=["POST"], authorizer=iam, content_types=ANY)
@admin_endpoint
def add_key() -> Response:
    body = _body({"kms_key_id", "alg"}, frozenset({"kms_key_id"}))
    key = runtime.services().keys.add_next(body["kms_key_id"], body.get("alg", "RS256"),
                                           admin.actor())
    return admin_json(key_view(key), 201)


@admin.route("/keys/rotate", methods=["POST"], authorizer=iam, content_types=ANY)
@admin_endpoint
def rotate_keys() -> Response:
    _body(set())
    keys = runtime.services().keys.rotate(admin.actor())
    return admin_json({"items": [key_view(k) for k in keys], "next": None})


# ---- audit ---------------------------------------------------------------------


@admin.route("/audit", methods=["GET"], authorizer=iam)
@admin_endpoint
def list_audit() -> Response:
    page = runtime.services().store.list_audit(*page_params(admin.request()))
    return _page(page, audit_view)
