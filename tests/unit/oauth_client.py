"""Builds OAuth requests the way a client would send them (shared by the unit tests)."""

from __future__ import annotations

import base64
from urllib.parse import quote_plus, urlencode

from chalicelib.oauth.request import FORM, IncomingRequest


def basic(client_id: str, secret: str) -> str:
    """RFC 6749 §2.3.1: form-urlencode id and secret, join with ':', then base64."""
    raw = f"{quote_plus(client_id)}:{quote_plus(secret)}".encode()
    return "Basic " + base64.b64encode(raw).decode("ascii")


def form_request(
    params: dict[str, str] | list[tuple[str, str]], authorization: str | None = None
) -> IncomingRequest:
    return IncomingRequest(
        body=urlencode(params).encode("ascii"), content_type=FORM, authorization=authorization
    )
