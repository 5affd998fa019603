"""Certificate-bound tokens at the resource server (RFC 8705 §3): the Verifier, the
Lambda authorizer, the Chalice authorizer with `require_scopes`, and TokenClient
presenting a client certificate."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from unittest import mock

import pytest
import requests
from chalice.app import AuthRequest
from m2m_testkit import (
    ScriptedAdapter,
    SigningKey,
    claims,
    self_signed_certificate,
    session_with,
    token_reply,
)

from m2m_client import BearerTokenError, InvalidToken, TokenClient, Verifier, make_lambda_authorizer
from m2m_client.chalice_auth import authorize, require_scopes
from m2m_client.mtls import (
    CONTEXT_KEY,
    api_gateway_certificate,
    certificate_der,
    certificate_thumbprint,
)

METHOD_ARN = "arn:aws:execute-api:eu-west-1:123456789012:abc123/api/GET/orders"


def certificate(name: str = "orders-worker") -> str:
    """A self-signed client certificate, PEM (what the TLS layer saw)."""
    return self_signed_certificate(name)[0]


@pytest.fixture(scope="module")
def mine() -> str:
    return certificate()


@pytest.fixture(scope="module")
def other() -> str:
    return certificate()


def bound(key: SigningKey, pem: str, **extra: Any) -> str:
    return key.sign(claims(cnf={"x5t#S256": certificate_thumbprint(pem)}, **extra))


# -- the thumbprint ------------------------------------------------------------------------


def test_pem_text_pem_bytes_and_der_have_one_thumbprint(mine: str) -> None:
    der = certificate_der(mine)

    assert certificate_thumbprint(mine) == certificate_thumbprint(mine.encode()) == \
        certificate_thumbprint(der)
    assert len(certificate_thumbprint(der)) == 43


@pytest.mark.parametrize(
    "bad", ["", b"", "-----BEGIN CERTIFICATE-----\n!!\n-----END CERTIFICATE-----"])
def test_unreadable_certificates_are_value_errors(bad: str | bytes) -> None:
    with pytest.raises(ValueError):
        certificate_thumbprint(bad)


def test_the_api_gateway_certificate_is_read_from_the_event_or_its_context(mine: str) -> None:
    context = {"identity": {"clientCert": {"clientCertPem": mine}}}

    assert api_gateway_certificate({"requestContext": context}) == mine
    assert api_gateway_certificate(context) == mine
    http_api = {"authentication": {"clientCert": {"clientCertPem": mine}}}  # payload 2.0
    assert api_gateway_certificate({"requestContext": http_api}) == mine
    assert api_gateway_certificate({"requestContext": {"identity": {}}}) is None
    assert api_gateway_certificate(None) is None


# -- the Verifier ------------------------------------------------------------------------


def test_a_bound_token_with_its_certificate_verifies(
    verifier: Verifier, rsa_key: SigningKey, mine: str
) -> None:
    verified = verifier.verify(bound(rsa_key, mine), "orders:read", client_certificate=mine)

    assert verified["cnf"] == {"x5t#S256": certificate_thumbprint(mine)}
    assert verifier.verify(bound(rsa_key, mine), client_certificate=certificate_der(mine))


def test_a_bound_token_without_a_certificate_is_invalid_token(
    verifier: Verifier, rsa_key: SigningKey, mine: str
) -> None:
    with pytest.raises(InvalidToken) as refused:
        verifier.verify(bound(rsa_key, mine))

    assert refused.value.error == "invalid_token" and refused.value.status == 401
    assert refused.value.www_authenticate.startswith('Bearer realm="')


def test_a_bound_token_from_another_certificate_is_invalid_token(
    verifier: Verifier, rsa_key: SigningKey, mine: str, other: str
) -> None:
    with pytest.raises(InvalidToken, match="another TLS client certificate"):
        verifier.verify(bound(rsa_key, mine), client_certificate=other)


def test_an_unreadable_certificate_is_invalid_token(
    verifier: Verifier, rsa_key: SigningKey, mine: str
) -> None:
    with pytest.raises(InvalidToken, match="cannot be read"):
        verifier.verify(bound(rsa_key, mine), client_certificate="-----BEGIN CERTIFICATE-----")


@pytest.mark.parametrize("cnf", ["x5t", ["x5t#S256"], {"x5t#S256": 7}, {"x5t#S256": ""}])
def test_a_malformed_cnf_is_invalid_token(
    verifier: Verifier, rsa_key: SigningKey, mine: str, cnf: Any
) -> None:
    with pytest.raises(InvalidToken, match="cnf"):
        verifier.verify(rsa_key.sign(claims(cnf=cnf)), client_certificate=mine)


def test_an_unbound_token_needs_no_certificate_and_ignores_one(
    verifier: Verifier, rsa_key: SigningKey, mine: str
) -> None:
    token = rsa_key.sign(claims())

    assert verifier.verify(token)
    assert verifier.verify(token, client_certificate=mine)


def test_the_binding_is_checked_before_introspection(
    fetcher: Any, clock: Any, rsa_key: SigningKey, mine: str, other: str
) -> None:
    from m2m_testkit import AUDIENCE, ISSUER, JWKS_URL

    introspection = mock.Mock()
    verifier = Verifier(ISSUER, AUDIENCE, jwks_url=JWKS_URL, fetch=fetcher, clock=clock,
                        introspection=introspection)

    with pytest.raises(InvalidToken):
        verifier.verify(bound(rsa_key, mine), client_certificate=other)
    assert not introspection.is_active.called


# -- the Lambda authorizer -----------------------------------------------------------------


def request_event(token: str, pem: str | None) -> dict[str, Any]:
    identity: dict[str, Any] = {"sourceIp": "192.0.2.1"}
    if pem is not None:
        identity["clientCert"] = {"clientCertPem": pem, "subjectDN": "CN=orders-worker"}
    return {"type": "REQUEST", "methodArn": METHOD_ARN, "headers": {
        "Authorization": f"Bearer {token}"}, "requestContext": {"identity": identity}}


def test_request_authorizer_allows_a_bound_token_with_its_certificate(
    verifier: Verifier, rsa_key: SigningKey, mine: str
) -> None:
    handler = make_lambda_authorizer(verifier)

    policy = handler(request_event(bound(rsa_key, mine), mine), None)

    assert policy["policyDocument"]["Statement"][0]["Effect"] == "Allow"


@pytest.mark.parametrize("presented", ["other", None])
def test_request_authorizer_refuses_a_bound_token_without_its_certificate(
    verifier: Verifier, rsa_key: SigningKey, mine: str, other: str, presented: str | None
) -> None:
    handler = make_lambda_authorizer(verifier)
    pem = other if presented == "other" else None

    with pytest.raises(Exception, match="^Unauthorized$"):
        handler(request_event(bound(rsa_key, mine), pem), None)


def test_token_authorizer_refuses_bound_tokens_it_cannot_check(
    verifier: Verifier, rsa_key: SigningKey, mine: str
) -> None:
    handler = make_lambda_authorizer(verifier)
    event = {"type": "TOKEN", "authorizationToken": f"Bearer {bound(rsa_key, mine)}",
             "methodArn": METHOD_ARN}

    with pytest.raises(Exception, match="^Unauthorized$"):
        handler(event, None)


# -- Chalice: the authorizer hands the thumbprint to require_scopes -------------------------


def test_chalice_authorizer_puts_the_thumbprint_in_the_context(
    verifier: Verifier, rsa_key: SigningKey, mine: str
) -> None:
    response = authorize(AuthRequest("TOKEN", f"Bearer {bound(rsa_key, mine)}", METHOD_ARN),
                         verifier, mtls=True)

    assert response.routes == ["*"]
    assert response.context[CONTEXT_KEY] == certificate_thumbprint(mine)


def test_chalice_authorizer_without_mtls_refuses_bound_tokens(
    verifier: Verifier, rsa_key: SigningKey, mine: str
) -> None:
    # a view without require_scopes would never compare the certificate
    with pytest.raises(Exception, match="^Unauthorized$"):
        authorize(AuthRequest("TOKEN", f"Bearer {bound(rsa_key, mine)}", METHOD_ARN),
                  verifier)


def test_chalice_authorizer_refuses_a_malformed_cnf(
    verifier: Verifier, rsa_key: SigningKey
) -> None:
    token = rsa_key.sign(claims(cnf="nonsense"))

    with pytest.raises(Exception, match="^Unauthorized$"):
        authorize(AuthRequest("TOKEN", f"Bearer {token}", METHOD_ARN), verifier, mtls=True)


@contextmanager
def presenting(pem: str | None) -> Iterator[None]:
    """Events carry ``pem`` where API Gateway's mutual TLS puts it."""
    from chalice.local import LambdaEventConverter

    original = LambdaEventConverter.create_lambda_event

    def create(self: Any, *args: Any, **kwargs: Any) -> Any:
        event = original(self, *args, **kwargs)
        if pem is not None:
            event["requestContext"]["identity"]["clientCert"] = {"clientCertPem": pem}
        return event

    with mock.patch.object(LambdaEventConverter, "create_lambda_event", create):
        yield


