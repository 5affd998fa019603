"""AWS IAM client authentication at the token endpoint: a signed sts:GetCallerIdentity
as client_assertion, checked against a fake STS that verifies signatures as STS does
(moto verifies none), with the real DynamoDB and KMS adapters on moto."""

from __future__ import annotations

import datetime
from collections.abc import Iterator
from typing import Any

import jwt
import pytest
from chalice.test import Client

from chalicelib import runtime
from chalicelib.oauth.aws_sigv4 import StsReply
from chalicelib.store.records import KeyState
from tests.aws_sigv4_support import (
    ASSUMED_ARN,
    NOW,
    ROLE_ARN,
    ROLE_CREDENTIALS,
    SIGNED_AT,
    USER_ARN,
    USER_CREDENTIALS,
    XML_REPLY,
    SignatureCheckingSts,
    assertion_of,
    assertion_repeating,
    json_reply,
    sign,
)
from tests.conftest import AUDIENCE, TABLE, AwsBackend, make_settings, seed_demo
from tests.fakes import FakeClock
from tests.functional.conftest import FORM, body_json, form

AWS_SIGV4 = "urn:m2m-auth:params:oauth:client-assertion-type:aws-sigv4"


@pytest.fixture
def sts() -> SignatureCheckingSts:
    return SignatureCheckingSts()


@pytest.fixture
def services(aws: AwsBackend, sts: SignatureCheckingSts) -> runtime.Services:
    from chalicelib.aws.kms_signer import KmsSigner
    from chalicelib.store.dynamodb import DynamoDBStore

    services = runtime.build_services(
        make_settings(AWS_IAM_STS_REGIONS="us-east-1,eu-west-1"),
        DynamoDBStore(aws.dynamodb, TABLE), KmsSigner(aws.kms), FakeClock(float(NOW)), sts=sts,
    )
    services.keyring.register(aws.key_arn, "RS256", KeyState.CURRENT)
    return services


@pytest.fixture
def http(services: runtime.Services) -> Iterator[Any]:
    import app as chalice_app

    runtime.install(services)
    with Client(chalice_app.app) as client:
        yield client.http


def new_app_with_principal(services: runtime.Services, arn: str, name: str = "Billing") -> str:
    demo = seed_demo(services) if not services.store.find_api(AUDIENCE) else None
    p = services.provisioning
    if demo is not None:
        client_id = demo.client_id
    else:
        app, _ = p.create_app(name=name)
        api = services.store.find_api(AUDIENCE)
        assert api is not None
        p.set_grant(app.client_id, api.api_id, ["orders:read"])
        client_id = app.client_id
    p.add_aws_principal(client_id, arn)
    return client_id


def token(http: Any, assertion: str, **extra: str) -> Any:
    return http.post("/oauth/token", headers=FORM, body=form(
        grant_type="client_credentials", audience=AUDIENCE,
        client_assertion_type=AWS_SIGV4, client_assertion=assertion, **extra,
    ))


def refused(response: Any) -> None:
    assert response.status_code == 401, response.body
    assert body_json(response) == {"error": "invalid_client",
                                   "error_description": "Client authentication failed."}


def claims_of(response: Any) -> dict[str, Any]:
    assert response.status_code == 200, response.body
    decoded: dict[str, Any] = jwt.decode(body_json(response)["access_token"],
                                         options={"verify_signature": False})
    return decoded


def test_role_credentials_get_a_token_for_the_app_listing_the_role(
    services: runtime.Services, http: Any, sts: SignatureCheckingSts
) -> None:
    # GIVEN an app listing the role by its ARN with a path
    client_id = new_app_with_principal(services, ROLE_ARN)

    # WHEN the role's session signs GetCallerIdentity (STS answers its assumed-role ARN)
    response = token(http, assertion_of(sign(ROLE_CREDENTIALS)))

    # THEN the token is the app's, and STS saw only the rebuilt regional request
    assert claims_of(response)["client_id"] == client_id
    [call] = sts.calls
    assert call.url == "https://sts.us-east-1.amazonaws.com/"


def test_user_credentials_get_a_token_for_the_app_listing_the_user(
    services: runtime.Services, http: Any
) -> None:
    client_id = new_app_with_principal(services, USER_ARN)

    response = token(http, assertion_of(sign(USER_CREDENTIALS)), client_id=client_id)

    assert claims_of(response)["client_id"] == client_id


def test_role_arn_matches_whatever_its_path_and_case(
    services: runtime.Services, http: Any
) -> None:
    client_id = new_app_with_principal(services, "arn:aws:iam::123456789012:role/BILLING")

    assert claims_of(token(http, assertion_of(sign())))["client_id"] == client_id


