"""DPoP in the authorizers (RFC 9449 §7): the Lambda REQUEST authorizer checks the proof
itself; the Chalice TOKEN authorizer lets a DPoP token through marked, and
`require_scopes(verifier=...)` checks token and proof in the view on every request."""

from __future__ import annotations

import json
from typing import Any

import pytest
from chalice.app import AuthRequest, Chalice
from chalice.test import Client
from m2m_testkit import FakeClock, SigningKey, claims

from m2m_client import DpopKey, Verifier, make_lambda_authorizer
from m2m_client.chalice_auth import authorize, require_scopes

METHOD_ARN = "arn:aws:execute-api:eu-west-1:123456789012:abc123/api/GET/orders"
DOMAIN = "abc123.execute-api.eu-west-1.amazonaws.com"
URL = f"https://{DOMAIN}/api/orders"


@pytest.fixture
def key(clock: FakeClock) -> DpopKey:
    return DpopKey.generate(clock=clock)


def bound(signer: SigningKey, key: DpopKey) -> str:
    return signer.sign(claims(cnf={"jkt": key.jkt}, scope="orders:read"))


def dpop_event(token: str, *proofs: str, scheme: str = "DPoP") -> dict[str, Any]:
    headers = {"Authorization": f"{scheme} {token}"}
    multi: dict[str, list[str]] = {"Authorization": [headers["Authorization"]]}
    if proofs:
        headers["DPoP"] = proofs[-1]
        multi["DPoP"] = list(proofs)
    return {
        "type": "REQUEST", "methodArn": METHOD_ARN, "path": "/orders", "httpMethod": "GET",
        "headers": headers, "multiValueHeaders": multi,
        "requestContext": {"stage": "api", "domainName": DOMAIN, "path": "/api/orders"},
    }


# ---- the Lambda (REQUEST) authorizer -------------------------------------------------------


def test_lambda_authorizer_allows_a_dpop_token_with_its_proof(
    verifier: Verifier, rsa_key: SigningKey, key: DpopKey
) -> None:
    token = bound(rsa_key, key)
    handler = make_lambda_authorizer(verifier)

    policy = handler(dpop_event(token, key.proof("GET", URL, access_token=token)), None)

    assert policy["policyDocument"]["Statement"][0]["Effect"] == "Allow"
    assert policy["context"]["client_id"] == "svc-billing"


@pytest.mark.parametrize("case", ["no-proof", "other-key", "replay", "as-bearer", "two-proofs",
                                  "other-url", "token-event"])
def test_lambda_authorizer_refuses_a_dpop_token_without_a_valid_proof(
    verifier: Verifier, rsa_key: SigningKey, key: DpopKey, clock: FakeClock, case: str
) -> None:
    token = bound(rsa_key, key)
    handler = make_lambda_authorizer(verifier)
    proof = key.proof("GET", URL, access_token=token)
    events = {
        "no-proof": dpop_event(token),
        "other-key": dpop_event(token, DpopKey.generate(clock=clock).proof(
            "GET", URL, access_token=token)),
        "replay": dpop_event(token, proof),
        "as-bearer": dpop_event(token, proof, scheme="Bearer"),
        "two-proofs": dpop_event(token, proof, key.proof("GET", URL, access_token=token)),
        "other-url": dpop_event(token, key.proof("GET", "https://evil.example/api/orders",
                                                 access_token=token)),
        "token-event": {"type": "TOKEN", "authorizationToken": f"DPoP {token}",
                        "methodArn": METHOD_ARN},
    }
    if case == "replay":
        handler(events["replay"], None)

    with pytest.raises(Exception, match="^Unauthorized$"):
        handler(events[case], None)


def test_lambda_authorizer_uses_the_configured_public_origin(
    verifier: Verifier, rsa_key: SigningKey, key: DpopKey
) -> None:
    token = bound(rsa_key, key)
    handler = make_lambda_authorizer(verifier, public_origin="https://orders.example.com")
    proof = key.proof("GET", "https://orders.example.com/api/orders", access_token=token)

    assert handler(dpop_event(token, proof), None)["policyDocument"]["Statement"][0][
        "Effect"] == "Allow"


def test_lambda_authorizer_reads_an_http_api_payload(
    verifier: Verifier, rsa_key: SigningKey, key: DpopKey
) -> None:
    token = bound(rsa_key, key)
    event = {"type": "REQUEST", "routeArn": METHOD_ARN, "rawPath": "/orders",
             "headers": {"authorization": f"DPoP {token}",
                         "dpop": key.proof("GET", f"https://{DOMAIN}/orders",
                                           access_token=token)},
             "requestContext": {"domainName": DOMAIN, "http": {"method": "GET"}}}

    assert make_lambda_authorizer(verifier)(event, None)["principalId"] == "svc-billing"


# ---- the Chalice (TOKEN) authorizer and the view check ------------------------------------------


