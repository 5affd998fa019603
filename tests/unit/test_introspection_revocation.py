"""Token introspection (RFC 7662) and revocation (RFC 7009) of our own tokens."""

from __future__ import annotations

import base64
import json
from dataclasses import replace
from typing import Any

import jwt
import pytest

from chalicelib.errors import InvalidRequest, UnauthorizedClient
from chalicelib.runtime import Services
from chalicelib.tokens.jws import compact, signing_input
from tests.conftest import AUDIENCE, ISSUER, Demo, reuse_off, seed_demo
from tests.fakes import FakeClock, LocalKeySigner
from tests.unit.oauth_client import basic, form_request

INACTIVE = {"active": False}


@pytest.fixture
def demo(memory_services: Services) -> Demo:
    return seed_demo(memory_services)


@pytest.fixture
def other(memory_services: Services, demo: Demo) -> Demo:
    """A second app with the same grant (no introspect permission)."""
    return new_app(memory_services, demo, permissions=None)


@pytest.fixture
def introspector(memory_services: Services, demo: Demo) -> Demo:
    """An app allowed to introspect any token."""
    return new_app(memory_services, demo, permissions=["introspect"])


def new_app(services: Services, demo: Demo, permissions: list[str] | None) -> Demo:
    app, secret = services.provisioning.create_app(name="Other", permissions=permissions)
    services.provisioning.set_grant(app.client_id, demo.api_id, ["orders:read"])
    return Demo(demo.api_id, app.client_id, secret.client_secret, secret.secret_id)


def issue(services: Services, client: Demo) -> str:
    request = form_request(
        {"grant_type": "client_credentials", "audience": AUDIENCE},
        basic(client.client_id, client.client_secret),
    )
    return services.token.handle(request, ISSUER).access_token


def introspect(services: Services, caller: Demo, token: str | None) -> dict[str, Any]:
    params = {"token": token} if token is not None else {}
    request = form_request(params, basic(caller.client_id, caller.client_secret))
    return services.introspection.handle(request, ISSUER)


def revoke(services: Services, caller: Demo, token: str | None) -> None:
    params = {"token": token, "token_type_hint": "access_token"} if token is not None else {}
    request = form_request(params, basic(caller.client_id, caller.client_secret))
    services.revocation.handle(request, ISSUER)


def unverified(token: str) -> dict[str, Any]:
    return jwt.decode(token, options={"verify_signature": False})  # type: ignore[no-any-return]


