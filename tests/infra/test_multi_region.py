"""A multi-region stage (docs/multi-region.md): its settings, each region's packaged
template (structure, IAM, cfn-lint), and the order and failure handling of
``make deploy`` / ``make destroy`` across regions."""

from __future__ import annotations

import copy
import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.stub import ANY, Stubber
from cfnlint.api import lint
from cfnlint.config import ManualArgs
from chalice.package import TemplateDeepMerger
from moto import mock_aws

import infra.stage as stage_module
from chalicelib.tokens.key_policy import rotated_key_policy
from infra import multi_region as mr
from infra import names as ids
from infra import template as tpl
from infra.deploy import Account, deploy_package
from infra.package import MERGE_TEMPLATE, Package, describe_app
from infra.regions import RegionsFailed, deploy_regions, destroy_regions
from infra.stage import PROJECT_DIR, StageConfig, StageError, load_stage
from tests.infra.policies import (
    decision,
    default_key_policy,
    key_policy,
    kms_decision,
    policy_statements,
    resolve,
)

HOME, OTHER = "eu-west-1", "us-east-1"
ACCOUNT_ID = "123456789012"
ZONE = "Z0123456789ABC"
CERTS = {r: f"arn:aws:acm:{r}:{ACCOUNT_ID}:certificate/{r}-cert" for r in (HOME, OTHER)}
PRIMARY = f"arn:aws:kms:{HOME}:{ACCOUNT_ID}:key/mrk-1234abcd12ab34cd56ef1234567890ab"
HOME_ADMIN = f"https://home1.execute-api.{HOME}.amazonaws.com/api/admin"


# -- settings -------------------------------------------------------------------------------


def _stages_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, prod: str) -> None:
    default = stage_module.STAGES_FILE.read_text().split("\n[dev]")[0]
    path = tmp_path / "stages.toml"
    path.write_text(default + "\n[prod]\n" + prod)
    monkeypatch.setattr(stage_module, "STAGES_FILE", path)


MULTI = f"""
custom_domain = "auth.example.com"
regions = ["{OTHER}", "{HOME}"]
home_region = "{HOME}"
hosted_zone_id = "{ZONE}"
certificate_arns = {{ {HOME} = "{CERTS[HOME]}", {OTHER} = "{CERTS[OTHER]}" }}
"""


