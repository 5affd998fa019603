"""Service-side client for the m2m-auth OAuth 2.0 authorization server.

- `TokenClient`: obtain and cache access tokens (client credentials grant, RFC 6749 §4.4),
  with a client secret or, secretless, `credentials=` an `AssertionCredentials` source
  such as `PrivateKeyJwt` (RFC 7523 private_key_jwt).
- `Verifier`: verify RFC 9068 JWT access tokens in a resource server, DPoP-bound ones
  with their proofs (RFC 9449, `m2m_client.dpop`).
- `DpopKey`: a client's DPoP key; `TokenClient(dpop_key=...)` gets DPoP-bound tokens.
- `make_lambda_authorizer`, `m2m_client.chalice_auth`: API Gateway and Chalice authorizers.
- `m2m_client.mtls`: certificate-bound tokens (RFC 8705 §3); `Verifier.verify(...,
  client_certificate=)` and both authorizers check them.
"""

from __future__ import annotations

from m2m_client.assertion import AssertionCredentials
from m2m_client.aws_iam import AwsIam
from m2m_client.claims import VerifiedToken
from m2m_client.dpop import DpopProofChecker, DpopRequest, MemoryReplayCache, ReplayCache
from m2m_client.dpop_key import DpopKey
from m2m_client.errors import (
    BearerTokenError,
    DiscoveryError,
    InsufficientScope,
    IntrospectionError,
    InvalidDpopProof,
    InvalidRequest,
    InvalidToken,
    KeySetError,
    M2MClientError,
    MissingToken,
    TokenEndpointError,
    TokenError,
    TokenTransportError,
    Unauthorized,
)
from m2m_client.federated import FederatedToken
from m2m_client.fetch import FetchError, HttpResponse, RequestsFetcher
from m2m_client.introspection import Introspector
from m2m_client.jwks import CachePolicy
from m2m_client.lambda_authorizer import make_lambda_authorizer
from m2m_client.private_key_jwt import PrivateKeyJwt
from m2m_client.retry import RetryPolicy
from m2m_client.scopes import ensure_scopes, parse_scope
from m2m_client.token_client import AccessToken, TokenClient
from m2m_client.verifier import Verifier

__version__ = "0.1.0"

__all__ = [
    "AccessToken",
    "AssertionCredentials",
    "AwsIam",
    "BearerTokenError",
    "CachePolicy",
    "DiscoveryError",
    "DpopKey",
    "DpopProofChecker",
    "DpopRequest",
    "FederatedToken",
    "FetchError",
    "HttpResponse",
    "InsufficientScope",
    "IntrospectionError",
    "Introspector",
    "InvalidDpopProof",
    "InvalidRequest",
    "InvalidToken",
    "KeySetError",
    "M2MClientError",
    "MemoryReplayCache",
    "MissingToken",
    "PrivateKeyJwt",
    "ReplayCache",
    "RequestsFetcher",
    "RetryPolicy",
    "TokenClient",
    "TokenEndpointError",
    "TokenError",
    "TokenTransportError",
    "Unauthorized",
    "VerifiedToken",
    "Verifier",
    "ensure_scopes",
    "make_lambda_authorizer",
    "parse_scope",
]
