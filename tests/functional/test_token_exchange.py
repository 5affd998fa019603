"""Token exchange (RFC 8693) through the Chalice app on moto: every rule of the caller's
exchange policy, and its negative suite (scope escalation, audience not allowed,
revoked, foreign and expired subject tokens, actor mismatch, depth limit, impersonation
refused), the lifetime cap, reuse keyed by the subject token, quotas, the outcome log,
and the DynamoDB calls an exchange costs."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from chalicelib import runtime
from chalicelib.oauth.grant_types import ACCESS_TOKEN_TYPE, JWT_TOKEN_TYPE, TOKEN_EXCHANGE
from chalicelib.tokens.jwk import thumbprint
from tests.conftest import AUDIENCE, ISSUER, AwsBackend
from tests.dpop_proofs import dpop_proof, es256_key, public_members
from tests.fakes import FakeClock
from tests.functional.conftest import FORM, body_json, form
from tests.functional.exchange_world import (
    INVENTORY,
    Client,
    World,
    build_world,
    claims_of,
    client_token,
    exchange,
    new_client,
    oauth_error,
)
from tests.functional.local_mode import NoDns, chalice_http, local_services
from tests.oidc_issuer import TestIssuer, serve_issuer

WORKLOAD = "system:serviceaccount:billing:invoicer"


@pytest.fixture
def services(aws: AwsBackend, clock: FakeClock) -> runtime.Services:
    return local_services(aws, clock, NoDns())


@pytest.fixture
def http(services: runtime.Services) -> Iterator[Any]:
    yield from chalice_http(services)


@pytest.fixture
def world(services: runtime.Services) -> World:
    return build_world(services)


def set_policy(services: runtime.Services, world: World, caller: Client | None = None,
               **fields: Any) -> None:
    body = {"source_apis": [world.orders_api], "scopes": ["inventory:read", "inventory:write"],
            **fields}
    services.provisioning.set_exchange_policy(
        (caller or world.caller).client_id, world.inventory_api, body)


# -- the exchanged token ---------------------------------------------------------------


def test_exchange_delegates_keeps_the_subject_and_names_the_caller_as_actor(
    http: Any, world: World, clock: FakeClock
) -> None:
    subject_token = client_token(http, world.subject)

    response = exchange(http, world.caller, subject_token)

    assert response.status_code == 200, response.body
    body = body_json(response)
    assert body["issued_token_type"] == ACCESS_TOKEN_TYPE
    assert body["token_type"] == "Bearer"
    assert body["scope"] == "inventory:read"  # policy read+write ∩ the subject's grant
    claims = claims_of(body["access_token"])
    assert claims["sub"] == world.subject.client_id
    assert claims["client_id"] == world.caller.client_id
    assert claims["act"] == {"sub": world.caller.client_id}
    assert claims["aud"] == INVENTORY
    assert claims["gty"] == TOKEN_EXCHANGE
    assert claims["exp"] <= claims_of(subject_token)["exp"]


def test_actor_token_of_the_caller_gives_the_same_delegation(http: Any, world: World) -> None:
    actor = client_token(http, world.caller)

    response = exchange(http, world.caller, client_token(http, world.subject),
                        actor_token=actor, actor_token_type=ACCESS_TOKEN_TYPE)

    assert response.status_code == 200, response.body
    assert claims_of(body_json(response)["access_token"])["act"] == {
        "sub": world.caller.client_id}


def test_resource_names_the_target_as_well_as_audience(http: Any, world: World) -> None:
    response = exchange(http, world.caller, client_token(http, world.subject), audience="",
                        resource=INVENTORY, scope="inventory:read")

    assert response.status_code == 200, response.body


def test_the_exchanged_token_never_outlives_the_subject_token(
    http: Any, world: World, clock: FakeClock
) -> None:
    subject_token = client_token(http, world.subject)
    clock.advance(3000)  # 600 s of the subject token's 3600 left

    response = exchange(http, world.caller, subject_token)

    assert response.status_code == 200, response.body
    body = body_json(response)
    assert body["expires_in"] == 600
    assert claims_of(body["access_token"])["exp"] == claims_of(subject_token)["exp"]


def test_the_exchanged_token_is_active_at_introspection_with_its_act_claim(
    http: Any, world: World
) -> None:
    exchanged = body_json(exchange(http, world.caller, client_token(http, world.subject)))

    introspected = http.post("/oauth/introspect", headers={**FORM, **world.caller.auth()},
                             body=form(token=exchanged["access_token"]))

    body = body_json(introspected)
    assert body["active"] is True
    assert body["act"] == {"sub": world.caller.client_id}


# -- scope, audience and the caller's policy --------------------------------------------


def test_scope_beyond_the_subjects_grant_is_invalid_scope(http: Any, world: World) -> None:
    # the policy allows inventory:write, but the subject was never granted it
    response = exchange(http, world.caller, client_token(http, world.subject),
                        scope="inventory:write")

    assert oauth_error(response) == "invalid_scope"


def test_scope_beyond_the_policy_is_invalid_scope(
    http: Any, world: World, services: runtime.Services
) -> None:
    services.provisioning.set_grant(world.subject.client_id, world.inventory_api,
                                    ["inventory:read", "inventory:write"])
    set_policy(services, world, scopes=["inventory:read"])

    widened = exchange(http, world.caller, client_token(http, world.subject),
                       scope="inventory:read inventory:write")
    defaulted = exchange(http, world.caller, client_token(http, world.subject))

    assert oauth_error(widened) == "invalid_scope"
    assert body_json(defaulted)["scope"] == "inventory:read"


def test_audience_without_a_policy_is_invalid_target(http: Any, world: World) -> None:
    response = exchange(http, world.caller, client_token(http, world.subject),
                        audience=AUDIENCE)

    assert oauth_error(response) == "invalid_target"


def test_client_without_any_policy_is_unauthorized_client(
    http: Any, world: World, services: runtime.Services
) -> None:
    stranger = new_client(services, "Stranger")

    response = exchange(http, stranger, client_token(http, world.subject))

    assert oauth_error(response) == "unauthorized_client"


def test_nothing_left_of_the_subjects_grant_is_invalid_target(
    http: Any, world: World, services: runtime.Services
) -> None:
    services.provisioning.remove_grant(world.subject.client_id, world.inventory_api)

    response = exchange(http, world.caller, client_token(http, world.subject))

    assert oauth_error(response) == "invalid_target"


def test_subject_token_of_an_api_the_policy_does_not_list_is_invalid_request(
    http: Any, world: World, services: runtime.Services
) -> None:
    services.provisioning.set_grant(world.subject.client_id, world.inventory_api,
                                    ["inventory:read"])
    inventory_token = client_token(http, world.subject, audience=INVENTORY)

    response = exchange(http, world.caller, inventory_token)

    assert oauth_error(response) == "invalid_request"


def test_subject_token_of_a_deleted_and_recreated_source_api_is_invalid_request(
    http: Any, world: World, services: runtime.Services
) -> None:
    # GIVEN the policy's source API deleted and another created with its identifier
    p = services.provisioning
    p.delete_api(world.orders_api)
    recreated = p.create_api(name="Orders again", identifier=AUDIENCE,
                             scopes=[{"value": "orders:read", "description": "Read"}])
    p.set_grant(world.subject.client_id, recreated.api_id, ["orders:read"])
    subject_token = client_token(http, world.subject)

    # WHEN a token of the new API is exchanged under the old policy, THEN it is refused:
    # the policy names the deleted API, not whatever now has its identifier
    assert oauth_error(exchange(http, world.caller, subject_token)) == "invalid_request"
    # and an admin who lists the new API lets it through
    set_policy(services, world, source_apis=[recreated.api_id])
    assert exchange(http, world.caller, subject_token).status_code == 200


def test_removing_the_policy_ends_the_exchange_at_once(
    http: Any, world: World, services: runtime.Services
) -> None:
    other = services.provisioning.create_api(name="Other", identifier="https://other.example",
                                             scopes=[{"value": "x", "description": "x"}])
    set_policy(services, world)  # keep one policy so the caller stays a token-exchange client
    services.provisioning.set_exchange_policy(
        world.caller.client_id, other.api_id,
        {"source_apis": [world.orders_api], "scopes": ["x"]})
    services.provisioning.remove_exchange_policy(world.caller.client_id, world.inventory_api)

    response = exchange(http, world.caller, client_token(http, world.subject))

    assert oauth_error(response) == "invalid_target"


# -- the subject token must be an active token of ours ------------------------------------


def test_revoked_subject_token_is_invalid_request(http: Any, world: World) -> None:
    subject_token = client_token(http, world.subject)
    revoked = http.post("/oauth/revoke", headers={**FORM, **world.subject.auth()},
                        body=form(token=subject_token))
    assert revoked.status_code == 200

    assert oauth_error(exchange(http, world.caller, subject_token)) == "invalid_request"


def test_subject_token_of_a_blocked_app_is_invalid_request(
    http: Any, world: World, services: runtime.Services
) -> None:
    subject_token = client_token(http, world.subject)
    services.provisioning.update_app(world.subject.client_id, {"enabled": False})

    assert oauth_error(exchange(http, world.caller, subject_token)) == "invalid_request"


def test_subject_token_revoked_by_an_admin_is_invalid_request(
    http: Any, world: World, services: runtime.Services
) -> None:
    subject_token = client_token(http, world.subject)
    services.provisioning.revoke_tokens(world.subject.client_id)

    assert oauth_error(exchange(http, world.caller, subject_token)) == "invalid_request"


def test_expired_subject_token_is_invalid_request(
    http: Any, world: World, clock: FakeClock
) -> None:
    subject_token = client_token(http, world.subject)
    clock.advance(3600)

    assert oauth_error(exchange(http, world.caller, subject_token)) == "invalid_request"


def test_foreign_subject_token_is_invalid_request(http: Any, world: World) -> None:
    # a token shaped exactly like ours, signed by a key that is not ours
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    forged = jwt.encode(
        {**claims_of(client_token(http, world.subject)), "scope": "orders:write"}, key,
        algorithm="RS256",
        headers={"typ": "at+jwt", "kid": jwt.get_unverified_header(
            client_token(http, world.subject))["kid"]},
    )
    other_issuer = jwt.encode({**claims_of(client_token(http, world.subject)),
                               "iss": "https://elsewhere.example"}, key, algorithm="RS256",
                              headers={"typ": "at+jwt"})

    for token in (forged, other_issuer, "not-a-token"):
        assert oauth_error(exchange(http, world.caller, token)) == "invalid_request"


@pytest.mark.parametrize(("field", "value"), [
    ("subject_token_type", ""),
    ("subject_token_type", "urn:ietf:params:oauth:token-type:saml2"),
    ("requested_token_type", "urn:ietf:params:oauth:token-type:refresh_token"),
    ("requested_token_type", JWT_TOKEN_TYPE),
    ("actor_token_type", ACCESS_TOKEN_TYPE),  # without an actor_token
])
def test_malformed_requests_are_invalid_request(
    http: Any, world: World, field: str, value: str
) -> None:
    params = {"grant_type": TOKEN_EXCHANGE, "subject_token": client_token(http, world.subject),
              "subject_token_type": ACCESS_TOKEN_TYPE, "audience": INVENTORY, field: value}
    response = http.post("/oauth/token", headers={**FORM, **world.caller.auth()},
                         body=form(**{k: v for k, v in params.items() if v}))

    assert oauth_error(response) == "invalid_request"


def test_exchange_without_client_authentication_is_invalid_client(
    http: Any, world: World
) -> None:
    response = http.post("/oauth/token", headers=FORM, body=form(
        grant_type=TOKEN_EXCHANGE, subject_token=client_token(http, world.subject),
        subject_token_type=ACCESS_TOKEN_TYPE, audience=INVENTORY))

    assert oauth_error(response, 401) == "invalid_client"


# -- the actor ------------------------------------------------------------------------


def exchange_as(http: Any, world: World, actor_token: str) -> Any:
    """The caller exchanges a fresh token of the subject, naming ``actor_token``."""
    return exchange(http, world.caller, client_token(http, world.subject),
                    actor_token=actor_token, actor_token_type=ACCESS_TOKEN_TYPE)


def test_actor_token_of_another_client_is_invalid_request(http: Any, world: World) -> None:
    someone_else = client_token(http, world.subject)

    assert oauth_error(exchange_as(http, world, someone_else)) == "invalid_request"


def test_delegated_token_of_the_caller_is_no_actor_token(
    http: Any, world: World, services: runtime.Services
) -> None:
    # GIVEN a token issued to the caller but about the subject (an exchanged token)
    services.provisioning.set_grant(world.subject.client_id, world.inventory_api,
                                    ["inventory:read"])
    delegated = body_json(exchange(http, world.caller, client_token(http, world.subject)))

    # WHEN it is presented as the actor, THEN it is refused: an actor token speaks for
    # the caller itself
    assert oauth_error(exchange_as(http, world, delegated["access_token"])) == "invalid_request"


def test_delegated_token_of_the_caller_about_itself_is_no_actor_token(
    http: Any, world: World, services: runtime.Services
) -> None:
    # GIVEN a token issued to the caller about the caller (sub = client_id) that is
    # itself delegated: the caller exchanged one of its own tokens
    services.provisioning.set_grant(world.caller.client_id, world.inventory_api,
                                    ["inventory:read"])
    own = body_json(exchange(http, world.caller, client_token(http, world.caller)))
    claims = claims_of(own["access_token"])
    assert claims["sub"] == claims["client_id"] == world.caller.client_id
    assert claims["act"] == {"sub": world.caller.client_id}

    # WHEN it is presented as the actor, THEN it is refused: a delegated token is no
    # actor token
    assert oauth_error(exchange_as(http, world, own["access_token"])) == "invalid_request"


def test_revoked_actor_token_is_invalid_request(http: Any, world: World) -> None:
    actor = client_token(http, world.caller)
    http.post("/oauth/revoke", headers={**FORM, **world.caller.auth()}, body=form(token=actor))

    assert oauth_error(exchange_as(http, world, actor)) == "invalid_request"


# -- chains and their depth -------------------------------------------------------------


def chain_setup(
    services: runtime.Services, world: World, depth: int, **policy: Any
) -> tuple[Client, str]:
    """A second hop: the Inventory service exchanges Inventory tokens for Warehouse ones."""
    p = services.provisioning
    warehouse = p.create_api(name="Warehouse", identifier="https://api.example.com/warehouse",
                             scopes=[{"value": "stock:read", "description": "Stock"}])
    p.set_grant(world.subject.client_id, warehouse.api_id, ["stock:read"])
    second = new_client(services, "Inventory service")
    p.set_exchange_policy(second.client_id, warehouse.api_id, {
        "source_apis": [world.inventory_api], "scopes": ["stock:read"],
        "max_act_depth": depth, **policy})
    return second, "https://api.example.com/warehouse"


def test_a_second_hop_nests_the_earlier_actor(
    http: Any, world: World, services: runtime.Services
) -> None:
    second, warehouse = chain_setup(services, world, depth=2)
    first_hop = body_json(exchange(http, world.caller, client_token(http, world.subject)))

    response = exchange(http, second, first_hop["access_token"], audience=warehouse)

    assert response.status_code == 200, response.body
    claims = claims_of(body_json(response)["access_token"])
    assert claims["sub"] == world.subject.client_id
    assert claims["client_id"] == second.client_id
    assert claims["act"] == {"sub": second.client_id, "act": {"sub": world.caller.client_id}}


def test_a_chain_longer_than_the_policys_depth_is_invalid_request(
    http: Any, world: World, services: runtime.Services
) -> None:
    second, warehouse = chain_setup(services, world, depth=1)
    first_hop = body_json(exchange(http, world.caller, client_token(http, world.subject)))

    response = exchange(http, second, first_hop["access_token"], audience=warehouse)

    assert oauth_error(response) == "invalid_request"


# -- delegation and impersonation ------------------------------------------------------


def test_without_impersonation_in_the_policy_the_token_always_names_the_actor(
    http: Any, world: World
) -> None:
    # the default policy: delegation only; a request without actor_token is delegated
    claims = claims_of(body_json(exchange(
        http, world.caller, client_token(http, world.subject)))["access_token"])

    assert claims["act"] == {"sub": world.caller.client_id}


def test_impersonation_where_the_policy_allows_it_has_no_act_claim(
    http: Any, world: World, services: runtime.Services
) -> None:
    set_policy(services, world, impersonation=True)

    impersonated = claims_of(body_json(exchange(
        http, world.caller, client_token(http, world.subject)))["access_token"])
    delegated = claims_of(body_json(exchange(
        http, world.caller, client_token(http, world.subject),
        actor_token=client_token(http, world.caller),
        actor_token_type=ACCESS_TOKEN_TYPE))["access_token"])

    assert "act" not in impersonated
    assert impersonated["sub"] == world.subject.client_id
    assert impersonated["client_id"] == world.caller.client_id  # RFC 9068: still the client
    assert delegated["act"] == {"sub": world.caller.client_id}


def test_impersonating_a_delegated_token_is_invalid_request(
    http: Any, world: World, services: runtime.Services
) -> None:
    # GIVEN a first hop that names the Orders service in act, and a second caller whose
    # policy allows impersonation
    second, warehouse = chain_setup(services, world, depth=2, impersonation=True)
    first_hop = body_json(exchange(http, world.caller, client_token(http, world.subject)))
    assert claims_of(first_hop["access_token"])["act"] == {"sub": world.caller.client_id}

    # WHEN the second caller impersonates on it (no actor_token)
    response = exchange(http, second, first_hop["access_token"], audience=warehouse)

    # THEN it is refused: client_id would be the second caller while act named the first,
    # hiding the party acting now; a delegated token can only be delegated further
    assert oauth_error(response) == "invalid_request"
    services.provisioning.set_grant(second.client_id, world.orders_api, ["orders:read"])
    delegated = exchange(http, second, first_hop["access_token"], audience=warehouse,
                         actor_token=client_token(http, second),
                         actor_token_type=ACCESS_TOKEN_TYPE)
    assert claims_of(body_json(delegated)["access_token"])["act"] == {
        "sub": second.client_id, "act": {"sub": world.caller.client_id}}


def test_delegating_an_impersonated_token_keeps_the_impersonator_in_the_chain(
    http: Any, world: World, services: runtime.Services
) -> None:
    # GIVEN a first hop impersonated by the Orders service: client_id is the Orders
    # service, sub the subject, no act
    set_policy(services, world, impersonation=True)
    impersonated = body_json(exchange(http, world.caller, client_token(http, world.subject)))
    first = claims_of(impersonated["access_token"])
    assert "act" not in first and first["client_id"] == world.caller.client_id
    second, warehouse = chain_setup(services, world, depth=2)

    # WHEN a second caller exchanges it with delegation
    response = exchange(http, second, impersonated["access_token"], audience=warehouse)

    # THEN the Orders service is the prior actor: the hop is not lost
    assert response.status_code == 200, response.body
    claims = claims_of(body_json(response)["access_token"])
    assert claims["sub"] == world.subject.client_id
    assert claims["act"] == {"sub": second.client_id, "act": {"sub": world.caller.client_id}}


def test_impersonating_an_impersonated_token_is_invalid_request(
    http: Any, world: World, services: runtime.Services
) -> None:
    # an impersonated token (client_id != sub) has a prior actor although it has no act
    set_policy(services, world, impersonation=True)
    impersonated = body_json(exchange(http, world.caller, client_token(http, world.subject)))
    second, warehouse = chain_setup(services, world, depth=2, impersonation=True)

    response = exchange(http, second, impersonated["access_token"], audience=warehouse)

    assert oauth_error(response) == "invalid_request"


def test_impersonation_only_policy_refuses_delegation(
    http: Any, world: World, services: runtime.Services
) -> None:
    set_policy(services, world, impersonation=True, delegation=False)

    response = exchange(http, world.caller, client_token(http, world.subject),
                        actor_token=client_token(http, world.caller),
                        actor_token_type=ACCESS_TOKEN_TYPE)

    assert oauth_error(response) == "invalid_request"


# -- reuse, quotas, the log --------------------------------------------------------------


def test_a_repeated_exchange_reuses_the_token_of_that_subject_token_only(
    http: Any, world: World, services: runtime.Services
) -> None:
    services.provisioning.update_api(world.orders_api, {"token_reuse": None})
    subject_token = client_token(http, world.subject)
    first = body_json(exchange(http, world.caller, subject_token))

    again = body_json(exchange(http, world.caller, subject_token))
    other = body_json(exchange(http, world.caller, client_token(http, world.subject)))

    assert again["access_token"] == first["access_token"]
    assert other["access_token"] != first["access_token"]


def test_an_exchange_costs_one_query_one_batch_read_one_counter_and_one_signature(
    http: Any, world: World, aws: AwsBackend, services: runtime.Services
) -> None:
    services.provisioning.update_api(world.inventory_api, {"token_reuse": None})
    subject_token = client_token(http, world.subject)
    exchange(http, world.caller, subject_token)  # warm: key ring, last_used
    aws.counter.reset()

    response = exchange(http, world.caller, subject_token)

    assert response.status_code == 200
    assert aws.counter.calls == {"dynamodb:Query": 1, "dynamodb:BatchGetItem": 1,
                                 "dynamodb:UpdateItem": 1, "kms:Sign": 1}


def test_the_callers_quota_counts_exchanged_tokens(
    http: Any, world: World, services: runtime.Services
) -> None:
    services.provisioning.update_api(world.inventory_api, {"token_reuse": None})
    services.provisioning.update_app(world.caller.client_id, {"quota": {"per_hour": 1}})
    subject_token = client_token(http, world.subject)

    first = exchange(http, world.caller, subject_token)
    second = exchange(http, world.caller, subject_token)

    assert first.status_code == 200
    assert oauth_error(second, 429) == "too_many_requests"


def test_every_exchange_is_logged_with_its_grant_type_and_never_the_token(
    http: Any, world: World, caplog: pytest.LogCaptureFixture
) -> None:
    subject_token = client_token(http, world.subject)
    with caplog.at_level(logging.INFO, logger="chalicelib"):
        issued = body_json(exchange(http, world.caller, subject_token))
        exchange(http, world.caller, subject_token, scope="inventory:write")

    issued_lines = [r.getMessage() for r in caplog.records
                    if r.getMessage().startswith("token issued")
                    and f"grant_type={TOKEN_EXCHANGE}" in r.getMessage()]
    assert len(issued_lines) == 1  # the refused one is not "issued"
    assert f"client_id={world.caller.client_id}" in issued_lines[0]
    assert f"aud={INVENTORY}" in issued_lines[0]
    text = "\n".join(r.getMessage() for r in caplog.records)
    assert subject_token not in text and issued["access_token"] not in text
    assert subject_token.split(".")[2] not in text


# -- workload JWTs as subject tokens ------------------------------------------------------


@pytest.fixture
def issuer() -> Iterator[TestIssuer]:
    with serve_issuer() as served:
        yield served


def workload_setup(
    services: runtime.Services, world: World, issuer: TestIssuer, **policy: Any
) -> None:
    services.federation.add_issuer({"preset": "oidc", "issuer": issuer.issuer,
                                    "jwks_uri": issuer.jwks_uri})
    services.federation.add_identity(world.subject.client_id,
                                     {"issuer": issuer.issuer, "subject": WORKLOAD})
    set_policy(services, world, source_issuers=[issuer.issuer], **policy)


def exchange_workload(http: Any, world: World, workload: str) -> Any:
    return http.post("/oauth/token", headers={**FORM, **world.caller.auth()}, body=form(
        grant_type=TOKEN_EXCHANGE, subject_token=workload,
        subject_token_type=JWT_TOKEN_TYPE, audience=INVENTORY))


def test_workload_jwt_subject_maps_through_federated_identities(
    http: Any, world: World, services: runtime.Services, issuer: TestIssuer,
    clock: FakeClock,
) -> None:
    workload_setup(services, world, issuer)
    # minted for the Orders API (a source of the policy), the service that exchanges it
    workload = issuer.token(WORKLOAD, AUDIENCE, now=clock.now, lifetime=120)

    response = exchange_workload(http, world, workload)

    assert response.status_code == 200, response.body
    body = body_json(response)
    claims = claims_of(body["access_token"])
    assert (claims["sub"], claims["client_id"]) == (world.subject.client_id,
                                                    world.caller.client_id)
    assert claims["act"] == {"sub": world.caller.client_id}
    assert body["expires_in"] == 120  # never past the workload token's exp
    # single use (the issuer's default): the same JWT again is a replay
    assert oauth_error(exchange_workload(http, world, workload)) == "invalid_request"


def test_workload_jwt_of_an_issuer_the_policy_does_not_list_is_invalid_request(
    http: Any, world: World, services: runtime.Services, issuer: TestIssuer,
    clock: FakeClock,
) -> None:
    workload_setup(services, world, issuer)
    set_policy(services, world)  # the issuer is no source any more

    response = exchange_workload(http, world, issuer.token(WORKLOAD, AUDIENCE, now=clock.now))

    assert oauth_error(response) == "invalid_request"


@pytest.mark.parametrize("change", [
    {"sub": "system:serviceaccount:billing:other"},   # no identity lists it
    {"aud": "https://someone-else.example"},           # not minted for a source API
])
def test_workload_jwt_that_maps_to_no_app_or_names_another_audience_is_refused(
    http: Any, world: World, services: runtime.Services, issuer: TestIssuer,
    clock: FakeClock, change: dict[str, str],
) -> None:
    workload_setup(services, world, issuer)
    workload = issuer.token(change.get("sub", WORKLOAD), change.get("aud", AUDIENCE),
                            now=clock.now)

    assert oauth_error(exchange_workload(http, world, workload)) == "invalid_request"


@pytest.mark.parametrize("ours", [ISSUER, f"{ISSUER}/oauth/token", "urn:m2m-auth:billing"])
def test_a_workload_jwt_that_is_a_credential_here_is_no_exchange_subject(
    http: Any, world: World, services: runtime.Services, issuer: TestIssuer,
    clock: FakeClock, ours: str,
) -> None:
    # a token naming our issuer, our token endpoint or the rule's own audience would let
    # the service it was handed to authenticate as the workload instead of exchanging it
    workload_setup(services, world, issuer)
    services.federation.add_identity(world.subject.client_id, {
        "issuer": issuer.issuer, "subject": WORKLOAD + "-x", "audience": "urn:m2m-auth:billing"})
    subject = WORKLOAD + ("-x" if ours.startswith("urn:") else "")

    for aud in (ours, [AUDIENCE, ours]):
        workload = issuer.token(subject, aud, now=clock.now)
        assert oauth_error(exchange_workload(http, world, workload)) == "invalid_request"


def test_an_exchange_subject_is_never_a_credential_at_the_token_endpoint(
    http: Any, world: World, services: runtime.Services, issuer: TestIssuer,
    clock: FakeClock,
) -> None:
    # the review's attack: the caller keeps the workload's token (of an issuer without
    # single-use jti) and presents it as the workload's own credential instead
    services.federation.add_issuer({"preset": "oidc", "issuer": issuer.issuer,
                                    "jwks_uri": issuer.jwks_uri, "single_use_jti": False})
    services.federation.add_identity(world.subject.client_id,
                                     {"issuer": issuer.issuer, "subject": WORKLOAD})
    set_policy(services, world, source_issuers=[issuer.issuer])
    workload = issuer.token(WORKLOAD, AUDIENCE, now=clock.now)
    assert exchange_workload(http, world, workload).status_code == 200

    as_grant = http.post("/oauth/token", headers=FORM, body=form(
        grant_type="urn:ietf:params:oauth:grant-type:jwt-bearer", assertion=workload,
        resource=AUDIENCE))
    as_client = http.post("/oauth/token", headers=FORM, body=form(
        grant_type="client_credentials", audience=AUDIENCE,
        client_id=world.subject.client_id, client_assertion=workload,
        client_assertion_type="urn:ietf:params:oauth:client-assertion-type:jwt-bearer"))

    assert oauth_error(as_grant) == "invalid_grant"
    assert oauth_error(as_client, 401) == "invalid_client"


def test_exchange_answers_are_json_without_traces(http: Any, world: World) -> None:
    response = exchange(http, world.caller, "x" * 9000)

    assert oauth_error(response) == "invalid_request"
    assert "Traceback" not in json.dumps(body_json(response))


def test_an_exchange_counts_in_tokens_issued_by_grant_type_and_in_the_outcome_line(
    http: Any, world: World
) -> None:
    from chalicelib.aws import metrics

    subject_token = client_token(http, world.subject)
    lines: list[str] = []
    metrics.use(metrics.EmfRecorder("m2m-auth/test", write=lines.append))
    try:
        assert exchange(http, world.caller, subject_token).status_code == 200
    finally:
        metrics.use(metrics.NullRecorder())

    documents = [json.loads(line) for line in lines]
    [outcome] = [d for d in documents if d.get("event") == "token_outcome"]
    assert outcome == {"event": "token_outcome", "client_id": world.caller.client_id,
                       "outcome": "issued", "reason": None, "grant_type": TOKEN_EXCHANGE}
    [issued] = [d for d in documents if "TokensIssued" in d]
    assert (issued["TokensIssued"], issued["GrantType"]) == (1, TOKEN_EXCHANGE)


# -- DPoP (RFC 9449) on the exchange ---------------------------------------------------------

TOKEN_URL = ISSUER + "/oauth/token"


def dpop_exchange(http: Any, caller: Client, subject_token: str, proof: str | None) -> Any:
    headers = {**FORM, **caller.auth(), **({"DPoP": proof} if proof else {})}
    return http.post("/oauth/token", headers=headers, body=form(
        grant_type=TOKEN_EXCHANGE, subject_token=subject_token,
        subject_token_type=ACCESS_TOKEN_TYPE, audience=INVENTORY))


def test_an_exchange_with_the_callers_proof_is_bound_to_the_callers_key(
    http: Any, world: World, clock: FakeClock,
) -> None:
    key = es256_key()
    subject = client_token(http, world.subject)

    proof = dpop_proof(key, TOKEN_URL, int(clock.now))

    response = dpop_exchange(http, world.caller, subject, proof)

    assert response.status_code == 200, response.body
    body = body_json(response)
    assert body["token_type"] == "DPoP" and body["issued_token_type"] == ACCESS_TOKEN_TYPE
    claims = claims_of(body["access_token"])
    assert claims["cnf"] == {"jkt": thumbprint(public_members(key))}
    assert claims["act"] == {"sub": world.caller.client_id}


def test_a_bound_subject_token_does_not_bind_the_result_to_the_subjects_key(
    http: Any, world: World, clock: FakeClock,
) -> None:
    # the subject's key stays with the subject: the caller cannot prove it, and the
    # result binds to whatever the caller proves (or is a bearer token for the caller)
    subject_key, caller_key = es256_key(), es256_key()
    proof = dpop_proof(subject_key, TOKEN_URL, int(clock.now))
    headers = {**FORM, **world.subject.auth(), "DPoP": proof}
    bound_subject = body_json(http.post("/oauth/token", headers=headers, body=form(
        grant_type="client_credentials", audience=AUDIENCE)))["access_token"]

    bearer = claims_of(body_json(dpop_exchange(http, world.caller, bound_subject,
                                               None))["access_token"])
    bound = claims_of(body_json(dpop_exchange(
        http, world.caller, bound_subject,
        dpop_proof(caller_key, TOKEN_URL, int(clock.now))))["access_token"])

    assert "cnf" not in bearer
    assert bound["cnf"] == {"jkt": thumbprint(public_members(caller_key))}


def test_exchange_reuse_never_hands_a_bound_token_to_another_key_or_a_bearer_request(
    http: Any, world: World, clock: FakeClock,
) -> None:
    first, second = es256_key(), es256_key()
    subject = client_token(http, world.subject)

    def token(key: Any) -> str:
        proof = dpop_proof(key, TOKEN_URL, int(clock.now)) if key else None
        response = dpop_exchange(http, world.caller, subject, proof)
        assert response.status_code == 200, response.body
        return str(body_json(response)["access_token"])

    bound = token(first)
    assert token(first) == bound  # the same subject token and key: reused
    other, bearer = token(second), token(None)
    assert len({bound, other, bearer}) == 3
    assert claims_of(other)["cnf"]["jkt"] == thumbprint(public_members(second))
    assert "cnf" not in claims_of(bearer)


def test_a_caller_that_must_use_dpop_is_refused_an_exchange_without_a_proof(
    http: Any, services: runtime.Services, world: World, clock: FakeClock,
) -> None:
    services.provisioning.update_app(world.caller.client_id, {"dpop_bound_access_tokens": True})
    subject = client_token(http, world.subject)

    assert oauth_error(dpop_exchange(http, world.caller, subject, None)) == "invalid_dpop_proof"
    assert dpop_exchange(http, world.caller, subject,
                         dpop_proof(es256_key(), TOKEN_URL, int(clock.now))).status_code == 200


def test_a_target_api_requiring_sender_constrained_tokens_refuses_a_bearer_exchange(
    http: Any, services: runtime.Services, world: World, clock: FakeClock,
) -> None:
    services.provisioning.update_api(world.inventory_api,
                                     {"sender_constrained_tokens_required": True})
    subject = client_token(http, world.subject)  # the Orders API does not require it

    assert oauth_error(dpop_exchange(http, world.caller, subject, None)) == "invalid_request"
    response = dpop_exchange(http, world.caller, subject,
                             dpop_proof(es256_key(), TOKEN_URL, int(clock.now)))
    assert body_json(response)["token_type"] == "DPoP"