def test_rejects_a_principal_no_app_lists(services: runtime.Services, http: Any,
                                          sts: SignatureCheckingSts) -> None:
    new_app_with_principal(services, "arn:aws:iam::123456789012:role/Other")

    refused(token(http, assertion_of(sign())))
    assert len(sts.calls) == 1


def test_rejects_a_principal_bound_to_another_app(
    services: runtime.Services, http: Any
) -> None:
    # GIVEN app A without principals, app B listing the role
    seed_demo(services)
    api = services.store.find_api(AUDIENCE)
    assert api is not None
    app_a = services.store.list_apps(10, None).items[0].client_id
    app_b, _ = services.provisioning.create_app(name="B")
    services.provisioning.set_grant(app_b.client_id, api.api_id, ["orders:read"])
    services.provisioning.add_aws_principal(app_b.client_id, ROLE_ARN)

    # WHEN the role asks for app A's token, THEN it is refused
    refused(token(http, assertion_of(sign()), client_id=app_a))


def test_principal_listed_by_two_apps_needs_client_id(
    services: runtime.Services, http: Any
) -> None:
    first = new_app_with_principal(services, ROLE_ARN)
    second = new_app_with_principal(services, ROLE_ARN, name="Second")

    refused(token(http, assertion_of(sign())))
    when = SIGNED_AT + datetime.timedelta(seconds=1)  # a fresh signature per request
    assert claims_of(token(http, assertion_of(sign(when=when)), client_id=second))[
        "client_id"] == second
    when = SIGNED_AT + datetime.timedelta(seconds=2)
    assert claims_of(token(http, assertion_of(sign(when=when)), client_id=first))[
        "client_id"] == first


def test_rejects_a_replayed_assertion(services: runtime.Services, http: Any,
                                      sts: SignatureCheckingSts) -> None:
    new_app_with_principal(services, ROLE_ARN)
    assertion = assertion_of(sign())

    assert token(http, assertion).status_code == 200
    refused(token(http, assertion))
    assert len(sts.calls) == 1


def test_an_assertion_spent_at_the_token_endpoint_is_refused_at_introspection_and_revocation(
    services: runtime.Services, http: Any, sts: SignatureCheckingSts
) -> None:
    new_app_with_principal(services, ROLE_ARN)
    assertion = assertion_of(sign())
    access_token = body_json(token(http, assertion))["access_token"]

    for path in ("/oauth/introspect", "/oauth/revoke"):
        refused(http.post(path, headers=FORM, body=form(
            token=access_token, client_assertion_type=AWS_SIGV4, client_assertion=assertion)))
    assert len(sts.calls) == 1


def test_two_assertions_signed_in_the_same_second_both_work(
    services: runtime.Services, http: Any
) -> None:
    # SigV4 is deterministic: only the signed random nonce tells these two apart
    client_id = new_app_with_principal(services, ROLE_ARN)

    for _ in range(2):
        assert claims_of(token(http, assertion_of(sign())))["client_id"] == client_id


def test_rejects_a_disabled_app(services: runtime.Services, http: Any) -> None:
    client_id = new_app_with_principal(services, ROLE_ARN)
    app = services.provisioning.get_app(client_id).app
    services.provisioning.update_app(client_id, {"enabled": False}, app.version)

    refused(token(http, assertion_of(sign())))


@pytest.mark.parametrize(
    "headers",
    [
        pytest.param(sign(region="ap-south-1"), id="region-outside-allow-list"),
        pytest.param(sign(issuer=None), id="missing-server-identity-header"),
        pytest.param(sign(issuer="https://other.example"), id="signed-for-another-server"),
        pytest.param(sign(when=SIGNED_AT - datetime.timedelta(minutes=10)), id="stale-date"),
        pytest.param(sign(extra={"X-Amz-Target": "x"}), id="header-not-in-allow-list"),
    ],
)
def test_rejects_tampered_assertions_without_calling_sts(
    services: runtime.Services, http: Any, sts: SignatureCheckingSts, headers: dict[str, str]
) -> None:
    new_app_with_principal(services, ROLE_ARN)

    refused(token(http, assertion_of(headers)))
    assert sts.calls == []


@pytest.mark.parametrize(("name", "in_headers"), [("body", False), ("X-Amz-Date", True)])
def test_rejects_an_assertion_repeating_a_member_name_without_calling_sts(
    services: runtime.Services, http: Any, sts: SignatureCheckingSts, name: str,
    in_headers: bool,
) -> None:
    new_app_with_principal(services, ROLE_ARN)
    assertion = assertion_repeating(sign(), name, "x", in_headers=in_headers)

    refused(token(http, assertion))
    assert sts.calls == []


