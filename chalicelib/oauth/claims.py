"""Access-token claims (RFC 9068 §2.2) and the size budget of the signing input."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

MAX_ISSUER_LENGTH = 256
"""The longest issuer identifier (``ISSUER`` or one derived from the request): with it,
the worst-case signing input still fits the signer's limit."""

# Claims the server sets; custom claims may never use these names.
# RFC 7519 §4.1, RFC 9068 §2.2 and §2.2.3.1, RFC 8693 §4, RFC 7800 §3, OIDC Core §2.
REGISTERED_CLAIMS = frozenset(
    {
        "iss", "sub", "aud", "exp", "nbf", "iat", "jti",
        "client_id", "scope", "scp", "gty",
        "auth_time", "acr", "amr", "azp", "nonce", "at_hash", "cnf", "act", "may_act",
        "roles", "groups", "entitlements", "token_type", "active",
    }
)

GRANT_TYPE_CLAIM = "client_credentials"
_WORST_ISSUER = "x" * MAX_ISSUER_LENGTH
_WORST_KID = "x" * 43
_WORST_TIME = 9_999_999_999


def access_token_claims(
    *,
    issuer: str,
    client_id: str,
    audience: str,
    scopes: tuple[str, ...],
    issued_at: int,
    lifetime: int,
    jti: str,
    custom: Mapping[str, Any],
    subject: str | None = None,
    grant_type: str = GRANT_TYPE_CLAIM,
    registered: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The JWT claims set; registered claims always win over custom ones. ``subject``
    is ``sub`` when it is not the client; ``registered`` adds claims a grant or a proof
    of possession sets (``act``, RFC 8693 §4.1; ``cnf``, RFC 7800 §3.1)."""
    claims = {
        "iss": issuer,
        "sub": subject or client_id,
        "aud": audience,
        "client_id": client_id,
        "iat": issued_at,
        "exp": issued_at + lifetime,
        "jti": jti,
        "scope": " ".join(scopes),
        "scp": list(scopes),
        "gty": grant_type,
        **(registered or {}),
    }
    custom_only = {k: v for k, v in custom.items() if k not in REGISTERED_CLAIMS}
    return {**claims, **custom_only}


def worst_case_signing_input_size(
    custom: Mapping[str, Any], audience: str, scopes: tuple[str, ...], client_id: str,
    registered: Mapping[str, Any] | None = None,
) -> int:
    """Bytes KMS would be asked to sign for this app, audience and scope set (and the
    registered claims a grant may add, such as the longest ``act``), with the longest
    issuer, kid, times and jti the service can produce."""
    # not at cold start: the admin validators import this module, and these load
    # ``secrets`` (and so OpenSSL) and the signer's dataclasses
    from ..tokens.jws import signing_input
    from .token_id import MAX_JTI_LENGTH

    claims = access_token_claims(
        issuer=_WORST_ISSUER, client_id=client_id, audience=audience, scopes=scopes,
        issued_at=_WORST_TIME, lifetime=0, jti="x" * MAX_JTI_LENGTH, custom=custom,
        registered=registered,
    )
    header = {"alg": "RS256", "typ": "at+jwt", "kid": _WORST_KID}
    return len(signing_input(header, claims))


def fits_signing_limit(
    custom: Mapping[str, Any], audience: str, scopes: tuple[str, ...], client_id: str,
    registered: Mapping[str, Any] | None = None,
) -> bool:
    from ..tokens.signer import KMS_MAX_RAW_MESSAGE

    size = worst_case_signing_input_size(custom, audience, scopes, client_id, registered)
    return size <= KMS_MAX_RAW_MESSAGE


def is_json_value(value: Any, depth: int = 0) -> bool:
    """Custom claim values must be plain JSON (no NaN), nested at most 5 deep."""
    if depth > 5:
        return False
    if value is None or isinstance(value, bool | int | str):
        return True
    if isinstance(value, float):
        return json.dumps(value, allow_nan=True) not in ("NaN", "Infinity", "-Infinity")
    if isinstance(value, list):
        return all(is_json_value(v, depth + 1) for v in value)
    if isinstance(value, dict):
        return all(isinstance(k, str) and is_json_value(v, depth + 1) for k, v in value.items())
    return False
