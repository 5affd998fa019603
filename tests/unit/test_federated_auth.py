"""Federated workload identity as client authentication: every rule, and the negative
suite of issue 10 that concerns it (docs/federation.md). The issuer is a real OpenID
provider on loopback; the store is the in-memory fake."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace

import jwt
import pytest
from cryptography.hazmat.primitives import serialization

from chalicelib.errors import InvalidClient, TemporarilyUnavailable
from chalicelib.federation.issuers import issuer_id_for, spiffe_issuer
from chalicelib.federation.jwks_fetch import IssuerKeys
from chalicelib.federation.safe_http import SafeFetcher
from chalicelib.federation.workload_jwt import Refused, WorkloadJwtVerifier
from chalicelib.oauth.assertion import JWT_BEARER, JWT_SPIFFE, ClientAssertion
from chalicelib.oauth.federated import FederatedTokenAuth
from chalicelib.store.memory import MemoryStore
from chalicelib.store.records import App, ClientSecret, FederatedIdentity, TrustedIssuer
from tests.fakes import FakeClock
from tests.oidc_issuer import TestIssuer, serve_issuer
from tests.unit.test_federation_fetch import RecordingConnector, RecordingResolver

US = "https://auth.example.test/v1"
SUBJECT = "system:serviceaccount:billing:invoicer"
APP_A = "a" * 26
APP_B = "b" * 26


class Setup:
    def __init__(self, issuer: TestIssuer, clock: FakeClock) -> None:
        self.issuer = issuer
        self.clock = clock
        self.store = MemoryStore()
        self.trusted = TrustedIssuer(
            issuer_id_for(issuer.issuer), issuer.issuer, "Test cluster", "kubernetes",
            None, max_token_lifetime=3600, single_use_jti=True,
        )
        self.store.add_issuer(self.trusted)
        self.keys = IssuerKeys(SafeFetcher(local_mode=True), clock, local_mode=True)
        self.method = FederatedTokenAuth(self.store, self.keys)
        for client_id in (APP_A, APP_B):
            self.store.create_app(App(client_id, f"app {client_id[0]}"),
                                  ClientSecret("sec_0000000000000000", "v1$x$y", 0))

    def bind(self, client_id: str = APP_A, subject: str = SUBJECT,
             audience: str | None = None, issuer: str | None = None) -> None:
        app = self.store.get_app(client_id)
        assert app is not None
        identity = FederatedIdentity(f"fed_{client_id[0]}{len(subject)}",
                                     issuer or self.issuer.issuer, subject, audience)
        self.store.add_federated_identity(client_id, identity, app.version)

    def token(self, subject: str = SUBJECT, audience: str | list[str] = US, **kw: object) -> str:
        kw.setdefault("now", self.clock.now)
        return self.issuer.token(subject, audience, **kw)  # type: ignore[arg-type]

    def authenticate(self, token: str, client_id: str | None = None,
                     assertion_type: str = JWT_BEARER) -> str:
        credentials = self.method.authenticate(
            ClientAssertion(assertion_type, token, client_id), US, int(self.clock.now)
        )
        return credentials.app.client_id


@pytest.fixture
def setup(clock: FakeClock) -> Iterator[Setup]:
    with serve_issuer() as issuer:
        yield Setup(issuer, clock)


# -- accepted ---------------------------------------------------------------------------


def test_accepts_a_workload_token_of_a_listed_identity(setup: Setup) -> None:
    setup.bind()

    assert setup.authenticate(setup.token()) == APP_A


def test_accepts_es256_tokens_and_aud_arrays_that_contain_us(setup: Setup) -> None:
    setup.bind()

    assert setup.authenticate(setup.token(alg="ES256")) == APP_A
    assert setup.authenticate(setup.token(audience=["sts.amazonaws.com", US])) == APP_A


def test_identity_audience_replaces_our_issuer_as_the_required_aud(setup: Setup) -> None:
    setup.bind(audience="urn:m2m-auth:billing")

    assert setup.authenticate(setup.token(audience="urn:m2m-auth:billing")) == APP_A
    with pytest.raises(InvalidClient):
        setup.authenticate(setup.token(audience=US))


def test_identity_bound_to_two_apps_needs_the_client_id(setup: Setup) -> None:
    setup.bind(APP_A)
    setup.bind(APP_B)

    assert setup.authenticate(setup.token(), client_id=APP_B) == APP_B
    with pytest.raises(InvalidClient):
        setup.authenticate(setup.token())


def test_jti_may_repeat_when_the_issuer_does_not_require_single_use(setup: Setup) -> None:
    setup.store.issuers[setup.trusted.issuer_id] = replace(setup.trusted, single_use_jti=False)
    setup.bind()
    token = setup.token(jti=None)

    assert setup.authenticate(token) == APP_A
    assert setup.authenticate(token) == APP_A


def test_caches_the_issuer_keys_across_requests(setup: Setup) -> None:
    setup.bind()
    setup.store.issuers[setup.trusted.issuer_id] = replace(setup.trusted, single_use_jti=False)

    for _ in range(3):
        setup.authenticate(setup.token())

    assert setup.issuer.behaviour.requests == ["/.well-known/openid-configuration", "/jwks"]



def test_refuses_a_token_repeating_a_member_name_in_its_payload_or_header(
    setup: Setup,
) -> None:
    import base64

    setup.bind()
    header_b64, payload_b64, _ = setup.token().split(".")

    def text(segment: str) -> str:
        return base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4)).decode()

    def b64(data: str) -> str:
        return base64.urlsafe_b64encode(data.encode()).decode().rstrip("=")

    for header, payload in [
        (text(header_b64), '{"sub": "someone-else", ' + text(payload_b64)[1:]),
        ('{"kid": "unknown", ' + text(header_b64)[1:], text(payload_b64)),
    ]:
        signing_input = f"{b64(header)}.{b64(payload)}"
        signature = jwt.get_algorithm_by_name("RS256").sign(
            signing_input.encode(), setup.issuer.rsa)
        token = f"{signing_input}.{base64.urlsafe_b64encode(signature).decode().rstrip('=')}"
        assert jwt.decode(token, options={"verify_signature": False})["sub"] == SUBJECT

        with pytest.raises(InvalidClient):
            setup.authenticate(token)


# -- refused: the negative suite --------------------------------------------------------


def test_rejects_token_of_an_issuer_not_registered(setup: Setup) -> None:
    setup.bind()
    del setup.store.issuers[setup.trusted.issuer_id]

    with pytest.raises(InvalidClient):
        setup.authenticate(setup.token())

    assert setup.issuer.behaviour.requests == []


def test_rejects_alg_none(setup: Setup) -> None:
    setup.bind()
    claims = jwt.decode(setup.token(), options={"verify_signature": False})
    unsigned = jwt.encode(claims, None, algorithm="none", headers={"kid": "rsa-1"})

    with pytest.raises(InvalidClient):
        setup.authenticate(unsigned)


@pytest.mark.parametrize("alg", [{}, [], {"RS256": 1}], ids=["object", "array", "object-2"])
def test_rejects_a_non_string_alg_with_invalid_client_not_a_crash(
    setup: Setup, alg: object
) -> None:
    # Before any key is looked up, so anyone naming a registered issuer could send it
    import base64
    import json

    def b64(document: object) -> str:
        return base64.urlsafe_b64encode(json.dumps(document).encode()).decode().rstrip("=")

    setup.bind()
    claims = jwt.decode(setup.token(), options={"verify_signature": False})
    token = f"{b64({'alg': alg, 'kid': 'rsa-1'})}.{b64(claims)}.c2lnbmF0dXJl"

    with pytest.raises(InvalidClient):
        setup.authenticate(token)


def test_rejects_hs256_signed_with_the_issuer_public_key(setup: Setup) -> None:
    setup.bind()
    claims = jwt.decode(setup.token(), options={"verify_signature": False})
    pem = setup.issuer.rsa.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    import hashlib
    import hmac
    import json

    from jwt.utils import base64url_encode

    signing_input = (
        base64url_encode(json.dumps({"alg": "HS256", "kid": "rsa-1"}).encode()) + b"."
        + base64url_encode(json.dumps(claims).encode())
    )
    forged = signing_input + b"." + base64url_encode(
        hmac.new(pem, signing_input, hashlib.sha256).digest()
    )

    with pytest.raises(InvalidClient):
        setup.authenticate(forged.decode())


def test_rejects_a_token_signed_by_another_registered_issuer_with_the_same_kid(
    setup: Setup,
) -> None:
    # GIVEN a second trusted issuer whose key has the same kid ("rsa-1") as the first's,
    # its keys already cached after one of its own tokens was accepted
    with serve_issuer() as other:
        setup.store.add_issuer(TrustedIssuer(
            issuer_id_for(other.issuer), other.issuer, "Dev cluster", "kubernetes", None,
            max_token_lifetime=3600, single_use_jti=True,
        ))
        setup.bind(APP_B, issuer=other.issuer)
        setup.bind(APP_A)
        assert setup.authenticate(other.token(SUBJECT, US, now=setup.clock.now)) == APP_B
        assert other.kids["rsa"] == setup.issuer.kids["rsa"]

        # WHEN that issuer signs a token claiming to be the first issuer
        forged = other.token(SUBJECT, US, now=setup.clock.now, iss=setup.issuer.issuer)

        # THEN the first issuer's own key is used, and the signature does not verify
        with pytest.raises(InvalidClient):
            setup.authenticate(forged)


def test_rejects_unknown_kid(setup: Setup) -> None:
    setup.bind()

    with pytest.raises(InvalidClient):
        setup.authenticate(setup.token(kid="not-a-key"))


def test_rejects_key_of_another_type_than_the_alg(setup: Setup) -> None:
    setup.bind()

    with pytest.raises(InvalidClient):
        setup.authenticate(setup.token(kid="ec-1"))  # RS256 header, EC key


def test_rejects_token_whose_alg_differs_from_the_key_alg(setup: Setup) -> None:
    # GIVEN the issuer publishes its RSA key for RS512 only
    setup.bind()
    setup.issuer.served_keys = [{**k, "alg": "RS512"} if k["kid"] == "rsa-1" else k
                                for k in setup.issuer.jwks()["keys"]]

    # THEN an RS256 token under that kid is refused, an RS512 one accepted
    with pytest.raises(InvalidClient):
        setup.authenticate(setup.token(alg="RS256"))
    assert setup.authenticate(setup.token(alg="RS512")) == APP_A


def test_rejects_tampered_signature(setup: Setup) -> None:
    setup.bind()
    head, payload, signature = setup.token().split(".")
    other = jwt.decode(setup.token(subject="system:serviceaccount:x:y"),
                       options={"verify_signature": False})
    import json

    from jwt.utils import base64url_encode
    swapped = base64url_encode(json.dumps({**other, "sub": SUBJECT, "aud": US}).encode())

    with pytest.raises(InvalidClient):
        setup.authenticate(f"{head}.{swapped.decode()}.{signature}")


def test_rejects_expired_token(setup: Setup) -> None:
    setup.bind()
    token = setup.token(lifetime=300)
    setup.clock.advance(300 + 31)

    with pytest.raises(InvalidClient):
        setup.authenticate(token)


def test_rejects_token_without_exp(setup: Setup) -> None:
    setup.bind()

    with pytest.raises(InvalidClient):
        setup.authenticate(setup.token(exp=None))


def test_rejects_lifetime_longer_than_the_issuer_maximum(setup: Setup) -> None:
    setup.bind()

    with pytest.raises(InvalidClient):
        setup.authenticate(setup.token(lifetime=3601))
    with pytest.raises(InvalidClient):  # no iat: counted from now
        setup.authenticate(setup.token(lifetime=3700, iat=None))
    assert setup.authenticate(setup.token(lifetime=3600)) == APP_A


def test_rejects_token_not_yet_valid(setup: Setup) -> None:
    setup.bind()

    with pytest.raises(InvalidClient):
        setup.authenticate(setup.token(now=setup.clock.now + 120))


def test_rejects_replayed_jti_when_single_use_is_on(setup: Setup) -> None:
    setup.bind()
    token = setup.token()
    setup.authenticate(token)

    with pytest.raises(InvalidClient):
        setup.authenticate(token)


def test_rejects_missing_jti_when_single_use_is_on(setup: Setup) -> None:
    setup.bind()

    with pytest.raises(InvalidClient):
        setup.authenticate(setup.token(jti=None))


@pytest.mark.parametrize("audience", [
    "https://other-auth.example",
    f"{US}/oauth/token",
    ["https://other-auth.example"],
    [],
])
def test_rejects_wrong_aud(setup: Setup, audience: str | list[str]) -> None:
    setup.bind()

    with pytest.raises(InvalidClient):
        setup.authenticate(setup.token(audience=audience))


def test_rejects_subject_bound_to_another_app(setup: Setup) -> None:
    # GIVEN the workload is listed by app B only
    setup.bind(APP_B)

    # WHEN it names app A THEN it is refused; without client_id it gets B
    with pytest.raises(InvalidClient):
        setup.authenticate(setup.token(), client_id=APP_A)
    assert setup.authenticate(setup.token()) == APP_B


def test_rejects_subject_no_app_lists(setup: Setup) -> None:
    setup.bind(subject="system:serviceaccount:billing:other")

    with pytest.raises(InvalidClient):
        setup.authenticate(setup.token())


def test_rejects_crit_header(setup: Setup) -> None:
    setup.bind()

    with pytest.raises(InvalidClient):
        setup.authenticate(setup.token(headers={"crit": ["exp"], "exp": 1}))


@pytest.mark.parametrize("typ", [
    "at+jwt", "application/at+jwt", "dpop+jwt", "application/dpop+jwt",
    "AT+JWT", "Application/DPoP+JWT", ["JWT"],
])
def test_rejects_an_access_token_or_dpop_proof_typ_as_a_workload_token(
    setup: Setup, typ: object
) -> None:
    # RFC 8725 §3.11: one of our access tokens (RFC 9068 typ at+jwt) or a DPoP proof
    # (RFC 9449 typ dpop+jwt) signed by an issuer's key is never a workload token
    setup.bind()
    verifier = WorkloadJwtVerifier(setup.store, setup.keys)
    token = setup.token(headers={"typ": typ})

    with pytest.raises(Refused, match="typ"):
        verifier.verify(token, int(setup.clock.now))
    with pytest.raises(InvalidClient):
        setup.authenticate(token)


@pytest.mark.parametrize("typ", ["JWT", "jwt", "application/jwt", "kubernetes+jwt"])
def test_accepts_a_workload_token_typed_jwt_or_its_platforms_type(
    setup: Setup, typ: str
) -> None:
    setup.bind()

    assert setup.authenticate(setup.token(headers={"typ": typ})) == APP_A


def test_rejects_garbage_assertion(setup: Setup) -> None:
    with pytest.raises(InvalidClient):
        setup.authenticate("not.a.jwt")


def test_issuer_keys_unreachable_is_temporarily_unavailable(setup: Setup) -> None:
    setup.bind()
    setup.issuer.behaviour.status = 503
    setup.store.issuers[setup.trusted.issuer_id] = replace(
        setup.trusted, jwks_uri=setup.issuer.jwks_uri
    )

    with pytest.raises(TemporarilyUnavailable):
        setup.authenticate(setup.token())


def test_jwks_url_at_the_metadata_address_is_refused_without_a_request(
    setup: Setup,
) -> None:
    # GIVEN an issuer record whose key URL resolves to the instance metadata endpoint
    resolver = RecordingResolver({"keys.evil.example": ["169.254.169.254"]})
    connector = RecordingConnector()
    method = FederatedTokenAuth(
        setup.store, IssuerKeys(SafeFetcher(False, resolver, connector), setup.clock)
    )
    setup.store.issuers[setup.trusted.issuer_id] = replace(
        setup.trusted, jwks_uri="https://keys.evil.example/jwks"
    )
    setup.bind()

    # WHEN a token of that issuer is presented THEN it is refused and nothing connected
    with pytest.raises(InvalidClient):
        method.authenticate(ClientAssertion(JWT_BEARER, setup.token(), None), US,
                            int(setup.clock.now))
    assert connector.targets == []


# -- SPIFFE JWT-SVIDs -----------------------------------------------------------------


def _spiffe(setup: Setup) -> str:
    domain_issuer = spiffe_issuer("prod.acme.example")
    setup.store.add_issuer(TrustedIssuer(
        issuer_id_for(domain_issuer), domain_issuer, "Prod mesh", "spiffe",
        setup.issuer.jwks_uri, single_use_jti=False,
    ))
    svid = "spiffe://prod.acme.example/ns/billing/sa/invoicer"
    setup.bind(subject=svid, issuer=domain_issuer)
    return svid


def test_accepts_a_jwt_svid_without_iss_or_jti(setup: Setup) -> None:
    svid = _spiffe(setup)
    token = setup.token(subject=svid, iss=None, jti=None)

    assert setup.authenticate(token, assertion_type=JWT_SPIFFE) == APP_A
    assert setup.authenticate(token, assertion_type=JWT_SPIFFE) == APP_A


def test_rejects_jwt_svid_of_another_trust_domain(setup: Setup) -> None:
    _spiffe(setup)
    token = setup.token(subject="spiffe://dev.acme.example/ns/billing/sa/invoicer", iss=None)

    with pytest.raises(InvalidClient):
        setup.authenticate(token, assertion_type=JWT_SPIFFE)


def test_rejects_jwt_svid_sent_as_jwt_bearer(setup: Setup) -> None:
    svid = _spiffe(setup)

    with pytest.raises(InvalidClient):
        setup.authenticate(setup.token(subject=svid, iss=spiffe_issuer("prod.acme.example")))


def test_handles_jwt_spiffe_and_third_party_jwt_bearer_only(setup: Setup) -> None:
    ours = jwt.encode({"iss": APP_A, "sub": APP_A}, "k" * 32, algorithm="HS256")

    assert setup.method.handles(ClientAssertion(JWT_SPIFFE, "x", None))
    assert setup.method.handles(ClientAssertion(JWT_BEARER, setup.token(), None))
    assert not setup.method.handles(ClientAssertion(JWT_BEARER, ours, None))
    assert not setup.method.handles(ClientAssertion("urn:other", setup.token(), None))