def test_rejects_a_request_signed_for_another_host_at_sts(
    services: runtime.Services, http: Any, sts: SignatureCheckingSts
) -> None:
    # The Host is not in the assertion: the server rebuilds the request for its own
    # endpoint, and STS (here: the signature-checking fake) refuses the signature.
    new_app_with_principal(services, ROLE_ARN)

    refused(token(http, assertion_of(sign(url="https://sts.attacker.example/"))))
    assert len(sts.calls) == 1 and sts.calls[0].url == "https://sts.us-east-1.amazonaws.com/"


@pytest.mark.parametrize(
    "answer",
    [XML_REPLY, json_reply("arn:aws:iam::123456789012:root"),
     json_reply(f"arn:aws:sts::123456789012:federated-user/{'Billing'}")],
    ids=["xml", "root", "federated-user"],
)
def test_rejects_answers_that_are_not_a_json_role_or_user(
    services: runtime.Services, http: Any, sts: SignatureCheckingSts, answer: StsReply
) -> None:
    new_app_with_principal(services, ROLE_ARN)
    sts.answer = answer

    refused(token(http, assertion_of(sign())))


def test_sts_unreachable_is_503_temporarily_unavailable(
    services: runtime.Services, http: Any, sts: SignatureCheckingSts
) -> None:
    new_app_with_principal(services, ROLE_ARN)
    sts.down = True

    response = token(http, assertion_of(sign()))

    assert response.status_code == 503
    assert body_json(response)["error"] == "temporarily_unavailable"
    assert response.headers["Retry-After"] == "1"


def test_sts_server_error_is_503_temporarily_unavailable(
    services: runtime.Services, http: Any, sts: SignatureCheckingSts
) -> None:
    new_app_with_principal(services, ROLE_ARN)
    sts.answer = StsReply(500, "application/json", b'{"Error": {"Code": "InternalFailure"}}')

    assert token(http, assertion_of(sign())).status_code == 503


def test_assumed_role_arn_from_sts_names_the_registered_role(
    services: runtime.Services, http: Any, sts: SignatureCheckingSts
) -> None:
    client_id = new_app_with_principal(services, ROLE_ARN)
    sts.answer = json_reply(ASSUMED_ARN.replace("lambda-session", "another-session"))

    assert claims_of(token(http, assertion_of(sign())))["client_id"] == client_id


def test_metadata_advertises_the_method(http: Any) -> None:
    response = http.get("/.well-known/oauth-authorization-server")

    methods = body_json(response)["token_endpoint_auth_methods_supported"]
    assert "urn:m2m-auth:params:oauth:client-auth:aws-sigv4" in methods


def test_no_assertion_signature_or_session_token_reaches_any_log(
    services: runtime.Services, http: Any, sts: SignatureCheckingSts,
    caplog: pytest.LogCaptureFixture,
) -> None:
    import logging

    new_app_with_principal(services, ROLE_ARN)
    headers = sign()
    assertion = assertion_of(headers)
    with caplog.at_level(logging.DEBUG), caplog.at_level(logging.DEBUG, logger="chalicelib"):
        access_token = body_json(token(http, assertion))["access_token"]
        token(http, assertion)  # replay: a failure path
        token(http, assertion_of(sign(issuer="https://other.example")))
        sts.down = True
        token(http, assertion_of(sign()))

    logged = caplog.text + " ".join(repr(r.args) for r in caplog.records)
    assert "auth=urn:m2m-auth:params:oauth:client-auth:aws-sigv4" in logged
    assert "assertion replayed" in logged
    forbidden = {
        "assertion": assertion[:40],
        "signature": headers["Authorization"].rsplit("Signature=", 1)[1],
        "session token": ROLE_CREDENTIALS.token,
        "nonce": headers["X-M2M-Auth-Nonce"],
        "access token": access_token.split(".")[1],
    }
    for what, value in forbidden.items():
        assert value not in logged, f"{what} was logged"


def test_aws_iam_authentication_combines_with_dpop(
    services: runtime.Services, http: Any
) -> None:
    from chalicelib.tokens.jwk import thumbprint
    from tests.conftest import ISSUER
    from tests.dpop_proofs import dpop_proof, es256_key, public_members

    client_id = new_app_with_principal(services, ROLE_ARN)
    dpop_key = es256_key()

    response = http.post("/oauth/token", body=form(
        grant_type="client_credentials", audience=AUDIENCE,
        client_assertion_type=AWS_SIGV4, client_assertion=assertion_of(sign(ROLE_CREDENTIALS)),
    ), headers={**FORM, "DPoP": dpop_proof(dpop_key, ISSUER + "/oauth/token", NOW)})

    assert body_json(response)["token_type"] == "DPoP", response.body
    assert claims_of(response)["client_id"] == client_id
    assert claims_of(response)["cnf"] == {"jkt": thumbprint(public_members(dpop_key))}
