"""Inventory API: the second hop of the token-exchange example (docs/token-exchange.md).

The Orders API calls it on behalf of the client that called the Orders API, with a token
it exchanged for this audience (RFC 8693): ``sub`` is that client, ``client_id`` and the
``act`` claim name the Orders service. ``GET /stock`` needs ``inventory:read`` and says on
whose behalf and through whom it was asked (``VerifiedToken.actors``, outermost first).
Configuration comes from the stage's environment: M2M_ISSUER, M2M_AUDIENCE and,
optionally, M2M_JWKS_URL (otherwise discovered from the issuer's RFC 8414 metadata).
"""

from __future__ import annotations

import os
from typing import Any

from chalice.app import AuthRequest, AuthResponse, Chalice
from m2m_client import Verifier
from m2m_client.chalice_auth import authorize, require_scopes

app = Chalice(app_name="inventory-api")

STOCK = {"widget": 12, "gadget": 0}
_verifier: Verifier | None = None


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


@app.authorizer(ttl_seconds=300)
def m2m(auth_request: AuthRequest) -> AuthResponse:
    return authorize(auth_request, get_verifier())


@app.route("/stock", methods=["GET"], authorizer=m2m)
@require_scopes(app, "inventory:read")
def stock() -> dict[str, Any]:
    request = app.current_request
    context = request.context["authorizer"] if request is not None else {}
    return {
        "stock": STOCK,
        # a delegated token: the client on whose behalf, and who acts for it
        "on_behalf_of": context.get("subject", context.get("client_id")),
        "actors": context.get("actors", "").split(),
    }