@pytest.fixture
def orders(verifier: Verifier) -> Iterator[Any]:
    from chalice.app import AuthResponse, Chalice
    from chalice.test import Client

    app = Chalice(app_name="orders-test")

    @app.authorizer()
    def m2m(auth_request: AuthRequest) -> AuthResponse:
        return authorize(auth_request, verifier, mtls=True)

    @app.route("/orders", methods=["GET"], authorizer=m2m)
    @require_scopes(app, "orders:read", realm="orders")
    def list_orders() -> dict[str, Any]:
        return {"orders": []}

    with Client(app) as client:
        yield client.http


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_a_view_accepts_a_bound_token_with_its_certificate(
    orders: Any, rsa_key: SigningKey, mine: str
) -> None:
    with presenting(mine):
        response = orders.get("/orders", headers=bearer(bound(rsa_key, mine)))

    assert response.status_code == 200 and json.loads(response.body) == {"orders": []}


@pytest.mark.parametrize("presented", ["other", None])
def test_a_view_refuses_a_bound_token_without_its_certificate_with_invalid_token(
    orders: Any, rsa_key: SigningKey, mine: str, other: str, presented: str | None
) -> None:
    with presenting(other if presented else None):
        response = orders.get("/orders", headers=bearer(bound(rsa_key, mine)))

    assert response.status_code == 401
    assert json.loads(response.body)["error"] == "invalid_token"
    challenge = response.headers["WWW-Authenticate"]
    assert challenge.startswith('Bearer realm="orders", error="invalid_token"')


