"""OAuth 2.0 Token Exchange (RFC 8693): an authenticated client (the caller) trades a
token it received (the subject token) for a token for another API (docs/token-exchange.md).

The request (§2.1): ``subject_token`` and ``subject_token_type`` — an access token this
server issued (``urn:ietf:params:oauth:token-type:access_token``) or a workload JWT from a
trusted issuer (``urn:ietf:params:oauth:token-type:jwt``); ``audience`` or ``resource``
naming the target API; optional ``scope``, ``requested_token_type`` (access tokens only),
``actor_token`` and ``actor_token_type`` (an access token of the caller about itself,
not a delegated one: no ``act``).

The caller's exchange policy for the target (an admin's, read with the caller's
credentials) decides: which source APIs' tokens and which issuers' workload tokens it may
present, the most scope the result may carry — never more than the subject's own grant
for the target — whether it delegates (the result carries an RFC 8693 §4.1 ``act`` claim
naming the caller, nesting the subject token's own ``act``, or the client an impersonated
subject token was issued to) or may impersonate (no ``act``; refused for a subject token
that already names an actor, which could then only be delegated further), and the
longest ``act`` chain. ``sub`` stays the subject; ``client_id`` is the
caller (RFC 8693 §4.3, RFC 9068 §2.2), whose quota, revocation generation and custom
claims apply. The result never outlives the subject token (nor the actor token).

Errors (§2.2.2): a subject or actor token that is invalid, inactive or unacceptable to
the policy is ``invalid_request``; a target the caller has no policy for, or for which
nothing would be left of the subject's grant, is ``invalid_target``; a caller with no
policy at all is ``unauthorized_client``; a scope beyond what is left is ``invalid_scope``.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Hashable, Mapping
from dataclasses import dataclass, replace
from typing import Any, Protocol

from ..errors import InvalidRequest, InvalidTarget, UnauthorizedClient
from ..federation.claim_rules import ClaimRules, RuleStore
from ..federation.workload_jwt import Refused, WorkloadJwtVerifier
from ..store.records import ExchangePolicy, Grant
from ..store.repository import IssuerRepository, RevocationRepository
from ..tokens.verify import OwnTokenVerifier
from .act_claim import MalformedAct, act_depth, delegated
from .client_auth import AuthenticatedClient, ClientAuthenticator
from .client_secret import CLIENT_ID_SHAPE
from .grant import GrantDecision, decide_scopes, requested_audience, token_lifetime
from .grant_types import ACCESS_TOKEN_TYPE, JWT_TOKEN_TYPE, TOKEN_EXCHANGE
from .metadata import TOKEN_PATH
from .request import IncomingRequest, Parameters
from .scopes import parse_scope
from .token_id import revoked_by_admin

log = logging.getLogger(__name__)

GRANT_TYPE = TOKEN_EXCHANGE
SUBJECT_TYPES = (ACCESS_TOKEN_TYPE, JWT_TOKEN_TYPE)


class ExchangeStore(RuleStore, IssuerRepository, RevocationRepository, Protocol):
    """What an exchange reads beyond the caller's credentials."""


class _Unacceptable(Exception):
    """A subject or actor token refused; the reason goes to the log only."""


@dataclass(frozen=True)
class _Subject:
    """The subject token, as far as the new token depends on it."""

    subject: str
    """The new token's ``sub``: the app the subject token speaks for."""
    grant: Grant | None
    """That app's grant for the target API."""
    act: Mapping[str, Any] | None
    """The actors the subject token already names: its ``act``, or the client it was
    issued to when that is not its ``sub`` (an impersonated token)."""
    expires_at: int
    identity: Hashable
    """The subject token's identity, for the reuse key."""


