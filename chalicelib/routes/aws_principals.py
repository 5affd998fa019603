"""Admin routes for the IAM principals an app authenticates as (docs/aws-iam-auth.md),
behind API Gateway IAM auth like every admin route. Registered under /admin by app.py.

The ETag of these responses is the app's version: adding or removing a principal
changes the app's set of principals and bumps it; ``If-Match`` on POST and DELETE
names the version the caller last saw."""

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
    from ..store.records import AwsPrincipal

aws_principals = AdminBlueprint(__name__)


def principal_view(principal: AwsPrincipal) -> dict[str, Any]:
    return {
        "id": principal.principal_id,
        "arn": principal.arn,
        "principal": principal.key,
        "created_at": timestamp(principal.created_at),
    }


@aws_principals.route("/apps/{client_id}/aws-principals", methods=["POST"], authorizer=iam,
                      content_types=ANY)
@admin_endpoint
def add_aws_principal(client_id: str) -> Response:
    body = read_json_object(aws_principals.request())
    v.only_fields(body, {"arn"}, frozenset({"arn"}))
    principal, version = runtime.services().provisioning.add_aws_principal(
        client_id, body["arn"], if_match(aws_principals.request()), aws_principals.actor()
    )
    return admin_json(principal_view(principal), 201, etag(version))


@aws_principals.route("/apps/{client_id}/aws-principals", methods=["GET"], authorizer=iam)
@admin_endpoint
def list_aws_principals(client_id: str) -> Response:
    principals, version = runtime.services().provisioning.list_aws_principals(client_id)
    return paged_json(aws_principals.request(), principals,
                      lambda p: f"{p.created_at:012d}#{p.principal_id}", principal_view,
                      etag(version))


@aws_principals.route("/apps/{client_id}/aws-principals/{principal_id}", methods=["DELETE"],
                      authorizer=iam)
@admin_endpoint
def remove_aws_principal(client_id: str, principal_id: str) -> Response:
    runtime.services().provisioning.remove_aws_principal(
        client_id, principal_id, if_match(aws_principals.request()), aws_principals.actor()
    )
    return no_content()