def test_a_stage_lists_its_regions_home_first_with_a_certificate_each(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _stages_file(tmp_path, monkeypatch, MULTI)
    stage = load_stage("prod")
    assert stage.multi_region and stage.regions == (HOME, OTHER)
    assert stage.home_region == HOME and stage.secondary_regions == (OTHER,)
    assert stage.issuer == "https://auth.example.com"
    assert stage.for_region(OTHER).certificate_arn == CERTS[OTHER]
    assert stage.for_region(HOME).is_home and not stage.for_region(OTHER).is_home


@pytest.mark.parametrize(("change", "message"), [
    ({"custom_domain": '""'}, "needs a custom_domain"),
    ({"hosted_zone_id": '""'}, "hosted_zone_id"),
    ({"home_region": '"ap-south-1"'}, "is not one of its regions"),
    ({"custom_domain_endpoint": '"EDGE"'}, "REGIONAL"),
    ({"certificate_arns": f'{{ {HOME} = "{CERTS[HOME]}" }}'}, f"certificate in {OTHER}"),
    ({"certificate_arns": f'{{ {HOME} = "{CERTS[OTHER]}", {OTHER} = "{CERTS[OTHER]}" }}'},
     f"certificate in {HOME}"),
    ({"regions": f'["{HOME}", "{HOME}"]'}, "twice"),
])
def test_rejects_an_incomplete_multi_region_stage(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, change: dict[str, str], message: str
) -> None:
    lines = [line for line in MULTI.strip().splitlines()
             if line.split(" = ")[0] not in change]
    lines += [f"{key} = {value}" for key, value in change.items()]
    _stages_file(tmp_path, monkeypatch, "\n".join(lines) + "\n")
    with pytest.raises(StageError, match=message):
        load_stage("prod")


def test_single_region_stages_are_unchanged(dev_stage: StageConfig) -> None:
    assert not dev_stage.multi_region and dev_stage.is_home and dev_stage.regions == ()


# -- each region's template -----------------------------------------------------------------


def multi_region_stage(dev_stage: StageConfig) -> StageConfig:
    """The dev stage in two regions, home ``HOME`` (tests/infra/test_policy_lint.py too)."""
    return replace(
        dev_stage, custom_domain="auth.example.com", issuer="https://auth.example.com",
        regions=(HOME, OTHER), home_region=HOME, hosted_zone_id=ZONE,
        certificate_arns=tuple(CERTS.items()),
    )


@pytest.fixture(scope="module")
def multi_stage(dev_stage: StageConfig) -> StageConfig:
    return multi_region_stage(dev_stage)


@pytest.fixture(scope="module")
def templates(packaged: Package, multi_stage: StageConfig) -> dict[str, dict[str, Any]]:
    """Each region's template as ``make package --region`` merges it: Chalice's own
    template (the packaged dev template less what dev's merge template added), merged
    with the region's merge template."""
    chalice = copy.deepcopy(packaged.template())
    added = json.loads((packaged.out_dir / MERGE_TEMPLATE).read_text())
    for name, body in added["Resources"].items():
        if "Type" in body:
            chalice["Resources"].pop(name)
    for name in added["Outputs"]:
        chalice["Outputs"].pop(name, None)
    shape = describe_app(PROJECT_DIR)
    return {
        region: TemplateDeepMerger().merge(
            tpl.merge_template(multi_stage.for_region(region), shape), copy.deepcopy(chalice))
        for region in multi_stage.regions
    }


def _lint_errors(template: dict[str, Any], region: str) -> list[str]:
    matches = lint(json.dumps(template), config=ManualArgs(regions=[region]))
    return [f"{m.rule.id} {m.message} at {m.path}" for m in matches]


@pytest.mark.parametrize("region", [HOME, OTHER])
def test_each_regions_template_has_no_cfn_lint_errors_or_warnings(
    templates: dict[str, dict[str, Any]], region: str
) -> None:
    assert _lint_errors(templates[region], region) == []


def test_the_home_template_holds_one_global_table_with_a_replica_per_region(
    templates: dict[str, dict[str, Any]],
) -> None:
    home, other = templates[HOME]["Resources"], templates[OTHER]["Resources"]
    table = home[mr.GLOBAL_TABLE]
    assert table["Type"] == "AWS::DynamoDB::GlobalTable"
    assert table["DeletionPolicy"] == table["UpdateReplacePolicy"] == "Retain"
    props = table["Properties"]
    assert [r["Region"] for r in props["Replicas"]] == [HOME, OTHER]
    assert all(r["DeletionProtectionEnabled"] and
               r["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"]
               for r in props["Replicas"])
    assert props["StreamSpecification"]["StreamViewType"] == "NEW_AND_OLD_IMAGES"
    assert "MultiRegionConsistency" not in props  # default: eventual (docs/multi-region.md)
    # No region has a single-region table; the secondary has no table resource at all.
    assert ids.TABLE not in home and ids.TABLE not in other
    assert not [n for n, r in other.items() if r["Type"].startswith("AWS::DynamoDB::")]


def test_every_region_uses_its_local_replica_by_name(
    templates: dict[str, dict[str, Any]],
) -> None:
    home, other = templates[HOME]["Resources"], templates[OTHER]["Resources"]
    variables = other[ids.API_FUNCTION]["Properties"]["Environment"]["Variables"]
    assert variables["TABLE_NAME"] == home[mr.GLOBAL_TABLE]["Properties"]["TableName"]
    assert home[ids.API_FUNCTION]["Properties"]["Environment"]["Variables"]["TABLE_NAME"] == {
        "Ref": mr.GLOBAL_TABLE}
    [statement] = [s for s in policy_statements(other)
                   if s.resource == ids.API_ROLE and s.sid == "ReadWriteOwnTable"]
    assert statement.resources[0] == {"Fn::Sub": "arn:${AWS::Partition}:dynamodb:"
                                      "${AWS::Region}:${AWS::AccountId}:table/m2m-auth-dev"}
    for region, template in templates.items():
        text = json.dumps(template)
        assert '"Table"' not in text and '${Table.' not in text, region


def test_the_secondary_key_is_a_replica_of_the_home_primary(
    templates: dict[str, dict[str, Any]],
) -> None:
    primary = templates[HOME]["Resources"][ids.SIGNING_KEY]
    replica = templates[OTHER]["Resources"][ids.SIGNING_KEY]
    assert primary["Type"] == "AWS::KMS::Key" and primary["Properties"]["MultiRegion"] is True
    assert replica["Type"] == "AWS::KMS::ReplicaKey"
    assert replica["DeletionPolicy"] == replica["UpdateReplacePolicy"] == "Retain"
    assert replica["Properties"]["PrimaryKeyArn"] == {"Ref": mr.PRIMARY_KEY_PARAMETER}
    assert templates[OTHER]["Parameters"][mr.PRIMARY_KEY_PARAMETER]["Type"] == "String"
    # Its key policy names this region's token function, like the primary's.
    signers = [s for s in replica["Properties"]["KeyPolicy"]["Statement"]
               if s["Sid"] == "OnlyTheTokenFunctionSigns"]
    assert signers[0]["Condition"] == {
        "ArnEquals": {"aws:PrincipalArn": {"Fn::GetAtt": [ids.API_ROLE, "Arn"]}}}
    for template in templates.values():
        variables = template["Resources"][ids.API_FUNCTION]["Properties"]["Environment"][
            "Variables"]
        assert variables["SIGNING_KEY_ID"] == {"Fn::GetAtt": [ids.SIGNING_KEY, "Arn"]}


def test_every_region_has_the_same_issuer_and_a_latency_record_with_a_health_check(
    templates: dict[str, dict[str, Any]],
) -> None:
    issuers, jwks = set(), set()
    for region, template in templates.items():
        resources = template["Resources"]
        variables = resources[ids.API_FUNCTION]["Properties"]["Environment"]["Variables"]
        issuers.add((variables["ISSUER"], template["Outputs"]["Issuer"]["Value"]))
        jwks.add(template["Outputs"]["JwksUrl"]["Value"])
        domain = resources[ids.CUSTOM_DOMAIN]["Properties"]
        assert domain["RegionalCertificateArn"] == CERTS[region]
        assert domain["EndpointConfiguration"] == {"Types": ["REGIONAL"]}
        record = resources[mr.LATENCY_RECORD]["Properties"]
        assert record["Region"] == region and record["HostedZoneId"] == ZONE
        assert record["Name"] == "auth.example.com." and record["Type"] == "A"
        assert record["HealthCheckId"] == {"Ref": mr.HEALTH_CHECK}
        assert record["AliasTarget"]["EvaluateTargetHealth"] is True
        assert record["AliasTarget"]["DNSName"] == {
            "Fn::GetAtt": [ids.CUSTOM_DOMAIN, "RegionalDomainName"]}
        check = resources[mr.HEALTH_CHECK]["Properties"]["HealthCheckConfig"]
        assert check["Type"] == "HTTPS" and check["ResourcePath"] == "/dev/.well-known/jwks.json"
        assert check["FullyQualifiedDomainName"] == {
            "Fn::Sub": "${RestAPI}.execute-api.${AWS::Region}.${AWS::URLSuffix}"}
        assert "DisableExecuteApiEndpoint" not in resources[ids.REST_API]["Properties"]
        assert variables["HOME_REGION"] == HOME
    assert issuers == {("https://auth.example.com", "https://auth.example.com")}
    assert jwks == {"https://auth.example.com/.well-known/jwks.json"}
    home_vars = templates[HOME]["Resources"][ids.API_FUNCTION]["Properties"]["Environment"]
    other_vars = templates[OTHER]["Resources"][ids.API_FUNCTION]["Properties"]["Environment"]
    assert other_vars["Variables"]["HOME_ADMIN_URL"] == {"Ref": mr.HOME_ADMIN_PARAMETER}
    assert home_vars["Variables"]["HOME_ADMIN_URL"] == templates[HOME]["Outputs"][
        "AdminBaseUrl"]["Value"]


def _rotation(template: dict[str, Any]) -> list[Any]:
    return [s for s in policy_statements(template["Resources"])
            if s.resource == ids.ROTATION_ROLE]


ROTATED = {"aws:ResourceTag/m2m-auth": "signing-key",
           "aws:ResourceTag/m2m-auth:stack": "m2m-auth-dev",
           "aws:ResourceTag/m2m-auth:created-by": "rotator"}
NEW_TAGS = {"aws:RequestTag/m2m-auth": "signing-key",
            "aws:RequestTag/m2m-auth:created-by": "rotator",
            "aws:RequestTag/m2m-auth:stack": "m2m-auth-dev",
            "aws:TagKeys": ["m2m-auth", "m2m-auth:created-by", "m2m-auth:stack"]}


def _key(region: str) -> str:
    return f"arn:aws:kms:{region}:{ACCOUNT_ID}:key/mrk-1234abcd12ab34cd56ef1234567890ab"


ROTATOR = f"arn:aws:iam::{ACCOUNT_ID}:role/m2m-auth-dev-RotateSigningKeysRole-EXAMPLE"
SIGNERS = {region: f"arn:aws:iam::{ACCOUNT_ID}:role/m2m-auth-dev-ApiHandlerRole-{region}"
           for region in (HOME, OTHER)}
"""Example ARNs of the roles: one token function role per region's stack."""


def _names(region: str) -> dict[str, str]:
    return {f"{ids.API_ROLE}.Arn": SIGNERS[region], f"{ids.ROTATION_ROLE}.Arn": ROTATOR,
            f"{ids.SIGNING_KEY}.Arn": f"arn:aws:kms:{region}:{ACCOUNT_ID}:key/mrk-first"}


def _rotated_policy(templates: dict[str, dict[str, Any]]) -> list[Any]:
    """The key policy the home rotation gives a key and each of its replicas."""
    variables = templates[HOME]["Resources"][ids.ROTATION_FUNCTION]["Properties"][
        "Environment"]["Variables"]
    pattern = resolve(variables["SIGNER_ROLE_PATTERN"])
    return key_policy(rotated_key_policy(SIGNERS[HOME], ROTATOR, "m2m-auth-dev", pattern,
                                         [OTHER]))


def _role(template: dict[str, Any], role: str) -> list[Any]:
    return [s for s in policy_statements(template["Resources"]) if s.resource == role]


def test_the_home_rotation_may_create_primaries_and_replicate_them_to_stage_regions_only(
    templates: dict[str, dict[str, Any]],
) -> None:
    role = _rotation(templates[HOME])
    create = {**NEW_TAGS, "kms:KeyUsage": "SIGN_VERIFY", "kms:KeySpec": "RSA_2048",
              "aws:RequestedRegion": HOME}
    assert decision(role, "kms:CreateKey", "*", {**create, "kms:MultiRegion": "true"})
    assert not decision(role, "kms:CreateKey", "*", {**create, "kms:MultiRegion": "false"})
    # ReplicateKey of a key it created: through that key's policy, to the stage's regions
    policy, names = _rotated_policy(templates), _names(HOME)
    replicate = {**ROTATED, "kms:ReplicaRegion": OTHER}
    assert kms_decision(policy, role, ROTATOR, "kms:ReplicateKey", _key(HOME), replicate, names)
    assert not kms_decision(policy, role, ROTATOR, "kms:ReplicateKey", _key(HOME),
                            {**replicate, "kms:ReplicaRegion": "ap-south-1"}, names)
    # ReplicateKey's CreateKey and TagResource in the replica's region, but no region
    # outside the stage; the replica's DescribeKey (the readiness check) through its policy
    assert decision(role, "kms:CreateKey", "*", {"aws:RequestedRegion": OTHER})
    assert not decision(role, "kms:CreateKey", "*", {"aws:RequestedRegion": "ap-south-1"})
    assert decision(role, "kms:TagResource", _key(OTHER), NEW_TAGS)
    assert kms_decision(policy, role, ROTATOR, "kms:DescribeKey", _key(OTHER), ROTATED, names)
    # The denies cover every region of the stage.
    assert not kms_decision(policy, role, ROTATOR, "kms:ScheduleKeyDeletion", _key(OTHER),
                            {**ROTATED, "kms:ScheduleKeyDeletionPendingWindowInDays": 7}, names)
    assert not decision(role, "kms:ScheduleKeyDeletion", _key(OTHER),
                        {**ROTATED, "kms:ScheduleKeyDeletionPendingWindowInDays": 7})


@pytest.mark.parametrize("region", [HOME, OTHER])
def test_every_regions_token_role_signs_with_the_rotated_replica_through_its_key_policy(
    templates: dict[str, dict[str, Any]], region: str,
) -> None:
    # GIVEN a key the home rotation created and replicated (same policy in each region)
    policy, names = _rotated_policy(templates), _names(region)
    api = _role(templates[region], ids.API_ROLE)
    # THEN the region's token function role signs with its replica: the key policy alone
    # allows it (the role's IAM policy names the region's first key only)
    for action in ("kms:Sign", "kms:GetPublicKey", "kms:DescribeKey"):
        assert kms_decision(policy, [], SIGNERS[region], action, _key(region), ROTATED, names)
        assert kms_decision(policy, api, SIGNERS[region], action, _key(region), ROTATED, names)
    # AND no other role does: another stage's, another account's, the rotation's
    everything = [replace(api[0], body={"Effect": "Allow", "Action": "kms:*", "Resource": "*"})]
    for caller in (SIGNERS[region].replace("m2m-auth-dev", "m2m-auth-prod"),
                   SIGNERS[region].replace(ACCOUNT_ID, "999999999999"),
                   f"arn:aws:iam::{ACCOUNT_ID}:user/m2m-auth-dev-ApiHandlerRole-x", ROTATOR):
        assert not kms_decision(policy, everything, caller, "kms:Sign", _key(region), ROTATED,
                                names), caller


@pytest.mark.parametrize(
    ("region", "role", "action"),
    [(HOME, ids.ROTATION_ROLE, "kms:ReplicateKey"), (HOME, ids.ROTATION_ROLE, "kms:DescribeKey"),
     (OTHER, ids.ROTATION_ROLE, "kms:DescribeKey"), (HOME, ids.API_ROLE, "kms:Sign"),
     (OTHER, ids.API_ROLE, "kms:Sign")],
)
def test_a_foreign_multi_region_key_given_this_stacks_tags_is_usable_by_none_of_its_roles(
    templates: dict[str, dict[str, Any]], region: str, role: str, action: str,
) -> None:
    # GIVEN another application's multi-Region key (KMS's default key policy: IAM decides)
    # carrying this stack's tags, as the rotation role could have set them
    foreign = f"arn:aws:kms:{region}:{ACCOUNT_ID}:key/mrk-0000foreign"
    caller = ROTATOR if role == ids.ROTATION_ROLE else SIGNERS[region]
    home_rotation = templates[HOME] if role == ids.ROTATION_ROLE else templates[region]
    # THEN none of the stack's roles, in any region, may replicate, read or sign with it
    assert not kms_decision(default_key_policy(ACCOUNT_ID), _role(home_rotation, role), caller,
                            action, foreign, {**ROTATED, "kms:ReplicaRegion": OTHER},
                            _names(region))


def test_the_secondary_rotation_role_may_only_write_its_log(
    templates: dict[str, dict[str, Any]],
) -> None:
    actions = {a for s in _rotation(templates[OTHER]) if s.allows for a in s.actions}
    assert actions == set(ids.LOG_ACTIONS)
    variables = templates[OTHER]["Resources"][ids.ROTATION_FUNCTION]["Properties"][
        "Environment"]["Variables"]
    assert variables["STAGE_REGIONS"] == f"{HOME},{OTHER}"


def test_a_multi_region_stage_is_packaged_per_region(multi_stage: StageConfig) -> None:
    with pytest.raises(ValueError, match="per region"):
        tpl.merge_template(multi_stage, ids.AppShape(True))


# -- deploy and destroy across regions ------------------------------------------------------


class Recorder:
    """A region's deployment, recorded: (region, parameters); fails where told."""

    def __init__(self, fail: set[str] | None = None) -> None:
        self.calls: list[tuple[str, dict[str, str]]] = []
        self.fail = fail or set()

    def __call__(self, config: StageConfig, account: Account,
                 parameters: dict[str, str]) -> dict[str, str]:
        assert config.region == account.region
        self.calls.append((account.region, parameters))
        if account.region in self.fail:
            raise RuntimeError(f"stack ROLLBACK_COMPLETE in {account.region}: boom")
        admin = HOME_ADMIN.replace("home1", f"api-{account.region}").replace(HOME,
                                                                             account.region)
        return {"Issuer": "https://auth.example.com",
                "TokenUrl": "https://auth.example.com/oauth/token",
                "JwksUrl": "https://auth.example.com/.well-known/jwks.json",
                "AdminBaseUrl": admin, "SigningKeyArn": PRIMARY.replace(HOME, account.region)}


@pytest.fixture
def account() -> Account:
    return Account(None, "ap-south-1", ACCOUNT_ID, f"arn:aws:iam::{ACCOUNT_ID}:user/ops")


@pytest.fixture
def three(multi_stage: StageConfig) -> StageConfig:
    third = "ap-northeast-1"
    return replace(multi_stage, regions=(HOME, OTHER, third),
                   certificate_arns=(*multi_stage.certificate_arns,
                                     (third, CERTS[OTHER].replace(OTHER, third))))


def test_deploys_home_first_then_each_region_with_the_home_key_and_admin_url(
    three: StageConfig, account: Account
) -> None:
    printed: list[str] = []
    deploy = Recorder()
    outcome = deploy_regions(three, account, deploy, printed.append)

    home_admin = f"https://api-{HOME}.execute-api.{HOME}.amazonaws.com/api/admin"
    parameters = {mr.PRIMARY_KEY_PARAMETER: PRIMARY, mr.HOME_ADMIN_PARAMETER: home_admin}
    assert deploy.calls == [(HOME, {}), (OTHER, parameters), ("ap-northeast-1", parameters)]
    assert list(outcome.outputs) == [HOME, OTHER, "ap-northeast-1"]
    text = "\n".join(printed)
    assert printed.index(f"== {HOME} (home region) ==") < printed.index(f"== {OTHER} ==")
    assert "Issuer        https://auth.example.com   (every region)" in text
    for region in three.regions:
        assert f"{region}" in text and f"api-{region}" in text


def test_a_failed_home_region_stops_before_any_other_region(
    three: StageConfig, account: Account
) -> None:
    deploy = Recorder(fail={HOME})
    with pytest.raises(RegionsFailed, match=f"home region {HOME} failed.*not touched"):
        deploy_regions(three, account, deploy, lambda _: None)
    assert [region for region, _ in deploy.calls] == [HOME]


def test_a_failed_secondary_does_not_stop_the_others_and_the_live_regions_are_named(
    three: StageConfig, account: Account
) -> None:
    printed: list[str] = []
    deploy = Recorder(fail={OTHER})
    statuses = {OTHER: "UPDATE_ROLLBACK_COMPLETE"}
    with pytest.raises(RegionsFailed) as failed:
        deploy_regions(three, account, deploy, printed.append,
                       stack_status=lambda a: statuses.get(a.region))
    assert [region for region, _ in deploy.calls] == [HOME, OTHER, "ap-northeast-1"]
    message = str(failed.value)
    assert message.startswith(f"{OTHER} failed; live regions: {HOME}, ap-northeast-1, "
                              f"{OTHER} (previous version, UPDATE_ROLLBACK_COMPLETE)")
    assert any(line.strip().startswith(f"{OTHER}") and "FAILED" in line for line in printed)


def test_a_secondary_that_never_deployed_is_not_called_live(
    multi_stage: StageConfig, account: Account
) -> None:
    with pytest.raises(RegionsFailed, match=f"^{OTHER} failed; live regions: {HOME}\\. "):
        deploy_regions(multi_stage, account, Recorder(fail={OTHER}), lambda _: None,
                       stack_status=lambda _: "ROLLBACK_COMPLETE")


def test_destroy_removes_the_secondaries_first_and_the_home_stack_last(
    three: StageConfig, account: Account
) -> None:
    seen: list[str] = []

    def destroy(config: StageConfig, regional: Account) -> bool:
        assert config.region == regional.region
        seen.append(regional.region)
        return True

    done = destroy_regions(three, account, destroy, lambda _: None)
    assert seen == done == ["ap-northeast-1", OTHER, HOME]


def test_the_secondary_change_set_passes_the_home_key_and_admin_url_to_cloudformation(
    tmp_path: Path, multi_stage: StageConfig
) -> None:
    # GIVEN the secondary region's package and a deployment bucket in that region (moto),
    # and CloudFormation on Stubber
    out = tmp_path / "build"
    out.mkdir()
    (out / "sam.json").write_text(json.dumps({"Resources": {}}))
    (out / "deployment.zip").write_bytes(b"zip")
    built = Package(multi_stage.for_region(OTHER), out)
    stack = "m2m-auth-dev"
    stack_id = f"arn:aws:cloudformation:{OTHER}:{ACCOUNT_ID}:stack/{stack}/1"
    change_set = f"arn:aws:cloudformation:{OTHER}:{ACCOUNT_ID}:changeSet/deploy/1"
    parameters = {mr.PRIMARY_KEY_PARAMETER: PRIMARY, mr.HOME_ADMIN_PARAMETER: HOME_ADMIN}
    with mock_aws():
        regional = Account(boto3.Session(region_name=OTHER), OTHER, ACCOUNT_ID,
                           f"arn:aws:iam::{ACCOUNT_ID}:user/ops")
        s3 = regional.client("s3")
        # The region's deployment bucket, made without its TLS-only policy (moto
        # evaluates that Deny without aws:SecureTransport; see test_deploy.py).
        s3.create_bucket(Bucket=f"m2m-auth-deploy-{ACCOUNT_ID}-{OTHER}")
        cfn = boto3.client("cloudformation", region_name=OTHER)
        with Stubber(cfn) as stubber:
            stubber.add_client_error(
                "describe_stacks", "ValidationError", f"Stack with id {stack} does not exist")
            stubber.add_response("create_change_set", {"Id": change_set, "StackId": stack_id}, {
                "StackName": stack, "ChangeSetName": ANY, "ChangeSetType": "CREATE",
                "TemplateURL": ANY, "Capabilities": ANY, "Tags": ANY, "Description": ANY,
                "Parameters": [
                    {"ParameterKey": mr.HOME_ADMIN_PARAMETER, "ParameterValue": HOME_ADMIN},
                    {"ParameterKey": mr.PRIMARY_KEY_PARAMETER, "ParameterValue": PRIMARY},
                ]})
            stubber.add_response("describe_change_set", {
                "Status": "FAILED", "StackId": stack_id,
                "StatusReason": "The submitted information didn't contain changes."})
            stubber.add_response("delete_change_set", {})
            stubber.add_response("describe_stacks", {"Stacks": [{
                "StackName": stack, "StackId": stack_id, "CreationTime": "2026-11-30",
                "StackStatus": "CREATE_COMPLETE",
                "Outputs": [{"OutputKey": "Region", "OutputValue": OTHER}]}]})
            # WHEN the secondary is deployed with the home stack's values
            values = deploy_package(built, regional, lambda _: None, lambda _: None,
                                    clients={"s3": s3, "cloudformation": cfn},
                                    parameters=parameters)
        # THEN CloudFormation got the parameters (Stubber checked them) and the package
        # went to the region's own bucket
        assert values == {"Region": OTHER}
        listed = s3.list_objects_v2(Bucket=f"m2m-auth-deploy-{ACCOUNT_ID}-{OTHER}")
        assert len(listed["Contents"]) == 2  # the zip and the template


# -- make promote ---------------------------------------------------------------------------


def _outputs_stack(region: str) -> dict[str, Any]:
    return {"Stacks": [{
        "StackName": "m2m-auth-dev", "StackId": f"arn:aws:cloudformation:{region}:1:stack/x/1",
        "CreationTime": "2026-11-30", "StackStatus": "UPDATE_COMPLETE",
        "Outputs": [{"OutputKey": "AdminBaseUrl",
                     "OutputValue": f"https://api-{region}.example/dev/admin"}]}]}


def _resources(region: str) -> dict[str, Any]:
    return {"StackResourceSummaries": [{
        "LogicalResourceId": ids.API_FUNCTION, "PhysicalResourceId": f"fn-{region}",
        "ResourceType": "AWS::Lambda::Function", "LastUpdatedTimestamp": "2026-11-30",
        "ResourceStatus": "UPDATE_COMPLETE"}]}


def _promotion_stubs(snapstart: bool) -> tuple[dict[tuple[str, str], Any],
                                                dict[tuple[str, str], Stubber]]:
    """The home region unreachable, the other region up (Stubber), for a promotion of
    the other region; with SnapStart, its new configuration is published behind the alias."""
    clients: dict[tuple[str, str], Any] = {
        (service, region): boto3.client(service, region_name=region)
        for service in ("cloudformation", "lambda") for region in (HOME, OTHER)}
    stubbers = {key: Stubber(client) for key, client in clients.items()}
    cfn_other, lambda_other = stubbers["cloudformation", OTHER], stubbers["lambda", OTHER]
    cfn_other.add_response("describe_stacks", _outputs_stack(OTHER))
    cfn_other.add_response("list_stack_resources", _resources(OTHER))
    function = f"fn-{OTHER}"
    lambda_other.add_response("get_function_configuration", {
        "FunctionName": function,
        "Environment": {"Variables": {"HOME_REGION": HOME, "HOME_ADMIN_URL": HOME_ADMIN,
                                      "TABLE_NAME": "m2m-auth-dev"}}},
        {"FunctionName": function})
    admin_url = f"https://api-{OTHER}.example/dev/admin"
    lambda_other.add_response("update_function_configuration", {}, {
        "FunctionName": function, "Environment": {"Variables": {
            "HOME_REGION": OTHER, "HOME_ADMIN_URL": admin_url, "TABLE_NAME": "m2m-auth-dev"}}})
    if snapstart:
        lambda_other.add_response("get_function", {"Configuration": {
            "LastUpdateStatus": "Successful"}}, {"FunctionName": function})
        lambda_other.add_response("publish_version", {"Version": "7"},
                                  {"FunctionName": function})
        lambda_other.add_response("get_function_configuration", {"State": "Active"},
                                  {"FunctionName": function, "Qualifier": "7"})
        lambda_other.add_response("update_alias", {}, {
            "FunctionName": function, "Name": ids.FUNCTION_ALIAS, "FunctionVersion": "7"})
    stubbers["cloudformation", HOME].add_client_error(
        "list_stack_resources", "ServiceUnavailable", "region outage")
    for stubber in stubbers.values():
        stubber.activate()
    return clients, stubbers


@pytest.mark.parametrize("snapstart", [False, True])
def test_promote_points_every_reachable_region_at_the_new_admin_region(
    tmp_path: Path, multi_stage: StageConfig, snapstart: bool
) -> None:
    from infra.promote import promote

    # GIVEN the home region unreachable, the other region up (Stubber); with SnapStart,
    # API Gateway invokes the alias, a published version that keeps its configuration
    stages = tmp_path / "stages.toml"
    stages.write_text('[default]\nregions = []\n\n[dev]\nlog_retention_days = 14\n')
    clients, stubbers = _promotion_stubs(snapstart)
    printed: list[str] = []

    # WHEN the operator promotes the other region
    result = promote(replace(multi_stage, snapstart=snapstart), OTHER,
                     lambda s, r: clients[s, r], printed.append, stages)

    # THEN that region takes admin writes (with SnapStart: the new configuration is
    # published as a version and the alias moved to it once active; Stubber checked
    # every call), the home region is reported not updated, and the stage keeps
    # admin_region for the next make deploy
    assert result.updated == [OTHER] and list(result.unreachable) == [HOME]
    for stubber in stubbers.values():
        stubber.assert_no_pending_responses()
    assert 'admin_region = "us-east-1"' in stages.read_text().split("[dev]")[1]
    assert any(line.startswith(f"NOT updated: {HOME}") for line in printed)


def test_admin_region_is_written_then_cleared_and_read_back(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from infra.promote import set_admin_region

    _stages_file(tmp_path, monkeypatch, MULTI)
    set_admin_region(stage_module.STAGES_FILE, "prod", OTHER)
    set_admin_region(stage_module.STAGES_FILE, "prod", OTHER)  # idempotent
    stage = load_stage("prod")
    assert stage.write_region == OTHER and stage.home_region == HOME
    assert stage_module.STAGES_FILE.read_text().count("admin_region = ") == 2  # default's
    set_admin_region(stage_module.STAGES_FILE, "prod", "")
    assert load_stage("prod").write_region == HOME


def test_a_promoted_stage_deploys_home_with_the_admin_regions_url(
    multi_stage: StageConfig, account: Account
) -> None:
    promoted = replace(multi_stage, admin_region=OTHER)
    deploy = Recorder()
    existing = {"AdminBaseUrl": "https://api-promoted.example/dev/admin"}
    deploy_regions(promoted, account, deploy, lambda _: None,
                   existing_outputs=lambda a: existing if a.region == OTHER else None)
    assert deploy.calls == [
        (HOME, {mr.HOME_ADMIN_PARAMETER: existing["AdminBaseUrl"]}),
        (OTHER, {mr.PRIMARY_KEY_PARAMETER: PRIMARY}),
    ]


def test_a_promoted_regions_template_takes_admin_writes_and_home_forwards_them(
    packaged: Package, multi_stage: StageConfig
) -> None:
    promoted = replace(multi_stage, admin_region=OTHER)
    shape = ids.AppShape(True)
    home = tpl.merge_template(promoted.for_region(HOME), shape)
    other = tpl.merge_template(promoted.for_region(OTHER), shape)
    home_vars = home["Resources"][ids.API_FUNCTION]["Properties"]["Environment"]["Variables"]
    other_vars = other["Resources"][ids.API_FUNCTION]["Properties"]["Environment"]["Variables"]
    assert home_vars["HOME_REGION"] == other_vars["HOME_REGION"] == OTHER
    assert home_vars["HOME_ADMIN_URL"] == {"Ref": mr.HOME_ADMIN_PARAMETER}
    assert set(home["Parameters"]) == {mr.HOME_ADMIN_PARAMETER}
    assert set(other["Parameters"]) == {mr.PRIMARY_KEY_PARAMETER}
    # The rotation stays with the primaries in the home region.
    rotation = home["Resources"][ids.ROTATION_FUNCTION]["Properties"]["Environment"]
    assert rotation["Variables"]["HOME_REGION"] == HOME


def test_make_deploy_and_destroy_of_a_multi_region_stage_go_through_every_region(
    monkeypatch: pytest.MonkeyPatch, multi_stage: StageConfig, account: Account
) -> None:
    import infra.deploy as command
    import infra.regions as regions

    seen: list[str] = []
    monkeypatch.setattr(command, "load_stage", lambda _: multi_stage)
    monkeypatch.setattr(command, "preflight", lambda: account)
    monkeypatch.setattr(regions, "run_regions",
                        lambda stage, _, allow, deploy: seen.append(f"deploy {allow}"))
    monkeypatch.setattr(regions, "destroy_regions",
                        lambda stage, _, destroy: seen.append(f"destroy {stage.regions}"))
    assert command.main(["deploy", "--stage", "prod"]) == 0
    assert command.main(["destroy", "--stage", "prod", "--yes"]) == 0
    assert seen == ["deploy False", f"destroy {(HOME, OTHER)}"]


def test_rotated_multi_region_keys_let_every_regions_token_function_sign() -> None:
    signer = "arn:aws:iam::1:role/m2m-auth-prod-ApiHandlerRole-A"
    rotation = "arn:aws:iam::1:role/m2m-auth-prod-RotateSigningKeysRole-B"
    pattern = "arn:aws:iam::1:role/m2m-auth-prod-ApiHandlerRole-*"
    multi = {s["Sid"]: s for s in rotated_key_policy(signer, rotation, "m2m-auth-prod",
                                                      pattern, [OTHER])["Statement"]}
    single = {s["Sid"]: s for s in rotated_key_policy(signer, rotation,
                                                       "m2m-auth-prod")["Statement"]}
    # A principal cannot be a pattern: "*", narrowed to the pattern and the account.
    assert multi["OnlyTheTokenFunctionSigns"]["Principal"] == {"AWS": "*"}
    assert multi["OnlyTheTokenFunctionSigns"]["Condition"] == {
        "ArnLike": {"aws:PrincipalArn": pattern}, "StringEquals": {"kms:CallerAccount": "1"}}
    assert multi["RotationFunctionReplicatesKey"]["Action"] == "kms:ReplicateKey"
    assert multi["RotationFunctionReplicatesKey"]["Principal"] == {"AWS": rotation}
    assert multi["RotationFunctionReplicatesKey"]["Condition"] == {
        "StringEquals": {"kms:ReplicaRegion": [OTHER]}}
    assert single["OnlyTheTokenFunctionSigns"]["Principal"] == {"AWS": signer}
    assert "Condition" not in single["OnlyTheTokenFunctionSigns"]
    assert "RotationFunctionReplicatesKey" not in single
