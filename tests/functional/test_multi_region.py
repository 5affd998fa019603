"""Multi-region stages on moto with two regions (docs/multi-region.md).

moto replicates a multi-Region key's material (a replica signs, the primary
verifies) but keeps one DynamoDB table per region without replication: the two
regions' stores here share the home region's table, which is what a global table
gives them once replicated. A replica in state ``Creating`` is shown with
botocore's Stubber (moto's replicas are ``Enabled`` at once)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import boto3
import jwt
import pytest
from botocore.stub import Stubber
from chalice.test import Client

from chalicelib import runtime
from chalicelib.aws.kms_keys import KmsKeyFactory
from chalicelib.aws.kms_signer import KmsSigner
from chalicelib.errors import SigningFailed
from chalicelib.store.dynamodb import DynamoDBStore
from chalicelib.store.records import KeyState
from chalicelib.tokens.multi_region import in_region
from tests.conftest import AUDIENCE, ISSUER, TABLE, make_settings, seed_demo
from tests.fakes import FakeClock
from tests.functional.conftest import JSON, body_json, token_request

HOME, OTHER = "eu-west-1", "us-east-1"
HOME_ADMIN = f"https://abc123.execute-api.{HOME}.amazonaws.com/api/admin"
STACK = "m2m-auth-prod"
SIGNER_ROLE = "arn:aws:iam::123456789012:role/m2m-auth-prod-ApiHandlerRole-A1"
ROTATION_ROLE = "arn:aws:iam::123456789012:role/m2m-auth-prod-RotateSigningKeysRole-B2"
PATTERN = "arn:aws:iam::123456789012:role/m2m-auth-prod-ApiHandlerRole-*"
DAY = 86400


@dataclass
class TwoRegions:
    dynamodb: Any
    kms: dict[str, Any]
    first_key: str
    """ARN of the deploy's first key: a multi-Region primary in HOME."""


@pytest.fixture
def regions() -> Iterator[TwoRegions]:
    from moto import mock_aws

    from chalicelib.store.schema import create_table

    with mock_aws():
        dynamodb = boto3.client("dynamodb", region_name=HOME)
        create_table(dynamodb, TABLE)
        kms = {r: boto3.client("kms", region_name=r) for r in (HOME, OTHER)}
        key = kms[HOME].create_key(KeySpec="RSA_2048", KeyUsage="SIGN_VERIFY",
                                   MultiRegion=True)["KeyMetadata"]
        # What the secondary stack's AWS::KMS::ReplicaKey does.
        kms[HOME].replicate_key(KeyId=key["KeyId"], ReplicaRegion=OTHER)
        yield TwoRegions(dynamodb, kms, key["Arn"])


def _factory(r: TwoRegions) -> KmsKeyFactory:
    return KmsKeyFactory(r.kms[HOME], STACK, SIGNER_ROLE, ROTATION_ROLE,
                         replica_regions=[OTHER], client_for=r.kms.__getitem__,
                         signer_role_pattern=PATTERN)


def _services(r: TwoRegions, region: str, clock: FakeClock) -> runtime.Services:
    """One region's services as its stack configures them (HOME_REGION, its replica)."""
    settings = make_settings(
        AWS_REGION=region, HOME_REGION=HOME, HOME_ADMIN_URL=HOME_ADMIN,
        STAGE_REGIONS=f"{HOME},{OTHER}", M2M_STACK=STACK,
        SIGNING_KEY_ID=in_region(r.first_key, region),
    )
    return runtime.build_services(
        settings, DynamoDBStore(r.dynamodb, TABLE), KmsSigner(r.kms[region], region=region),
        clock, key_factory=_factory(r) if region == HOME else None,
    )


def _http(services: runtime.Services) -> Iterator[Any]:
    import app as chalice_app

    runtime.install(services)
    with Client(chalice_app.app) as client:
        yield client.http


def test_the_rotation_creates_a_multi_region_key_and_replicates_it(
    regions: TwoRegions,
) -> None:
    arn = _factory(regions).create("RS256", "rotation")

    home = regions.kms[HOME].describe_key(KeyId=arn)["KeyMetadata"]
    replica = regions.kms[OTHER].describe_key(KeyId=in_region(arn, OTHER))["KeyMetadata"]
    assert arn.startswith(f"arn:aws:kms:{HOME}:") and home["MultiRegion"] is True
    assert home["MultiRegionConfiguration"]["MultiRegionKeyType"] == "PRIMARY"
    assert replica["KeyId"] == home["KeyId"] and replica["KeyState"] == "Enabled"
    assert replica["MultiRegionConfiguration"]["MultiRegionKeyType"] == "REPLICA"
    public = [regions.kms[r].get_public_key(KeyId=in_region(arn, r))["PublicKey"]
              for r in (HOME, OTHER)]
    assert public[0] == public[1]