def test_a_view_accepts_an_unbound_token_without_a_certificate(
    orders: Any, rsa_key: SigningKey
) -> None:
    with presenting(None):
        response = orders.get("/orders", headers=bearer(rsa_key.sign(claims())))

    assert response.status_code == 200


# -- TokenClient presents the certificate --------------------------------------------------


class RecordingAdapter(ScriptedAdapter):
    def __init__(self) -> None:
        super().__init__(token_reply())
        self.certs: list[Any] = []

    def send(self, request: requests.PreparedRequest, *args: Any, **kwargs: Any) -> Any:
        self.certs.append(kwargs.get("cert"))
        return super().send(request, *args, **kwargs)


def test_token_client_authenticates_with_the_certificate_alone() -> None:
    adapter = RecordingAdapter()
    client = TokenClient("https://mtls.auth.example.com/oauth/token", "svc-billing",
                         audience="https://api.example.com",
                         client_certificate=("client.pem", "client-key.pem"),
                         session=session_with(adapter))

    client.get_token()

    sent = adapter.sent[0]
    assert adapter.certs == [("client.pem", "client-key.pem")]
    assert "Authorization" not in sent.headers
    body = sent.body.decode() if isinstance(sent.body, bytes) else str(sent.body)
    assert "client_id=svc-billing" in body and "client_secret" not in body
    assert client.auth_method == "tls_client_auth"


def test_token_client_with_a_secret_and_a_certificate_sends_both() -> None:
    adapter = RecordingAdapter()
    client = TokenClient("https://auth.example.com/oauth/token", "svc-billing", "s3cr3t",
                         "https://api.example.com", client_certificate="both.pem",
                         session=session_with(adapter))

    client.get_token()

    assert adapter.certs == ["both.pem"]
    assert adapter.sent[0].headers["Authorization"].startswith("Basic ")
    assert client.auth_method == "client_secret_basic"


def test_token_client_needs_some_credential() -> None:
    with pytest.raises(ValueError, match="client_certificate"):
        TokenClient("https://auth.example.com/oauth/token", "svc-billing",
                    audience="https://api.example.com")


# -- a token bound both ways (DPoP and a certificate) needs both ----------------------------

