"""Sender-constrained access tokens (RFC 7800 §3.1 ``cnf``): a token bound to a key the
client proves it holds — a DPoP proof (RFC 9449) or the TLS client certificate
(RFC 8705 §3) — so a copied token is useless without that key.

Each kind of proof is one :class:`ProofOfPossession` module; the token endpoint asks
every configured one about every token request, whatever the grant, and binds the token
to all the proofs presented. In two steps: what the request alone shows (a DPoP proof's
signature, claims and nonce; the certificate) is checked *before* the grant decides, so
that a proof refused or answered ``use_dpop_nonce`` never spends the client's single-use
assertion or workload token — the corrected retry (RFC 9449 §8) can send it again; what
needs the decision (the app's or the API's requirement) and the proof's own single use
come after.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

from ..errors import InvalidRequest
from .request import IncomingRequest

if TYPE_CHECKING:
    from .grant import GrantDecision

BEARER = "Bearer"


@dataclass(frozen=True)
class Binding:
    """What one proof binds the token to."""

    confirmation: Mapping[str, str]
    """``cnf`` members: ``jkt`` (RFC 9449 §6.1) or ``x5t#S256`` (RFC 8705 §3.1)."""
    token_type: str | None = None
    """The ``token_type`` the client must present the token with (``DPoP``, RFC 9449
    §5); ``None`` keeps ``Bearer`` (RFC 8705 §3: certificate-bound tokens are Bearer)."""
    headers: Mapping[str, str] = field(default_factory=dict)
    """Response header fields (RFC 9449 §8 ``DPoP-Nonce``)."""


@dataclass(frozen=True)
class Bindings:
    """Every binding of one token request, merged."""

    confirmation: Mapping[str, str] = field(default_factory=dict)
    token_type: str = BEARER
    headers: Mapping[str, str] = field(default_factory=dict)

    @property
    def reuse_identity(self) -> tuple[tuple[str, str], ...]:
        """Part of the token-reuse key: a bound token is reused only for the same keys,
        and a bearer request never gets a bound token, nor the reverse."""
        return (("token_type", self.token_type), *sorted(self.confirmation.items()))


UNBOUND = Bindings()


Finish = Callable[["GrantDecision"], "Binding | None"]
"""The second step of one proof: given the grant's decision, the binding (or ``None``),
or an OAuth error for a proof the client's or the API's settings require."""


class ProofOfPossession(Protocol):
    """One kind of proof of possession at the token endpoint."""

    def present(self, request: IncomingRequest, issuer: str, now: int) -> Finish:
        """Check what the request presents, before the grant decides (raises an OAuth
        error for an invalid proof); returns the step that finishes after it."""


def present(
    proofs: Sequence[ProofOfPossession], request: IncomingRequest, issuer: str, now: int
) -> tuple[Finish, ...]:
    """The first step of every proof, before the grant decides."""
    return tuple(proof.present(request, issuer, now) for proof in proofs)


def bind(presented: Sequence[Finish], decision: GrantDecision) -> Bindings:
    """Finish every proof; merge what they bind. An API that requires
    sender-constrained tokens (``sender_constrained_tokens_required``, copied to the
    grant) refuses a request that binds the token to nothing."""
    confirmation: dict[str, str] = {}
    headers: dict[str, str] = {}
    token_type = BEARER
    for finish in presented:
        binding = finish(decision)
        if binding is None:
            continue
        confirmation.update(binding.confirmation)
        headers.update(binding.headers)
        if binding.token_type is not None:
            token_type = binding.token_type
    if decision.grant.sender_constrained_tokens_required and not confirmation:
        raise InvalidRequest(
            "The API requires sender-constrained tokens: send a DPoP proof (RFC 9449) "
            "or a TLS client certificate (RFC 8705)."
        )
    if not confirmation and not headers:
        return UNBOUND
    return Bindings(confirmation, token_type, headers)
