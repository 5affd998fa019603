"""Claim rules: which app a verified workload token is (docs/federation.md,
docs/jwt-bearer.md; the "workload trust" of MCP SEP-1933).

A rule is a :class:`~chalicelib.store.records.FederatedIdentity` of an app: an issuer,
an exact subject or a subject pattern, and required claim values. A token matches a rule
when its ``sub`` equals the subject (or matches the pattern, where ``*`` stands for any
non-empty run of characters other than ``:``) and each required claim has exactly the
given string value; a required claim is named by a top-level name (``repository``) or an
RFC 6901 JSON Pointer (``/kubernetes.io/namespace``). Exact rules win: the issuer's
patterns are consulted only when no exact rule matches. The rules that match must name
exactly one app, or the one the request's ``client_id`` names.

Then, on the app's own copy of the rule (read with its credentials): the token's ``aud``
must contain the rule's audience, or one of the audiences the caller allows by default
(our issuer identifier; for the grants also our token endpoint URL) — except for a
token-exchange subject, whose ``aud`` must name a source API of the policy and nothing
of ours (a token handed to a service is never also a credential here); and with the
issuer's ``single_use_jti`` the ``jti`` is recorded, last, so that a failed check never
burns a ``jti``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Protocol

from ..store.records import AppCredentials, FederatedIdentity
from ..store.repository import (
    AppRepository,
    AssertionReplayRepository,
    FederatedIdentityRepository,
)
from .workload_jwt import LEEWAY, Refused, WorkloadToken, string_claim

MAX_JTI_LENGTH = 256
MAX_PATTERN_STARS = 4
MAX_REQUIRED_CLAIMS = 8
MAX_CLAIM_NAME = 128
MAX_CLAIM_VALUE = 512


class RuleStore(
    AppRepository, FederatedIdentityRepository, AssertionReplayRepository, Protocol
):
    """What resolving a workload token reads: the rule lookups, the app, single use."""


@lru_cache(maxsize=1024)
def compiled(pattern: str) -> re.Pattern[str]:
    """``*`` is any non-empty run of characters other than ``:``; the rest is literal."""
    return re.compile("[^:]+".join(re.escape(part) for part in pattern.split("*")))


def claim_value(claims: Mapping[str, Any], name: str) -> Any:
    """A top-level claim, or the value an RFC 6901 JSON Pointer names (``None``: absent)."""
    if not name.startswith("/"):
        return claims.get(name)
    value: Any = claims
    for token in name[1:].split("/"):
        token = token.replace("~1", "/").replace("~0", "~")
        if not isinstance(value, Mapping) or token not in value:
            return None
        value = value[token]
    return value


def rule_matches(identity: FederatedIdentity, subject: str, claims: Mapping[str, Any]) -> bool:
    if identity.pattern:
        if compiled(identity.subject).fullmatch(subject) is None:
            return False
    elif identity.subject != subject:
        return False
    return all(
        isinstance(found := claim_value(claims, name), str) and found == wanted
        for name, wanted in identity.required_claims.items()
    )


@dataclass(frozen=True)
class ResolvedWorkload:
    """A workload token, the app it is, and the rule of the app that it matched."""

    token: WorkloadToken
    credentials: AppCredentials
    identity: FederatedIdentity


class ClaimRules:
    def __init__(self, store: RuleStore) -> None:
        self._store = store

    def matching(self, token: WorkloadToken) -> list[tuple[str, FederatedIdentity]]:
        """(client_id, rule) of every rule the token matches: exact rules (one Query), or
        when none matches, the issuer's patterns (one more Query)."""
        issuer, subject = token.issuer.issuer, token.subject
        exact = [(c, r) for c, r in self._store.identity_rules(issuer, subject)
                 if rule_matches(r, subject, token.claims)]
        if exact:
            return exact
        return [(c, r) for c, r in self._store.identity_rules(issuer, None)
                if rule_matches(r, subject, token.claims)]

    def resolve(
        self,
        token: WorkloadToken,
        client_id: str | None,
        default_audiences: Sequence[str],
        now: int,
        *,
        spend: bool = True,
        subject_of: Sequence[str] | None = None,
    ) -> ResolvedWorkload:
        """The app the token is; ``Refused`` with the reason otherwise.

        ``spend=False`` leaves the single-use ``jti`` to :meth:`spend`, for a caller with
        checks of its own to make first. ``subject_of``: the token is a token-exchange
        subject, which must name one of these audiences (the policy's source APIs) and
        none of ``default_audiences`` (ours), whatever the rule's audience: a token sent
        to a service for it to exchange is then never a credential at our token
        endpoint, and a credential is never an exchange subject."""
        apps = sorted({c for c, _ in self.matching(token)})
        if client_id is not None:
            if client_id not in apps:
                raise Refused("no such identity on the named app")
        elif len(apps) == 1:
            client_id = apps[0]
        else:
            raise Refused("identity of no app" if not apps else "several apps, no client_id")
        credentials = self._store.get_credentials(client_id)
        rules = [i for i in (credentials.federated_identities if credentials else ())
                 if i.issuer == token.issuer.issuer
                 and rule_matches(i, token.subject, token.claims)]
        if credentials is None or not rules:
            raise Refused("no such identity on the app")
        exact = [i for i in rules if not i.pattern]
        identity = (exact or rules)[0]
        audience = token.claims.get("aud")
        audiences = [audience] if isinstance(audience, str) else audience
        if not isinstance(audiences, list):
            raise Refused("aud does not name us")
        if subject_of is not None:
            if any(a in audiences for a in (*default_audiences, identity.audience) if a):
                raise Refused("aud names this server: a credential, not an exchange subject")
            if not any(a in audiences for a in subject_of):
                raise Refused("aud names no source API of the policy")
        else:
            allowed = (identity.audience,) if identity.audience else tuple(default_audiences)
            if not any(a in audiences for a in allowed):
                raise Refused("aud does not name us")
        resolved = ResolvedWorkload(token, credentials, identity)
        if spend:
            self.spend(resolved, now)
        return resolved

    def spend(self, resolved: ResolvedWorkload, now: int) -> None:
        """Record the token's ``jti`` where its issuer makes it single-use; ``Refused``
        when it was used before."""
        token = resolved.token
        if token.issuer.single_use_jti:
            jti = string_claim(token.claims.get("jti"), "jti", MAX_JTI_LENGTH)
            until = max(token.expires_at, now) + LEEWAY
            if not self._store.use_once(token.issuer.issuer_id, jti, until):
                raise Refused("jti replayed")