def test_a_token_issued_in_one_region_verifies_with_the_other_regions_jwks(
    regions: TwoRegions, clock: FakeClock
) -> None:
    # GIVEN both regions' services on the (replicated) table, each with its own replica
    # (the key recorded by the home region, by its home ARN)
    home, other = _services(regions, HOME, clock), _services(regions, OTHER, clock)
    home.keyring.register(regions.first_key, "RS256", KeyState.CURRENT)
    demo = seed_demo(home)
    calls: list[tuple[str, str]] = []

    def signed_in(region: str) -> Any:
        return lambda params, **_: calls.append((region, params["KeyId"]))

    for region in (HOME, OTHER):
        regions.kms[region].meta.events.register("provide-client-params.kms.Sign",
                                                 signed_in(region))

    # WHEN a client gets a token in the secondary region
    for http in _http(other):
        token = body_json(token_request(http, demo))["access_token"]
        other_jwks = http.get("/.well-known/jwks.json").body
        other_metadata = http.get("/.well-known/oauth-authorization-server").body
    for http in _http(home):
        home_jwks = http.get("/.well-known/jwks.json").body
        home_metadata = http.get("/.well-known/oauth-authorization-server").body

    # THEN it was signed by that region's replica, the JWKS and metadata are the same
    # bytes in both regions, and the home region's JWKS verifies the token
    assert calls == [(OTHER, in_region(regions.first_key, OTHER))]
    assert home_jwks == other_jwks and home_metadata == other_metadata
    [jwk] = body_json(type("R", (), {"body": home_jwks})())["keys"]
    assert jwt.get_unverified_header(token)["kid"] == jwk["kid"]
    claims = jwt.decode(token, jwt.PyJWK(jwk).key, algorithms=["RS256"],
                        audience=AUDIENCE, issuer=ISSUER)
    assert claims["client_id"] == demo.client_id


@pytest.mark.parametrize(("method", "path"), [
    ("POST", "/admin/apps"), ("PATCH", "/admin/apis/x"), ("PUT", "/admin/apps/x/grants/y"),
    ("DELETE", "/admin/apps/x"), ("POST", "/admin/keys/rotate"),
])
def test_rejects_admin_writes_outside_the_home_region_naming_its_admin_url(
    regions: TwoRegions, clock: FakeClock, method: str, path: str
) -> None:
    for http in _http(_services(regions, OTHER, clock)):
        response = getattr(http, method.lower())(path, headers=JSON, body="{}")

    assert response.status_code == 421
    assert response.headers["Content-Type"] == "application/problem+json"
    problem = body_json(response)
    assert problem["type"] == "urn:m2m-auth:problem:not-home-region"
    assert problem["home_region"] == HOME and problem["home_admin_url"] == HOME_ADMIN
    assert HOME in problem["detail"] and HOME_ADMIN in problem["detail"]


def test_admin_reads_work_outside_the_home_region_and_writes_at_home(
    regions: TwoRegions, clock: FakeClock
) -> None:
    for http in _http(_services(regions, OTHER, clock)):
        assert http.get("/admin/apps").status_code == 200
    for http in _http(_services(regions, HOME, clock)):
        created = http.post("/admin/apis", headers=JSON,
                            body='{"name": "Orders", "identifier": "https://orders.example"}')
        assert created.status_code == 201, created.body


def _rotation_due(r: TwoRegions, clock: FakeClock) -> runtime.Services:
    """Home services whose current key is old enough to need a next key."""
    home = _services(r, HOME, clock)
    home.keyring.register(r.first_key, "RS256", KeyState.CURRENT)
    clock.advance(90 * DAY)
    return home


def test_the_rotation_replicates_the_next_key_and_promotes_it_once_enabled_everywhere(
    regions: TwoRegions, clock: FakeClock
) -> None:
    home = _rotation_due(regions, clock)
    assert home.rotation is not None
    assert home.rotation.run().startswith("created next key")
    [pending] = [k for k in home.keys.list_keys() if k.state is KeyState.NEXT]
    replica = regions.kms[OTHER].describe_key(KeyId=in_region(pending.kms_key_id, OTHER))
    assert replica["KeyMetadata"]["KeyState"] == "Enabled"

    clock.advance(7 * DAY)
    assert home.rotation.run() == f"promoted {pending.kid}"


