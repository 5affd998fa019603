"""The client credentials grant (RFC 6749 §4.4) issuing RFC 9068 JWT access tokens."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import jwt
import pytest

from chalicelib.errors import InvalidRequest, InvalidScope, InvalidTarget, UnsupportedGrantType
from chalicelib.oauth.token_endpoint import TokenResponse
from chalicelib.runtime import Services
from chalicelib.tokens.jwk import public_jwk, thumbprint
from tests.conftest import AUDIENCE, ISSUER, Demo, reuse_off, seed_demo
from tests.fakes import FakeClock, LocalKeySigner
from tests.unit.oauth_client import basic, form_request

BOTH = ("orders:read", "orders:write")


@pytest.fixture
def demo(memory_services: Services) -> Demo:
    return seed_demo(memory_services, scopes=BOTH)


def request_token(
    services: Services,
    demo: Demo,
    params: dict[str, str] | list[tuple[str, str]] | None = None,
    client: tuple[str, str] | None = None,
) -> TokenResponse:
    if params is None:
        params = {"grant_type": "client_credentials", "audience": AUDIENCE}
    client_id, secret = client or (demo.client_id, demo.client_secret)
    return services.token.handle(form_request(params, basic(client_id, secret)), ISSUER)


def token_for(services: Services, demo: Demo, **extra: str) -> TokenResponse:
    return request_token(
        services, demo, {"grant_type": "client_credentials", "audience": AUDIENCE, **extra}
    )


def decode(token: str, signer: LocalKeySigner, audience: str = AUDIENCE) -> dict[str, Any]:
    """Signature, issuer and audience checked; times are asserted against the fake clock."""
    return jwt.decode(  # type: ignore[no-any-return]
        token,
        signer.keys["rsa-key-1"].public_key(),
        algorithms=["RS256"],
        audience=audience,
        issuer=ISSUER,
        options={"verify_exp": False, "verify_iat": False, "verify_nbf": False},
    )


# -- the token --------------------------------------------------------------------------


def test_token_has_rfc9068_claims(
    memory_services: Services, demo: Demo, signer: LocalKeySigner, clock: FakeClock
) -> None:
    response = token_for(memory_services, demo)

    claims = decode(response.access_token, signer)
    now = int(clock())
    assert claims == {
        "iss": ISSUER,
        "sub": demo.client_id,
        "aud": AUDIENCE,
        "client_id": demo.client_id,
        "iat": now,
        "exp": now + 3600,
        "jti": claims["jti"],
        "scope": "orders:read orders:write",
        "scp": ["orders:read", "orders:write"],
        "gty": "client_credentials",
    }
    assert len(claims["jti"]) >= 22
    assert response.as_dict() == {
        "access_token": response.access_token,
        "token_type": "Bearer",
        "expires_in": 3600,
        "scope": "orders:read orders:write",
    }


def test_token_header_names_rs256_at_jwt_and_thumbprint_kid(
    memory_services: Services, demo: Demo, signer: LocalKeySigner
) -> None:
    token = token_for(memory_services, demo).access_token

    expected_kid = thumbprint(public_jwk(signer.keys["rsa-key-1"].public_key()))
    assert jwt.get_unverified_header(token) == {
        "alg": "RS256", "typ": "at+jwt", "kid": expected_kid,
    }


def test_each_token_has_a_unique_jti(
    memory_services: Services, demo: Demo, signer: LocalKeySigner
) -> None:
    reuse_off(memory_services, demo)
    first = decode(token_for(memory_services, demo).access_token, signer)
    second = decode(token_for(memory_services, demo).access_token, signer)

    assert first["jti"] != second["jti"]


def test_exactly_one_sign_call_per_token(
    memory_services: Services, demo: Demo, signer: LocalKeySigner
) -> None:
    reuse_off(memory_services, demo)
    before = signer.sign_calls

    token_for(memory_services, demo)
    token_for(memory_services, demo)

    assert signer.sign_calls == before + 2


def test_repr_of_token_response_does_not_contain_the_token(
    memory_services: Services, demo: Demo
) -> None:
    response = token_for(memory_services, demo)

    assert response.access_token not in repr(response)


# -- scope ------------------------------------------------------------------------------


def test_omitted_scope_grants_everything_granted(
    memory_services: Services, demo: Demo, signer: LocalKeySigner
) -> None:
    response = token_for(memory_services, demo, scope="")

    assert response.scope == "orders:read orders:write"
    assert decode(response.access_token, signer)["scp"] == list(BOTH)


def test_subset_of_granted_scopes_is_issued_in_requested_order(
    memory_services: Services, demo: Demo, signer: LocalKeySigner
) -> None:
    response = token_for(memory_services, demo, scope="orders:write")

    claims = decode(response.access_token, signer)
    assert (response.scope, claims["scope"], claims["scp"]) == (
        "orders:write", "orders:write", ["orders:write"],
    )


def test_scope_beyond_the_grant_is_invalid_scope(
    memory_services: Services, signer: LocalKeySigner
) -> None:
    demo = seed_demo(memory_services, scopes=("orders:read",))

    with pytest.raises(InvalidScope):
        token_for(memory_services, demo, scope="orders:read orders:write")
    with pytest.raises(InvalidScope):
        token_for(memory_services, demo, scope="admin")
    assert signer.sign_calls == 0


@pytest.mark.parametrize(
    "scope", ["orders:read  orders:write", " orders:read", "orders:read ", 'a"b', "a\\b", "é"]
)
def test_malformed_scope_is_invalid_scope(
    memory_services: Services, demo: Demo, scope: str
) -> None:
    with pytest.raises(InvalidScope):
        token_for(memory_services, demo, scope=scope)


# -- audience / resource ----------------------------------------------------------------


def test_unknown_and_ungranted_audiences_are_indistinguishable_invalid_target(
    memory_services: Services, demo: Demo
) -> None:
    memory_services.provisioning.create_api(
        name="Billing", identifier="https://api.example.com/billing", scopes=["bill"]
    )

    with pytest.raises(InvalidTarget) as ungranted:
        token_for(memory_services, demo, audience="https://api.example.com/billing")
    with pytest.raises(InvalidTarget) as unknown:
        token_for(memory_services, demo, audience="https://api.example.com/nothing")

    assert ungranted.value.description == unknown.value.description


def test_resource_parameter_selects_the_audience(
    memory_services: Services, demo: Demo, signer: LocalKeySigner
) -> None:
    response = request_token(
        memory_services, demo, {"grant_type": "client_credentials", "resource": AUDIENCE}
    )

    assert decode(response.access_token, signer)["aud"] == AUDIENCE


def test_agreeing_audience_and_resource_are_accepted(
    memory_services: Services, demo: Demo, signer: LocalKeySigner
) -> None:
    response = token_for(memory_services, demo, resource=AUDIENCE)

    assert decode(response.access_token, signer)["aud"] == AUDIENCE


def test_audience_and_resource_that_disagree_are_invalid_request(
    memory_services: Services, demo: Demo
) -> None:
    with pytest.raises(InvalidRequest):
        token_for(memory_services, demo, resource="https://api.example.com/other")


def test_two_resource_values_are_invalid_target(memory_services: Services, demo: Demo) -> None:
    params = [
        ("grant_type", "client_credentials"),
        ("resource", AUDIENCE),
        ("resource", "https://api.example.com/other"),
    ]

    with pytest.raises(InvalidTarget):
        request_token(memory_services, demo, params)


def test_missing_audience_and_resource_is_invalid_request(
    memory_services: Services, demo: Demo
) -> None:
    with pytest.raises(InvalidRequest):
        request_token(memory_services, demo, {"grant_type": "client_credentials"})


# -- grant_type -------------------------------------------------------------------------


def test_missing_grant_type_is_invalid_request(memory_services: Services, demo: Demo) -> None:
    with pytest.raises(InvalidRequest):
        request_token(memory_services, demo, {"audience": AUDIENCE})


@pytest.mark.parametrize("grant_type", ["password", "authorization_code", "CLIENT_CREDENTIALS"])
def test_other_grant_type_is_unsupported_grant_type(
    memory_services: Services, demo: Demo, grant_type: str
) -> None:
    with pytest.raises(UnsupportedGrantType):
        request_token(memory_services, demo, {"grant_type": grant_type, "audience": AUDIENCE})


# -- lifetime ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("api_lifetime", "app_lifetime", "expected"),
    [(600, None, 600), (600, 300, 300), (600, 900, 600), (86400, 86400, 86400)],
)
def test_lifetime_is_the_api_lifetime_capped_by_the_app_lifetime(
    memory_services: Services,
    signer: LocalKeySigner,
    clock: FakeClock,
    api_lifetime: int,
    app_lifetime: int | None,
    expected: int,
) -> None:
    p = memory_services.provisioning
    api = p.create_api(
        name="Short", identifier="urn:example:short", scopes=["read"],
        token_lifetime=api_lifetime,
    )
    app, secret = p.create_app(name="Capped", token_lifetime=app_lifetime)
    p.set_grant(app.client_id, api.api_id, ["read"])
    demo = Demo(api.api_id, app.client_id, secret.client_secret, secret.secret_id)

    response = request_token(
        memory_services, demo, {"grant_type": "client_credentials", "audience": api.identifier}
    )

    claims = decode(response.access_token, signer, audience=api.identifier)
    assert response.expires_in == expected
    assert claims["exp"] - claims["iat"] == expected
    assert claims["iat"] == int(clock())


# -- custom claims ----------------------------------------------------------------------


def test_custom_claims_are_included(memory_services: Services, signer: LocalKeySigner) -> None:
    custom = {"tenant": "acme", "tier": {"name": "Zoë", "limits": [1, 2]}}
    p = memory_services.provisioning
    api = p.create_api(name="Orders", identifier=AUDIENCE, scopes=["orders:read"])
    app, secret = p.create_app(name="Custom", claims=custom)
    p.set_grant(app.client_id, api.api_id, ["orders:read"])
    demo = Demo(api.api_id, app.client_id, secret.client_secret, secret.secret_id)

    claims = decode(token_for(memory_services, demo).access_token, signer)

    assert claims["tenant"] == "acme"
    assert claims["tier"] == custom["tier"]


def test_stored_custom_claims_cannot_override_registered_claims(
    memory_services: Services, demo: Demo, signer: LocalKeySigner
) -> None:
    # GIVEN claims that bypassed admin validation (written straight to the store)
    store = memory_services.store
    app = store.get_app(demo.client_id)
    assert app is not None
    forged = {"sub": "admin", "aud": "https://evil.example", "scope": "root", "exp": 9e9,
              "iss": "https://evil.example", "client_id": "other", "tenant": "acme"}
    store.update_app(replace(app, claims=forged, version=app.version + 1), app.version)

    claims = decode(token_for(memory_services, demo).access_token, signer)

    assert claims["sub"] == claims["client_id"] == demo.client_id
    assert claims["aud"] == AUDIENCE
    assert claims["iss"] == ISSUER
    assert claims["scope"] == "orders:read orders:write"
    assert claims["exp"] == claims["iat"] + 3600
    assert claims["tenant"] == "acme"