DOMAIN = "abc123.execute-api.eu-west-1.amazonaws.com"
URL = f"https://{DOMAIN}/api/orders"


def doubly_bound(signer: SigningKey, key: Any, pem: str) -> str:
    return signer.sign(claims(cnf={"jkt": key.jkt, "x5t#S256": certificate_thumbprint(pem)},
                              scope="orders:read"))


@pytest.mark.parametrize("case", ["both", "proof-only", "certificate-only", "other-certificate",
                                  "other-key"])
def test_a_token_bound_by_dpop_and_a_certificate_is_checked_for_both(
    verifier: Verifier, rsa_key: SigningKey, clock: Any, mine: str, other: str, case: str
) -> None:
    from m2m_client import DpopKey, DpopRequest

    key = DpopKey.generate(clock=clock)
    token = doubly_bound(rsa_key, key, mine)
    signer = DpopKey.generate(clock=clock) if case == "other-key" else key
    proofs = () if case == "certificate-only" else (
        signer.proof("GET", URL, access_token=token),)
    pem = {"proof-only": None, "other-certificate": other}.get(case, mine)

    def verify() -> Any:
        return verifier.verify(token, scheme="DPoP", dpop=DpopRequest("GET", URL, proofs),
                               client_certificate=pem)

    if case == "both":
        assert verify()["cnf"]["jkt"] == key.jkt
    else:
        with pytest.raises(BearerTokenError) as refused:
            verify()
        assert refused.value.status == 401
        assert refused.value.error == {  # the proof is checked first
            "proof-only": "invalid_token", "other-certificate": "invalid_token",
            "certificate-only": "invalid_dpop_proof", "other-key": "invalid_dpop_proof",
        }[case]
        assert refused.value.www_authenticate.startswith("DPoP ")


@pytest.mark.parametrize("case", ["both", "proof-only", "other-certificate"])
def test_request_authorizer_checks_a_doubly_bound_token_for_both(
    verifier: Verifier, rsa_key: SigningKey, clock: Any, mine: str, other: str, case: str
) -> None:
    from m2m_client import DpopKey

    key = DpopKey.generate(clock=clock)
    token = doubly_bound(rsa_key, key, mine)
    event = request_event(token, {"proof-only": None, "other-certificate": other}.get(case, mine))
    proof = key.proof("GET", URL, access_token=token)
    event["headers"] = {"Authorization": f"DPoP {token}", "DPoP": proof}
    event["httpMethod"] = "GET"
    event["requestContext"].update(stage="api", domainName=DOMAIN, path="/api/orders")
    handler = make_lambda_authorizer(verifier)

    if case == "both":
        assert handler(event, None)["policyDocument"]["Statement"][0]["Effect"] == "Allow"
    else:
        with pytest.raises(Exception, match="^Unauthorized$"):
            handler(event, None)


@pytest.mark.parametrize("case", ["both", "no-proof", "other-certificate"])
def test_a_chalice_view_checks_a_doubly_bound_token_for_both(
    verifier: Verifier, rsa_key: SigningKey, clock: Any, mine: str, other: str, case: str
) -> None:
    from chalice.app import AuthResponse, Chalice
    from chalice.test import Client

    from m2m_client import DpopKey

    app = Chalice(app_name="orders-dpop-mtls")

    @app.authorizer()
    def m2m(auth_request: AuthRequest) -> AuthResponse:
        return authorize(auth_request, verifier, dpop=True, mtls=True)

    @app.route("/orders", methods=["GET"], authorizer=m2m)
    @require_scopes(app, "orders:read", verifier=verifier, public_origin=f"https://{DOMAIN}")
    def list_orders() -> dict[str, Any]:
        return {"orders": []}

    key = DpopKey.generate(clock=clock)
    token = doubly_bound(rsa_key, key, mine)
    headers = {"Authorization": f"DPoP {token}"}
    if case != "no-proof":  # chalice.test has no stage: the path is /orders
        headers["DPoP"] = key.proof("GET", f"https://{DOMAIN}/orders", access_token=token)
    with Client(app) as client, presenting(other if case == "other-certificate" else mine):
        response = client.http.get("/orders", headers=headers)

    if case == "both":
        assert response.status_code == 200
    else:
        assert response.status_code == 401
        assert response.headers["WWW-Authenticate"].startswith("DPoP ")