class TokenExchangeGrant:
    grant_type = GRANT_TYPE

    def __init__(
        self,
        authenticator: ClientAuthenticator,
        own_tokens: OwnTokenVerifier,
        store: ExchangeStore,
        workloads: WorkloadJwtVerifier,
    ) -> None:
        self._authenticator = authenticator
        self._own = own_tokens
        self._store = store
        self._workloads = workloads
        self._rules = ClaimRules(store)

    def decide(
        self, request: IncomingRequest, params: Parameters, issuer: str, now: int
    ) -> GrantDecision:
        target = requested_audience(params)
        scope_param = params.single("scope")
        requested = parse_scope(scope_param) if scope_param is not None else None
        if params.single("requested_token_type") not in (None, ACCESS_TOKEN_TYPE):
            raise InvalidRequest(f"Only access tokens ({ACCESS_TOKEN_TYPE}) are issued.")
        subject_token = params.single("subject_token")
        subject_type = params.single("subject_token_type")
        if subject_token is None or subject_type is None:
            raise InvalidRequest("subject_token and subject_token_type are required.")
        if subject_type not in SUBJECT_TYPES:
            raise InvalidRequest(f"subject_token_type must be one of {', '.join(SUBJECT_TYPES)}.")
        actor_token = params.single("actor_token")
        actor_type = params.single("actor_token_type")
        if (actor_token is None) != (actor_type is None):
            raise InvalidRequest("actor_token and actor_token_type must be sent together.")
        if actor_type not in (None, ACCESS_TOKEN_TYPE):
            raise InvalidRequest("The actor_token must be an access token of this server.")

        caller = self._authenticator.authenticate(request, params, issuer)
        credentials = caller.credentials
        if not credentials.exchange_policies:
            log.info("token exchange refused client_id=%s reason=no policy", caller.client_id)
            raise UnauthorizedClient("This client may not use token exchange.")
        policy = credentials.exchange_policy_for(target)
        if policy is None:
            log.info("token exchange refused client_id=%s reason=no policy for the target",
                     caller.client_id)
            raise InvalidTarget("The requested audience is not available to this client.")
        try:
            actor = self._actor(actor_token, caller, issuer) if actor_token else None
            if subject_type == ACCESS_TOKEN_TYPE:
                subject = self._access_token_subject(subject_token, policy, actor, issuer, now)
            else:
                subject = self._workload_subject(subject_token, policy, issuer, now)
                if actor is not None:
                    _, revoked = self._store.token_status(caller.client_id, actor["jti"], now)
                    if revoked:
                        raise _Unacceptable("actor_token revoked")
            return self._decision(caller, policy, subject, actor, requested, now)
        except _Unacceptable as refused:
            log.info("token exchange refused client_id=%s reason=%s", caller.client_id, refused)
            raise InvalidRequest(
                "The subject_token or actor_token is invalid, inactive or not acceptable "
                "under this client's exchange policy."
            ) from None

    def _actor(
        self, token: str, caller: AuthenticatedClient, issuer: str
    ) -> dict[str, Any]:
        """An active access token of the caller about itself (not a delegated one)."""
        claims = self._own.verify(token, issuer)
        if claims is None:
            raise _Unacceptable("actor_token invalid or expired")
        if claims["client_id"] != caller.client_id or claims["sub"] != caller.client_id:
            raise _Unacceptable("actor_token is not the authenticated client's own token")
        if "act" in claims:
            raise _Unacceptable("actor_token is itself delegated")
        if revoked_by_admin(caller.credentials.app, claims):
            raise _Unacceptable("actor_token revoked by an admin")
        return claims

    def _access_token_subject(
        self,
        token: str,
        policy: ExchangePolicy,
        actor: dict[str, Any] | None,
        issuer: str,
        now: int,
    ) -> _Subject:
        claims = self._own.verify(token, issuer)
        if claims is None:
            raise _Unacceptable("subject_token invalid or expired")
        audience, subject, issued_to = claims["aud"], claims["sub"], claims["client_id"]
        # the policy lists APIs by id; the identifiers it copied say which one this is
        sources = dict(zip(policy.source_audiences, policy.source_apis, strict=False))
        source_api_id = sources.get(audience) if isinstance(audience, str) else None
        if source_api_id is None:
            raise _Unacceptable("subject_token is of an API the policy does not list")
        if not all(isinstance(v, str) and CLIENT_ID_SHAPE.fullmatch(v)
                   for v in (subject, issued_to)):
            raise _Unacceptable("subject_token names no app")
        jti = str(claims["jti"])
        jtis = (jti,) if actor is None else (jti, str(actor["jti"]))
        state = self._store.exchange_subject(subject, policy.target_api_id, issued_to, jtis,
                                             now, source_api_id)
        if state.source_api is None or state.source_api.identifier != audience:
            # deleted: an API created since with its identifier is no source until an
            # admin lists it
            raise _Unacceptable("subject_token is of a source API that was deleted")
        issuing = state.issuing_app
        if issuing is None or not issuing.enabled or jti in state.revoked:
            raise _Unacceptable("subject_token revoked or of a blocked or deleted app")
        if revoked_by_admin(issuing, claims):
            raise _Unacceptable("subject_token revoked by an admin")
        if state.subject_app is None or not state.subject_app.enabled:
            raise _Unacceptable("the subject's app is blocked or deleted")
        if actor is not None and str(actor["jti"]) in state.revoked:
            raise _Unacceptable("actor_token revoked")
        act = claims.get("act")
        try:
            act_depth(act)
        except MalformedAct:
            raise _Unacceptable("subject_token act claim malformed") from None
        if act is None and issued_to != subject:
            act = {"sub": issued_to}  # an impersonated token: its caller stays on the record
        return _Subject(subject, state.grant, act, int(claims["exp"]), ("access_token", jti))

    def _workload_subject(
        self, token: str, policy: ExchangePolicy, issuer: str, now: int
    ) -> _Subject:
        try:
            workload = self._workloads.verify(token, now)
            if workload.issuer.issuer not in policy.source_issuers:
                raise Refused("issuer not a source of the policy")  # before the jti is used
            resolved = self._rules.resolve(workload, None, (issuer, issuer + TOKEN_PATH), now,
                                           subject_of=policy.source_audiences)
        except Refused as refused:
            raise _Unacceptable(f"workload subject_token: {refused}") from None
        credentials = resolved.credentials
        if not credentials.app.enabled:
            raise _Unacceptable("the subject's app is blocked")
        grant = next((g for g in credentials.grants if g.api_id == policy.target_api_id), None)
        claims = workload.claims
        return _Subject(
            credentials.app.client_id, grant, None, workload.expires_at,
            ("jwt", workload.issuer.issuer, workload.subject, str(claims.get("jti", ""))),
        )

    @staticmethod
    def _decision(
        caller: AuthenticatedClient,
        policy: ExchangePolicy,
        subject: _Subject,
        actor: dict[str, Any] | None,
        requested: tuple[str, ...] | None,
        now: int,
    ) -> GrantDecision:
        if actor is not None and not policy.delegation:
            raise _Unacceptable("the policy allows impersonation only, not delegation")
        # delegation when asked for (actor_token) or when impersonation is not allowed
        delegate = actor is not None or not policy.impersonation
        if not delegate and subject.act is not None:
            # client_id would name the caller while act named an earlier actor, hiding
            # the party acting now: a token naming an actor can only be delegated further
            raise _Unacceptable("impersonation of a subject_token that names an actor")
        act = delegated(caller.client_id, subject.act) if delegate else None
        if act_depth(act) > policy.max_act_depth:
            raise _Unacceptable("the act chain would exceed the policy's maximum depth")
        grant = subject.grant
        available = tuple(s for s in grant.scopes if s in policy.scopes) if grant else ()
        if grant is None or not available:
            log.info("token exchange refused client_id=%s reason=nothing of the subject's "
                     "grant is left under the policy", caller.client_id)
            raise InvalidTarget("The requested audience is not available for this subject.")
        grant = replace(grant, scopes=available)
        not_after = subject.expires_at
        if actor is not None:
            not_after = min(not_after, int(actor["exp"]))
        if not_after <= now:
            raise _Unacceptable("subject_token or actor_token expires now")
        return GrantDecision(
            client=caller,
            grant=grant,
            scopes=decide_scopes(requested, grant),
            lifetime=token_lifetime(grant, caller.credentials.app),
            grant_type=GRANT_TYPE,
            subject=subject.subject,
            claims={"act": act} if act else {},
            reuse_identity=(
                subject.identity, delegate, json.dumps(act, sort_keys=True),
                policy.target_api_id, policy.version,
            ),
            response={"issued_token_type": ACCESS_TOKEN_TYPE},
            not_after=not_after,
        )