def test_the_rotation_refuses_to_promote_while_a_replica_is_not_enabled(
    regions: TwoRegions, clock: FakeClock
) -> None:
    # GIVEN a next key whose replica in the other region is disabled
    home = _rotation_due(regions, clock)
    assert home.rotation is not None
    home.rotation.run()
    [pending] = [k for k in home.keys.list_keys() if k.state is KeyState.NEXT]
    key_id = pending.kms_key_id.rsplit("/", 1)[-1]  # moto takes ids only here
    regions.kms[OTHER].disable_key(KeyId=key_id)
    clock.advance(7 * DAY)

    # WHEN the rotation runs THEN it postpones, naming the region, and nothing moves
    outcome = home.rotation.run()
    assert outcome.startswith("postponed") and OTHER in outcome, outcome
    states = {k.kid: k.state for k in home.keys.list_keys()}
    assert states[pending.kid] is KeyState.NEXT

    # WHEN the replica is enabled again THEN the next run promotes it
    regions.kms[OTHER].enable_key(KeyId=key_id)
    assert home.rotation.run() == f"promoted {pending.kid}"


def test_a_missing_replica_is_replicated_again_and_reported_unready(
    regions: TwoRegions,
) -> None:
    # GIVEN a primary whose replica does not exist (yet) in the other region, and a
    # replica that is still Creating once ReplicateKey returns (Stubber)
    arn = regions.kms[HOME].create_key(KeySpec="RSA_2048", KeyUsage="SIGN_VERIFY",
                                       MultiRegion=True)["KeyMetadata"]["Arn"]
    other = boto3.client("kms", region_name=OTHER)
    stubber = Stubber(other)
    stubber.add_client_error("describe_key", "NotFoundException",
                             expected_params={"KeyId": in_region(arn, OTHER)})
    stubber.activate()
    factory = KmsKeyFactory(regions.kms[HOME], STACK, SIGNER_ROLE, ROTATION_ROLE,
                            replica_regions=[OTHER], client_for=lambda _: other,
                            signer_role_pattern=PATTERN)

    # WHEN the rotation checks it THEN the region is unready and ReplicateKey was sent
    assert factory.unready_regions(arn) == [OTHER]
    stubber.assert_no_pending_responses()
    created = regions.kms[OTHER].describe_key(KeyId=in_region(arn, OTHER))["KeyMetadata"]
    assert created["MultiRegionConfiguration"]["MultiRegionKeyType"] == "REPLICA"

    # WHEN the replica is still Creating THEN it is still unready
    stubber.add_response("describe_key", {"KeyMetadata": {
        "KeyId": created["KeyId"], "Arn": created["Arn"], "KeyState": "Creating"}})
    assert factory.unready_regions(arn) == [OTHER]


def test_a_single_region_key_is_never_promoted_in_a_multi_region_stage(
    regions: TwoRegions,
) -> None:
    arn = regions.kms[HOME].create_key(KeySpec="RSA_2048",
                                       KeyUsage="SIGN_VERIFY")["KeyMetadata"]["Arn"]
    assert _factory(regions).unready_regions(arn) == [OTHER]


def test_the_rotation_fails_loudly_when_kms_cannot_describe_a_replica(
    regions: TwoRegions,
) -> None:
    other = boto3.client("kms", region_name=OTHER)
    stubber = Stubber(other)
    stubber.add_client_error("describe_key", "AccessDeniedException")
    stubber.activate()
    factory = KmsKeyFactory(regions.kms[HOME], STACK, replica_regions=[OTHER],
                            client_for=lambda _: other)
    with pytest.raises(SigningFailed, match=OTHER):
        factory.unready_regions(regions.first_key)


def test_the_secondary_regions_scheduled_rotation_does_nothing(
    regions: TwoRegions, clock: FakeClock
) -> None:
    import app as chalice_app

    runtime.install(_services(regions, OTHER, clock))
    with Client(chalice_app.app) as client:
        result = client.lambda_.invoke("rotate_signing_keys", client.events.generate_cw_event(
            source="aws.events", detail_type="Scheduled Event", detail={}, resources=[]))
    assert result.payload == f"not the home region ({HOME}): nothing to do"


def test_quota_counters_are_per_region_and_usage_adds_the_regions_up(
    regions: TwoRegions, clock: FakeClock
) -> None:
    from chalicelib.store.records import Quota

    # GIVEN the two regions' stores on the (replicated) table, a quota of 2 a day
    stores = {r: DynamoDBStore(regions.dynamodb, TABLE, counter_region=r) for r in (HOME, OTHER)}
    quota, now = Quota(per_day=2), int(clock())

    # WHEN each region counts three fresh tokens
    allowed = {r: [stores[r].count_fresh_token("app-1", now, quota).allowed for _ in range(3)]
               for r in (HOME, OTHER)}

    # THEN each region enforces the quota on its own traffic (2× across 2 regions),
    # its items never shared (no last-writer-wins between regions), and usage is the sum
    assert allowed == {HOME: [True, True, False], OTHER: [True, True, False]}
    assert stores[HOME].usage("app-1", now).daily[-1][1] == 4
    single = DynamoDBStore(regions.dynamodb, TABLE)  # a single-region stage: one item
    assert single.count_fresh_token("app-2", now, quota).day == 1
    assert single.usage("app-2", now).daily[-1][1] == 1
