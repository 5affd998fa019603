"""Admin routes for the certificates an app authenticates with over mutual TLS (RFC 8705
§2; docs/mtls.md): thin views over chalicelib.admin.tls_clients, behind API Gateway IAM
auth like every admin route. Registered under /admin by app.py.

The ETag of these responses is the app's version: adding or removing a certificate
bumps it; ``If-Match`` on POST and DELETE names the version the caller last saw."""

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
    no_content,
    paged_json,
    read_json_object,
)

if TYPE_CHECKING:
    from ..store.records import TlsClient

tls_clients = AdminBlueprint(__name__)


def tls_client_view(tls_client: TlsClient) -> dict[str, Any]:
    """A subject rule shows its one name; a self-signed registration its thumbprints."""
    value: Any = (list(tls_client.values) if tls_client.field == "x5t#S256"
                  else tls_client.values[0])
    return {
        "id": tls_client.credential_id,
        "method": tls_client.method,
        tls_client.field: value,
        "expires_at": timestamp(tls_client.expires_at),
        "created_at": timestamp(tls_client.created_at),
    }


@tls_clients.route("/apps/{client_id}/tls-clients", methods=["POST"], authorizer=iam,
                   content_types=ANY)
@admin_endpoint
def add_tls_client(client_id: str) -> Response:
    body = read_json_object(tls_clients.request())
    tls_client, version = runtime.services().provisioning.add_tls_client(
        client_id, body, if_match(tls_clients.request()), tls_clients.actor()
    )
    return admin_json(tls_client_view(tls_client), 201, etag(version))


@tls_clients.route("/apps/{client_id}/tls-clients", methods=["GET"], authorizer=iam)
@admin_endpoint
def list_tls_clients(client_id: str) -> Response:
    items, version = runtime.services().provisioning.list_tls_clients(client_id)
    return paged_json(tls_clients.request(), items,
                      lambda t: f"{t.created_at:012d}#{t.credential_id}", tls_client_view,
                      etag(version))


@tls_clients.route("/apps/{client_id}/tls-clients/{credential_id}", methods=["DELETE"],
                   authorizer=iam)
@admin_endpoint
def remove_tls_client(client_id: str, credential_id: str) -> Response:
    runtime.services().provisioning.remove_tls_client(
        client_id, credential_id, if_match(tls_clients.request()), tls_clients.actor()
    )
    return no_content()
