"""The grant types (RFC 6749 §4.4, RFC 8693 §2.1, RFC 7523 §2.1) and token type
identifiers (RFC 8693 §3) the token endpoint knows. Names only: the metrics and the
outcome log of the token route import this at cold start."""

from __future__ import annotations

CLIENT_CREDENTIALS = "client_credentials"
TOKEN_EXCHANGE = "urn:ietf:params:oauth:grant-type:token-exchange"  # noqa: S105 - a name
JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer"
KNOWN = frozenset({CLIENT_CREDENTIALS, TOKEN_EXCHANGE, JWT_BEARER})

ACCESS_TOKEN_TYPE = "urn:ietf:params:oauth:token-type:access_token"  # noqa: S105 - a name
"""RFC 8693 §3: an OAuth access token (ours are RFC 9068 JWTs)."""
JWT_TOKEN_TYPE = "urn:ietf:params:oauth:token-type:jwt"  # noqa: S105 - a name
"""RFC 8693 §3: a JWT (here: a workload token from a trusted issuer)."""
