"""The JWT bearer authorization grant (RFC 7523 §2.1) in the wire format of MCP's
workload identity federation (SEP-1933, docs/jwt-bearer.md): a workload presents the JWT
its platform gave it and gets an access token, with no client registration secret, no
``client_id`` and no client authentication.

``grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer``, ``assertion=<workload JWT>``
and ``resource=<API identifier>`` (required; ``audience``, if sent too, must agree);
optional ``scope`` and ``client_id`` (only to choose among several apps the token's
claim rules name). Client authentication is refused (``invalid_request``): the
assertion is the whole credential.

The assertion is verified like a federated client assertion
(:mod:`chalicelib.federation.workload_jwt`: trusted issuer, asymmetric signature from
the issuer's keys, times, lifetime at most the issuer's maximum, fetched under the SSRF
rules) and mapped to an app by the issuer's claim rules
(:mod:`chalicelib.federation.claim_rules`: exact or pattern subject, required claim
values); its ``aud`` must contain the rule's audience or else our token endpoint URL
(SEP-1933 requires it) or our issuer identifier (draft-ietf-oauth-rfc7523bis); its ``jti``
is single-use where the issuer says so. Every failure there is ``invalid_grant``
(RFC 7523 §3.1) with one description; the reason is logged. Then the grant proceeds as
for client credentials: the app's grant for the resource (``invalid_target``), a subset
of its scopes (``invalid_scope``).
"""

from __future__ import annotations

import logging
from typing import NoReturn

from ..errors import InvalidGrant, InvalidRequest, InvalidTarget
from ..federation.claim_rules import ClaimRules, RuleStore
from ..federation.workload_jwt import Refused, WorkloadJwtVerifier
from .assertion import MAX_ASSERTION_LENGTH
from .client_auth import AuthenticatedClient
from .client_secret import CLIENT_ID_SHAPE
from .grant import GrantDecision, decide_scopes, requested_audience, token_lifetime
from .grant_types import JWT_BEARER
from .metadata import TOKEN_PATH
from .request import IncomingRequest, Parameters
from .scopes import parse_scope

log = logging.getLogger(__name__)

GRANT_TYPE = JWT_BEARER
METHOD = "none"
"""No client authentication (RFC 7591 §2's name), in the token log's ``auth`` field."""
CLIENT_AUTHENTICATION = ("client_secret", "client_assertion", "client_assertion_type")


class JwtBearerGrant:
    grant_type = GRANT_TYPE

    def __init__(self, workloads: WorkloadJwtVerifier, store: RuleStore) -> None:
        self._workloads = workloads
        self._rules = ClaimRules(store)

    def decide(
        self, request: IncomingRequest, params: Parameters, issuer: str, now: int
    ) -> GrantDecision:
        if request.authorization or any(params.single(p) for p in CLIENT_AUTHENTICATION):
            raise InvalidRequest("The jwt-bearer grant takes no client authentication.")
        if not params.all("resource"):
            raise InvalidRequest("The resource parameter is required.")
        audience = requested_audience(params)
        scope_param = params.single("scope")
        requested = parse_scope(scope_param) if scope_param is not None else None
        assertion = params.single("assertion")
        if assertion is None:
            raise InvalidRequest("The assertion parameter is required.")
        client_id = params.single("client_id")
        issuer_id = "-"
        try:
            if len(assertion) > MAX_ASSERTION_LENGTH:
                raise Refused("assertion too long")
            if client_id is not None and not CLIENT_ID_SHAPE.fullmatch(client_id):
                raise Refused("client_id malformed")
            token = self._workloads.verify(assertion, now)
            issuer_id = token.issuer.issuer_id
            resolved = self._rules.resolve(token, client_id, (issuer + TOKEN_PATH, issuer),
                                           now, spend=False)
            if not resolved.credentials.app.enabled:
                raise Refused("app disabled")
        except Refused as refused:
            self._refuse(issuer_id, refused)
        credentials = resolved.credentials
        grant = credentials.grant_for(audience)
        if grant is None or not grant.scopes:
            raise InvalidTarget("The requested resource is not available to this workload.")
        scopes = decide_scopes(requested, grant)
        try:  # last: a request refused for its target or scope leaves the jti unspent
            self._rules.spend(resolved, now)
        except Refused as refused:
            self._refuse(issuer_id, refused)
        return GrantDecision(
            client=AuthenticatedClient(credentials, None, METHOD),
            grant=grant,
            scopes=scopes,
            lifetime=token_lifetime(grant, credentials.app),
            grant_type=GRANT_TYPE,
            reuse_identity=(resolved.identity.identity_id,),
        )

    @staticmethod
    def _refuse(issuer_id: str, refused: Refused) -> NoReturn:
        log.info("jwt-bearer grant refused issuer_id=%s reason=%s", issuer_id, refused)
        raise InvalidGrant("The assertion is not valid or not acceptable.") from None
