"""Federated workload identity as client authentication (docs/federation.md).

The client presents a token its platform issued to it — AWS outbound identity
federation, a Kubernetes service-account token, a GitHub Actions OIDC token — as a
JWT bearer client assertion (RFC 7523 §2.2, §3 with a third-party issuer), or a
SPIFFE JWT-SVID with ``client_assertion_type=urn:ietf:params:oauth:client-assertion-type:
jwt-spiffe`` (draft-ietf-oauth-spiffe-client-auth §4: ``sub`` is the SPIFFE ID, whose
trust domain names the issuer; ``iss`` and ``jti`` are optional). It authenticates
as the app that lists the token's issuer and subject.

Checks, every failure ``invalid_client`` with no detail (the log says which): the
token's signature, issuer and times (:mod:`chalicelib.federation.workload_jwt`); then the
claim rules (:mod:`chalicelib.federation.claim_rules`): the rules it matches name
exactly one app (or the one the ``client_id`` parameter names), ``aud`` contains the
identity's audience (default: our issuer identifier), ``jti`` used once per issuer when
the issuer's setting says so.
"""

from __future__ import annotations

import logging
from typing import Protocol

from ..errors import InvalidClient
from ..federation.claim_rules import ClaimRules, RuleStore
from ..federation.jwks_fetch import IssuerKeys
from ..federation.workload_jwt import Refused, WorkloadJwtVerifier
from ..store.records import AppCredentials
from ..store.repository import IssuerRepository
from .assertion import JWT_BEARER, JWT_SPIFFE, ClientAssertion, issued_by_client

log = logging.getLogger(__name__)

METHOD = "urn:m2m-auth:params:oauth:client-auth:federated-jwt"
"""Our name for the method in RFC 8414 metadata and logs: an absolute URI, as RFC 7591 §2
requires of names that are not IANA-registered (it was ``federated_jwt`` until 2026-12)."""


class FederationStore(RuleStore, IssuerRepository, Protocol):
    """What the method reads: issuers, identity lookups, apps, and the single-use store."""


class FederatedTokenAuth:
    """``AssertionMethod`` for workload tokens from trusted issuers."""

    method = METHOD

    def __init__(self, store: FederationStore, keys: IssuerKeys) -> None:
        self._verifier = WorkloadJwtVerifier(store, keys)
        self._rules = ClaimRules(store)

    def handles(self, assertion: ClientAssertion) -> bool:
        if assertion.assertion_type == JWT_SPIFFE:
            return True
        return assertion.assertion_type == JWT_BEARER and not issued_by_client(assertion)

    def authenticate(self, assertion: ClientAssertion, issuer: str, now: int) -> AppCredentials:
        issuer_id = "-"
        try:
            token = self._verifier.verify(
                assertion.assertion, now, spiffe=assertion.assertion_type == JWT_SPIFFE
            )
            issuer_id = token.issuer.issuer_id
            return self._rules.resolve(token, assertion.client_id, (issuer,), now).credentials
        except Refused as refused:
            log.info(
                "client authentication failed method=%s issuer_id=%s reason=%s",
                METHOD, issuer_id, refused,
            )
            raise InvalidClient() from None
