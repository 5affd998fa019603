"""DPoP at the token endpoint (RFC 9449 §5, §6.1, §8): a request with a valid proof in
its ``DPoP`` header gets a ``token_type: DPoP`` token whose ``cnf.jkt`` is the
thumbprint of the proof's key.

The :class:`~.sender_constraint.ProofOfPossession` the token endpoint asks about every
request, whatever the grant. A request without a ``DPoP`` header costs a dictionary
lookup: the proof checks (:mod:`.dpop_proof`, which loads PyJWT and cryptography) are
imported on the first request that carries one. The order of the checks:

Steps 2 and 3 run before the grant decides (:mod:`.sender_constraint`), so neither a
refused proof nor the nonce round trip spends the client's single-use assertion.

1. no ``DPoP`` header: no binding, unless the app must use DPoP
   (``dpop_bound_access_tokens``, §5.2), which is ``invalid_dpop_proof``: the request
   lacks the valid proof the app's registration requires (known once the grant decided);
2. the proof itself (:func:`.dpop_proof.verify_proof`: §4.3 items 1-9 and 11);
3. with server nonces on, the proof's ``nonce`` (§8, item 10): a missing or stale one is
   ``use_dpop_nonce`` with a fresh ``DPoP-Nonce``;
4. the ``jti`` is spent last (§11.1), after the grant decided, so a proof refused for
   any other reason can be corrected and sent again: a conditional write remembers it,
   in the namespace of the proof's key, until its ``iat`` leaves the window, after which
   ``iat`` alone refuses a replay.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..errors import InvalidDpopProof, UseDpopNonce
from ..store.repository import AssertionReplayRepository
from .metadata import TOKEN_PATH
from .request import IncomingRequest
from .sender_constraint import Binding, Finish

if TYPE_CHECKING:
    from .dpop_nonce import DpopNonces
    from .grant import GrantDecision

DPOP = "DPoP"
"""The header field (RFC 9449 §4.1) and the token type (§5) alike."""
SIGNING_ALGS = ("ES256", "ES384", "RS256", "PS256", "EdDSA")
"""``dpop_signing_alg_values_supported`` (RFC 9449 §5.1): asymmetric algorithms that
PyJWT with cryptography verifies here (PS256 too: only moto's KMS signs it wrongly,
which is no concern for client keys); :data:`.dpop_proof.KEY_TYPES` fits each to its
key type (a unit test keeps the two in step)."""
REPLAY_NAMESPACE = "dpop:"
"""Proof ids are spent per key: ``dpop:<jkt>`` in the assertion-replay store (a
client id or an issuer hash never starts like this)."""


class DpopProofs:
    """The :class:`~.sender_constraint.ProofOfPossession` for DPoP."""

    def __init__(
        self,
        replay: AssertionReplayRepository,
        window: int,
        nonces: DpopNonces | None = None,
    ) -> None:
        self._replay = replay
        self._window = window
        self._nonces = nonces

    def present(self, request: IncomingRequest, issuer: str, now: int) -> Finish:
        values = request.header_values(DPOP)
        if not values:
            return _without_proof
        from .dpop_proof import verify_proof  # PyJWT and cryptography: only with a proof

        proof = verify_proof(values, method=request.method, url=issuer + TOKEN_PATH,
                             now=now, window=self._window)
        if self._nonces is not None and not self._nonces.is_current(proof.nonce, now):
            raise UseDpopNonce(self._nonces.current(now))

        def spend(decision: GrantDecision) -> Binding:
            if not self._replay.use_once(REPLAY_NAMESPACE + proof.jkt, proof.jti,
                                         proof.iat + self._window + 1):
                raise InvalidDpopProof("The DPoP proof was used before (jti).")
            return Binding({"jkt": proof.jkt}, token_type=DPOP)

        return spend


def _without_proof(decision: GrantDecision) -> None:
    if decision.client.credentials.app.dpop_bound_access_tokens:
        raise InvalidDpopProof(
            "This client must send a DPoP proof with its token requests "
            "(dpop_bound_access_tokens, RFC 9449 §5.2)."
        )