def test_chalice_authorizer_refuses_dpop_tokens_unless_told_views_check_proofs(
    verifier: Verifier, rsa_key: SigningKey, key: DpopKey
) -> None:
    request = AuthRequest("TOKEN", f"DPoP {bound(rsa_key, key)}", METHOD_ARN)

    with pytest.raises(Exception, match="^Unauthorized$"):
        authorize(request, verifier)
    allowed = authorize(request, verifier, dpop=True)
    assert allowed.context == {"client_id": "svc-billing", "scope": "orders:read",
                               "token_type": "DPoP"}


def test_chalice_authorizer_refuses_a_bound_token_sent_as_bearer(
    verifier: Verifier, rsa_key: SigningKey, key: DpopKey
) -> None:
    with pytest.raises(Exception, match="^Unauthorized$"):
        authorize(AuthRequest("TOKEN", f"Bearer {bound(rsa_key, key)}", METHOD_ARN), verifier,
                  dpop=True)


LOCAL = "http://127.0.0.1:8001"


@pytest.fixture
def app(verifier: Verifier) -> Chalice:
    chalice_app = Chalice("dpop-test")

    @chalice_app.authorizer(ttl_seconds=300)
    def m2m(auth_request: AuthRequest) -> Any:
        return authorize(auth_request, verifier, dpop=True)

    @chalice_app.route("/orders", authorizer=m2m)
    @require_scopes(chalice_app, "orders:read", verifier=lambda: verifier, public_origin=LOCAL)
    def orders() -> dict[str, str]:
        return {"ok": "yes"}

    @chalice_app.route("/unchecked", authorizer=m2m)
    @require_scopes(chalice_app, "orders:read")
    def unchecked() -> dict[str, str]:
        return {"ok": "yes"}

    return chalice_app


def get(app: Chalice, path: str, headers: dict[str, str]) -> Any:
    with Client(app) as client:
        return client.http.get(path, headers=headers)


def test_view_accepts_a_dpop_token_with_its_proof(
    app: Chalice, rsa_key: SigningKey, key: DpopKey
) -> None:
    token = bound(rsa_key, key)
    proof = key.proof("GET", LOCAL + "/orders", access_token=token)

    response = get(app, "/orders", {"Authorization": f"DPoP {token}", "DPoP": proof})

    assert response.status_code == 200, response.body


def test_view_refuses_a_missing_foreign_or_replayed_proof_with_a_dpop_challenge(
    app: Chalice, rsa_key: SigningKey, key: DpopKey, clock: FakeClock
) -> None:
    token = bound(rsa_key, key)
    proof = key.proof("GET", LOCAL + "/orders", access_token=token)
    thief = DpopKey.generate(clock=clock).proof("GET", LOCAL + "/orders", access_token=token)
    assert get(app, "/orders", {"Authorization": f"DPoP {token}", "DPoP": proof}).status_code \
        == 200

    for headers in ({"Authorization": f"DPoP {token}"},
                    {"Authorization": f"DPoP {token}", "DPoP": thief},
                    {"Authorization": f"DPoP {token}", "DPoP": proof}):  # replayed
        response = get(app, "/orders", headers)
        assert response.status_code == 401, response.body
        challenge = response.headers["WWW-Authenticate"]
        assert challenge.startswith("DPoP ") and 'error="invalid_dpop_proof"' in challenge
        assert "algs=" in challenge
        assert json.loads(response.body)["error"] == "invalid_dpop_proof"


def test_cached_authorizer_results_never_skip_the_proof(
    app: Chalice, rsa_key: SigningKey, key: DpopKey
) -> None:
    """The view checks the proof itself: as if API Gateway had cached the allow for this
    token, a second request with the same proof is still refused."""
    token = bound(rsa_key, key)
    proof = key.proof("GET", LOCAL + "/orders", access_token=token)
    headers = {"Authorization": f"DPoP {token}", "DPoP": proof}

    assert [get(app, "/orders", headers).status_code for _ in range(2)] == [200, 401]


def test_view_without_a_verifier_refuses_dpop_tokens(
    app: Chalice, rsa_key: SigningKey, key: DpopKey
) -> None:
    token = bound(rsa_key, key)
    proof = key.proof("GET", LOCAL + "/unchecked", access_token=token)

    response = get(app, "/unchecked", {"Authorization": f"DPoP {token}", "DPoP": proof})

    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith("DPoP ")


def test_view_checks_scopes_of_a_dpop_token(
    verifier: Verifier, rsa_key: SigningKey, key: DpopKey
) -> None:
    chalice_app = Chalice("dpop-scope")

    @chalice_app.authorizer()
    def m2m(auth_request: AuthRequest) -> Any:
        return authorize(auth_request, verifier, dpop=True)

    @chalice_app.route("/orders", authorizer=m2m)
    @require_scopes(chalice_app, "orders:write", verifier=verifier, public_origin=LOCAL)
    def write() -> dict[str, str]:
        return {}

    token = bound(rsa_key, key)
    response = get(chalice_app, "/orders", {
        "Authorization": f"DPoP {token}",
        "DPoP": key.proof("GET", LOCAL + "/orders", access_token=token)})

    assert response.status_code == 403
    assert 'error="insufficient_scope"' in response.headers["WWW-Authenticate"]
