"""Admin routes for token-exchange policies (RFC 8693, docs/token-exchange.md): thin views
over chalicelib.admin.exchange_policies, behind API Gateway IAM auth like every admin
route. Registered under /admin by app.py."""

from __future__ import annotations

from chalice.app import Response

from .. import runtime
from ..admin.views import exchange_policy_view
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

exchange_policies = AdminBlueprint(__name__)
POLICY = "/apps/{client_id}/exchange-policies/{api_id}"


@exchange_policies.route(POLICY, methods=["PUT"], authorizer=iam, content_types=ANY)
@admin_endpoint
def set_exchange_policy(client_id: str, api_id: str) -> Response:
    request = exchange_policies.request()
    policy = runtime.services().provisioning.set_exchange_policy(
        client_id, api_id, read_json_object(request), if_match(request),
        exchange_policies.actor(),
    )
    return admin_json(exchange_policy_view(policy), headers=etag(policy.version))


@exchange_policies.route("/apps/{client_id}/exchange-policies", methods=["GET"],
                         authorizer=iam)
@admin_endpoint
def list_exchange_policies(client_id: str) -> Response:
    return paged_json(exchange_policies.request(),
                      runtime.services().provisioning.list_exchange_policies(client_id),
                      lambda p: p.target_api_id, exchange_policy_view)


@exchange_policies.route(POLICY, methods=["DELETE"], authorizer=iam)
@admin_endpoint
def remove_exchange_policy(client_id: str, api_id: str) -> Response:
    request = exchange_policies.request()
    runtime.services().provisioning.remove_exchange_policy(
        client_id, api_id, if_match(request), exchange_policies.actor()
    )
    return no_content()