def b64(data: dict[str, Any]) -> str:
    raw = json.dumps(data, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


# -- introspection: active tokens ---------------------------------------------------------


def test_own_token_is_active_with_its_claims(memory_services: Services, demo: Demo) -> None:
    token = issue(memory_services, demo)

    result = introspect(memory_services, demo, token)

    assert result == {"active": True, "token_type": "Bearer", **unverified(token)}
    assert result["client_id"] == demo.client_id
    assert result["scope"] == "orders:read"


def test_other_clients_token_is_inactive_without_introspect_permission(
    memory_services: Services, demo: Demo, other: Demo
) -> None:
    token = issue(memory_services, demo)

    assert introspect(memory_services, other, token) == INACTIVE


def test_other_clients_token_is_active_with_introspect_permission(
    memory_services: Services, demo: Demo, introspector: Demo
) -> None:
    token = issue(memory_services, demo)

    result = introspect(memory_services, introspector, token)

    assert result["active"] is True
    assert result["client_id"] == demo.client_id


# -- introspection: inactive tokens -------------------------------------------------------


def tamper_payload(token: str) -> str:
    header, _, signature = token.split(".")
    claims = unverified(token)
    return ".".join([header, b64({**claims, "scope": "orders:read orders:write"}), signature])


def tamper_signature(token: str) -> str:
    head, _, signature = token.rpartition(".")
    return head + "." + ("A" if signature[0] != "A" else "B") + signature[1:]


@pytest.mark.parametrize("mangle", [tamper_payload, tamper_signature], ids=["payload", "signature"])
def test_tampered_token_is_inactive(memory_services: Services, demo: Demo, mangle: Any) -> None:
    token = issue(memory_services, demo)

    assert introspect(memory_services, demo, mangle(token)) == INACTIVE


@pytest.mark.parametrize(
    "garbage",
    ["garbage", "a.b.c", "eyJhbGciOiJub25lIn0.e30.", "." * 3, "x" * 9000, "é"],
    ids=["word", "three-parts", "alg-none", "dots", "huge", "non-ascii"],
)
def test_garbage_token_is_inactive(
    memory_services: Services, demo: Demo, garbage: str
) -> None:
    assert introspect(memory_services, demo, garbage) == INACTIVE


def test_expired_token_is_inactive(
    memory_services: Services, demo: Demo, clock: FakeClock
) -> None:
    token = issue(memory_services, demo)
    clock.advance(3599)
    assert introspect(memory_services, demo, token)["active"] is True

    clock.advance(1)  # now == exp

    assert introspect(memory_services, demo, token) == INACTIVE


def forge(token: str, signer: LocalKeySigner, key_id: str) -> str:
    """Re-sign the token's header and claims with another private key."""
    header = jwt.get_unverified_header(token)
    message = signing_input(header, unverified(token))
    return compact(message, signer.sign(key_id, header["alg"], message))


def test_token_signed_by_an_unregistered_key_is_inactive(
    memory_services: Services, demo: Demo, signer: LocalKeySigner
) -> None:
    token = issue(memory_services, demo)
    signer.add_rsa("unregistered")

    # Same kid as the real key, wrong private key
    assert introspect(memory_services, demo, forge(token, signer, "unregistered")) == INACTIVE

    # A kid no key ring knows
    header = {**jwt.get_unverified_header(token), "kid": "unknown-kid"}
    message = signing_input(header, unverified(token))
    unknown_kid = compact(message, signer.sign("unregistered", "RS256", message))
    assert introspect(memory_services, demo, unknown_kid) == INACTIVE


def test_token_with_another_issuer_is_inactive(
    memory_services: Services, demo: Demo
) -> None:
    request = form_request(
        {"grant_type": "client_credentials", "audience": AUDIENCE},
        basic(demo.client_id, demo.client_secret),
    )
    token = memory_services.token.handle(request, "https://other-issuer.example.test").access_token

    assert introspect(memory_services, demo, token) == INACTIVE


def test_token_of_a_now_disabled_app_is_inactive(
    memory_services: Services, demo: Demo, introspector: Demo
) -> None:
    token = issue(memory_services, demo)
    assert introspect(memory_services, introspector, token)["active"] is True

    memory_services.provisioning.set_enabled(demo.client_id, False)

    assert introspect(memory_services, introspector, token) == INACTIVE


def test_revoked_jti_is_inactive(memory_services: Services, demo: Demo) -> None:
    token = issue(memory_services, demo)
    claims = unverified(token)

    memory_services.store.revoke_token(claims["jti"], demo.client_id, claims["exp"])

    assert introspect(memory_services, demo, token) == INACTIVE


def test_tokens_issued_before_the_apps_revocation_generation_are_inactive(
    memory_services: Services, demo: Demo, clock: FakeClock
) -> None:
    # GIVEN a token issued before the app's tokens are revoked
    before = issue(memory_services, demo)

    # WHEN the app's revocation generation moves on (what revoke-tokens does), in the
    # same second, and another token is issued
    store = memory_services.store
    app = store.get_app(demo.client_id)
    assert app is not None
    cutoff = unverified(before)["iat"]
    store.update_app(replace(app, revoked_before=cutoff, version=app.version + 1,
                             revocation_generation=app.revocation_generation + 1), app.version)
    after = issue(memory_services, demo)

    assert unverified(after)["iat"] == cutoff
    assert introspect(memory_services, demo, before) == INACTIVE
    assert introspect(memory_services, demo, after)["active"] is True


def test_introspection_without_token_is_invalid_request(
    memory_services: Services, demo: Demo
) -> None:
    with pytest.raises(InvalidRequest):
        introspect(memory_services, demo, None)


# -- revocation ---------------------------------------------------------------------------


def test_revoking_own_token_makes_it_inactive(memory_services: Services, demo: Demo) -> None:
    reuse_off(memory_services, demo)
    token = issue(memory_services, demo)
    untouched = issue(memory_services, demo)

    revoke(memory_services, demo, token)

    assert introspect(memory_services, demo, token) == INACTIVE
    assert introspect(memory_services, demo, untouched)["active"] is True


@pytest.mark.parametrize("token", ["garbage", "a.b.c"], ids=["word", "three-parts"])
def test_revoking_garbage_token_succeeds_silently(
    memory_services: Services, demo: Demo, token: str
) -> None:
    revoke(memory_services, demo, token)

    assert memory_services.store.revoked == {}  # type: ignore[attr-defined]


def test_revoking_a_token_signed_by_an_unknown_key_succeeds_silently(
    memory_services: Services, demo: Demo, signer: LocalKeySigner
) -> None:
    signer.add_rsa("unregistered")
    token = forge(issue(memory_services, demo), signer, "unregistered")

    revoke(memory_services, demo, token)

    assert memory_services.store.revoked == {}  # type: ignore[attr-defined]


def test_revoking_an_expired_token_succeeds_silently(
    memory_services: Services, demo: Demo, clock: FakeClock
) -> None:
    token = issue(memory_services, demo)
    clock.advance(3600)

    revoke(memory_services, demo, token)

    assert memory_services.store.revoked == {}  # type: ignore[attr-defined]


def test_revoking_another_clients_token_is_unauthorized_client(
    memory_services: Services, demo: Demo, introspector: Demo
) -> None:
    token = issue(memory_services, demo)

    with pytest.raises(UnauthorizedClient):
        revoke(memory_services, introspector, token)

    assert introspect(memory_services, demo, token)["active"] is True


@pytest.mark.parametrize("token", [None, ""], ids=["omitted", "empty"])
def test_revocation_without_token_is_invalid_request(
    memory_services: Services, demo: Demo, token: str | None
) -> None:
    with pytest.raises(InvalidRequest):
        revoke(memory_services, demo, token)
