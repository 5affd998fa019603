"""Orders API: a business API that accepts m2m-auth access tokens.

The Chalice authorizer verifies the token (RFC 9068); each view checks its own scope
(RFC 6750 §3.1): GET /orders needs `orders:read`, POST /orders needs `orders:write`.
Bearer tokens and DPoP-bound tokens (RFC 9449) are accepted; a DPoP-bound token only
with `Authorization: DPoP` and its proof, which the views check on every request (the
authorizer never sees the proof: docs/dpop.md).
Configuration comes from the stage's environment: M2M_ISSUER, M2M_AUDIENCE and,
optionally, M2M_JWKS_URL (otherwise discovered from the issuer's RFC 8414 metadata)
and M2M_PUBLIC_ORIGIN, the scheme and host clients call the API at, which DPoP proofs
name (`http://127.0.0.1:8001` locally; on AWS API Gateway's domain is used without it).

GET /orders/availability is the next hop of token exchange (RFC 8693,
docs/token-exchange.md): the Orders service exchanges the caller's token for one for the
Inventory API (examples/inventory_api), as itself, and calls that API on the caller's
behalf. It needs M2M_CLIENT_ID and M2M_CLIENT_SECRET (the Orders service's own app, with
an exchange policy for the Inventory API), INVENTORY_URL and INVENTORY_AUDIENCE.
"""

from __future__ import annotations

import os
import threading
import uuid
from typing import Any

import requests
from chalice.app import AuthRequest, AuthResponse, BadRequestError, Chalice, Response
from m2m_client import TokenClient, Verifier
from m2m_client.chalice_auth import authorize, require_scopes

app = Chalice(app_name="orders-api")

_verifier: Verifier | None = None
PUBLIC_ORIGIN = os.environ.get("M2M_PUBLIC_ORIGIN") or None
_exchanger: TokenClient | None = None
_session = requests.Session()  # outgoing calls to the Inventory API
_orders: list[dict[str, Any]] = []
_orders_lock = threading.Lock()


def get_verifier() -> Verifier:
    """The verifier, built once per container on first use (it keeps the JWKS cache)."""
    global _verifier
    if _verifier is None:
        _verifier = Verifier(
            issuer=os.environ["M2M_ISSUER"],
            audience=os.environ["M2M_AUDIENCE"],
            jwks_url=os.environ.get("M2M_JWKS_URL") or None,
        )
    return _verifier


def get_exchanger() -> TokenClient:
    """The Orders service's own token client: it exchanges callers' tokens (RFC 8693)."""
    global _exchanger
    if _exchanger is None:
        _exchanger = TokenClient(
            os.environ["M2M_ISSUER"].rstrip("/") + "/oauth/token",
            os.environ["M2M_CLIENT_ID"],
            os.environ["M2M_CLIENT_SECRET"],
            audience=os.environ["INVENTORY_AUDIENCE"],
        )
    return _exchanger


@app.authorizer(ttl_seconds=300)
def m2m(auth_request: AuthRequest) -> AuthResponse:
    return authorize(auth_request, get_verifier(), dpop=True)


@app.route("/orders", methods=["GET"], authorizer=m2m)
@require_scopes(app, "orders:read", verifier=get_verifier, public_origin=PUBLIC_ORIGIN)
def list_orders() -> dict[str, Any]:
    with _orders_lock:
        return {"orders": list(_orders)}


@app.route("/orders", methods=["POST"], authorizer=m2m)
@require_scopes(app, "orders:write", verifier=get_verifier, public_origin=PUBLIC_ORIGIN)
def create_order() -> Response:
    request = app.current_request
    body = request.json_body if request is not None else None
    if not isinstance(body, dict):
        raise BadRequestError("expected a JSON object")
    item, quantity = body.get("item"), body.get("quantity")
    if not isinstance(item, str) or not item:
        raise BadRequestError("item must be a non-empty string")
    if isinstance(quantity, bool) or not isinstance(quantity, int) or quantity < 1:
        raise BadRequestError("quantity must be a positive integer")
    order = {
        "id": uuid.uuid4().hex,
        "item": item,
        "quantity": quantity,
        "created_by": request.context["authorizer"]["client_id"] if request else None,
    }
    with _orders_lock:
        _orders.append(order)
    return Response(body=order, status_code=201, headers={"Location": f"/orders/{order['id']}"})


@app.route("/orders/availability", methods=["GET"], authorizer=m2m)
@require_scopes(app, "orders:read", verifier=get_verifier, public_origin=PUBLIC_ORIGIN)
def availability() -> Response:
    """Ask the Inventory API, on behalf of this request's caller, what is in stock."""
    request = app.current_request
    incoming = request.headers.get("authorization", "") if request is not None else ""
    _scheme, _, subject_token = incoming.partition(" ")  # Bearer or DPoP: the token itself
    exchanged = get_exchanger().exchange(subject_token.strip(), scope="inventory:read")
    answer = _session.get(os.environ["INVENTORY_URL"].rstrip("/") + "/stock", timeout=5,
                          headers={"Authorization": f"Bearer {exchanged.value}"})
    return Response(body=answer.json(), status_code=answer.status_code)
