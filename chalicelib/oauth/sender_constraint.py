"""Sender-constrained access tokens (RFC 7800 §3.1 ``cnf``): a token bound to a key the
client proves it holds — a DPoP proof (RFC 9449) or the TLS client certificate
(RFC 8705 §3) — so a copied token is useless without that key.

Each kind of proof is one :class:`ProofOfPossession` module; the token endpoint asks
every configured one about every token request, whatever the grant, and binds the token
to all the proofs presented.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
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


class ProofOfPossession(Protocol):
    """One kind of proof of possession at the token endpoint."""

    def bind(
        self, request: IncomingRequest, decision: GrantDecision, issuer: str, now: int
    ) -> Binding | None:
        """The binding this request proves, ``None`` if it presents no proof of this
        kind. Raises an OAuth error for an invalid proof, or for a missing one that the
        client's or the API's settings require."""


def bind(
    proofs: Sequence[ProofOfPossession],
    request: IncomingRequest,
    decision: GrantDecision,
    issuer: str,
    now: int,
) -> Bindings:
    """Ask every proof module; merge what they bind. An API that requires
    sender-constrained tokens (``sender_constrained_tokens_required``, copied to the
    grant) refuses a request that binds the token to nothing."""
    confirmation: dict[str, str] = {}
    headers: dict[str, str] = {}
    token_type = BEARER
    for proof in proofs:
        binding = proof.bind(request, decision, issuer, now)
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
