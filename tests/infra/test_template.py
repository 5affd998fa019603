"""Structural tests of the packaged template (``make package``'s ``sam.json``).

moto's CloudFormation cannot run Chalice's SAM template and builds KMS keys
wrongly, so the template is checked here, statement by statement.
"""

from __future__ import annotations

import copy
import json
import logging
import re
from dataclasses import replace
from fnmatch import fnmatchcase
from typing import Any

import pytest
from chalice.package import TemplateDeepMerger

from chalicelib.store.schema import TTL_ATTRIBUTE, table_definition
from chalicelib.tokens.key_policy import rotated_key_policy
from infra import names as ids
from infra import snapstart
from infra import template as tpl
from infra.lambda_target import LambdaTarget
from infra.package import PackageError, check_functions
from infra.snapstart import FUNCTION_URI
from infra.stage import StageConfig, StageError
from tests.infra.conftest import project_path
from tests.infra.policies import (
    as_list,
    dangling_environment_references,
    decision,
    default_key_policy,
    key_policy,
    kms_decision,
    policy_statements,
    resolve,
    role_actions,
)

HTTP_METHODS = {"get", "put", "post", "delete", "patch", "head", "options"}
FORBIDDEN_FOR_API = {"kms:CreateKey", "kms:Decrypt", "kms:ScheduleKeyDeletion"}
KEY_LIFECYCLE = {"kms:CreateKey", "kms:ScheduleKeyDeletion", "kms:TagResource"}


def _paths(template: dict[str, Any]) -> dict[str, dict[str, Any]]:
    body = template["Resources"][ids.REST_API]["Properties"]["DefinitionBody"]
    paths: dict[str, dict[str, Any]] = body["paths"]
    return paths


def _by_name(items: list[dict[str, Any]], key: str) -> dict[str, dict[str, Any]]:
    return {item[key]: item for item in items}


# -- the table --------------------------------------------------------------------


def test_table_matches_the_schema_the_code_uses(resources: dict[str, Any]) -> None:
    table = resources[ids.TABLE]
    props = table["Properties"]
    expected = table_definition("any")
    assert table["Type"] == "AWS::DynamoDB::Table"
    assert props["KeySchema"] == expected["KeySchema"]
    assert _by_name(props["AttributeDefinitions"], "AttributeName") == _by_name(
        expected["AttributeDefinitions"], "AttributeName"
    )
    assert _by_name(props["GlobalSecondaryIndexes"], "IndexName") == _by_name(
        expected["GlobalSecondaryIndexes"], "IndexName"
    )
    assert "LocalSecondaryIndexes" not in props
    assert props["TimeToLiveSpecification"] == {"AttributeName": TTL_ATTRIBUTE, "Enabled": True}


def test_table_is_on_demand_recoverable_protected_encrypted_and_retained(
    resources: dict[str, Any],
) -> None:
    table = resources[ids.TABLE]
    props = table["Properties"]
    assert props["BillingMode"] == "PAY_PER_REQUEST"
    assert "ProvisionedThroughput" not in props
    assert props["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}
    assert props["DeletionProtectionEnabled"] is True
    assert props["SSESpecification"]["SSEEnabled"] is True
    assert table["DeletionPolicy"] == "Retain"
    assert table["UpdateReplacePolicy"] == "Retain"


# -- the signing key ------------------------------------------------------------------


def test_signing_key_is_an_rsa_2048_signing_key_that_is_retained(
    resources: dict[str, Any],
) -> None:
    key = resources[ids.SIGNING_KEY]
    assert key["Type"] == "AWS::KMS::Key"
    assert key["Properties"]["KeySpec"] == "RSA_2048"
    assert key["Properties"]["KeyUsage"] == "SIGN_VERIFY"
    assert key["DeletionPolicy"] == "Retain"
    assert key["UpdateReplacePolicy"] == "Retain"
    tags = {t["Key"]: t["Value"] for t in key["Properties"]["Tags"]}
    assert tags["m2m-auth"] == "signing-key"  # what the roles' tag conditions require


def test_signing_key_has_an_alias(resources: dict[str, Any], dev_stage: StageConfig) -> None:
    alias = resources[ids.SIGNING_KEY_ALIAS]
    assert alias["Type"] == "AWS::KMS::Alias"
    assert alias["Properties"]["TargetKeyId"] == {"Ref": ids.SIGNING_KEY}
    assert alias["Properties"]["AliasName"] == "alias/m2m-auth-dev-signing"


def test_key_spec_follows_the_stage_signing_algorithm(dev_stage: StageConfig) -> None:
    es256 = replace(dev_stage, signing_key_alg="ES256")
    key = tpl.merge_template(es256, ids.AppShape(True))["Resources"][ids.SIGNING_KEY]
    assert key["Properties"]["KeySpec"] == "ECC_NIST_P256"


def test_only_the_token_function_role_may_sign_with_the_first_key(
    resources: dict[str, Any],
) -> None:
    key_statements = [s for s in policy_statements(resources) if s.kind == "key"]
    root = {"AWS": {"Fn::Sub": "arn:${AWS::Partition}:iam::${AWS::AccountId}:root"}}
    assert all(s.body["Principal"] == root for s in key_statements)

    def callers(action: str) -> list[Any]:
        return [s.body.get("Condition") for s in key_statements if action in s.actions]

    def only(role: str) -> dict[str, Any]:
        return {"ArnEquals": {"aws:PrincipalArn": {"Fn::GetAtt": [role, "Arn"]}}}

    assert callers("kms:Sign") == [only(ids.API_ROLE)]
    assert callers("kms:GetPublicKey") == [only(ids.API_ROLE), only(ids.ROTATION_ROLE)]
    account = [s for s in key_statements if s.sid == "AccountAdministersKey"]
    assert len(account) == 1
    assert "Condition" not in account[0].body
    assert {"kms:PutKeyPolicy", "kms:ScheduleKeyDeletion"} <= set(account[0].actions)


# -- IAM ------------------------------------------------------------------------------


def test_no_statement_allows_every_action_or_a_whole_service(resources: dict[str, Any]) -> None:
    statements = list(policy_statements(resources))
    assert len(statements) > 10
    wildcards = [(s.resource, s.sid, a) for s in statements for a in s.actions if "*" in a]
    assert wildcards == []
    assert all("NotAction" not in s.body and "NotResource" not in s.body for s in statements)


def test_wildcard_resources_only_where_aws_has_no_narrower_form(
    resources: dict[str, Any],
) -> None:
    for statement in policy_statements(resources):
        for resource in statement.resources:
            text = resolve(resource)
            if statement.kind == "key":
                # A key policy names no other resource: "*" is the key itself.
                assert text == "*", statement
            elif text == "*":
                # CreateKey has no resource-level permission; it must be tag-restricted.
                assert statement.actions == ["kms:CreateKey"], statement
                assert "aws:RequestTag/m2m-auth" in statement.body["Condition"]["StringEquals"]
            elif text.endswith(":key/*"):
                # Keys created by rotation: only the account's and region's, and tagged.
                assert text.startswith("arn:aws:kms:us-east-1:123456789012:key/"), text
                if not statement.allows:
                    continue  # an explicit deny may be as broad as it likes
                conditions = statement.body["Condition"]["StringEquals"]
                assert any(k.startswith(("aws:ResourceTag/", "aws:RequestTag/"))
                           for k in conditions), statement


def test_api_role_cannot_create_decrypt_or_delete_keys(resources: dict[str, Any]) -> None:
    actions = role_actions(resources, ids.API_ROLE)
    assert actions  # the role exists and has a policy
    assert actions & FORBIDDEN_FOR_API == set()
    assert actions & KEY_LIFECYCLE == set()


def test_only_the_rotation_role_creates_or_tags_keys(resources: dict[str, Any]) -> None:
    holders = {
        s.resource
        for s in policy_statements(resources)
        if s.kind == "identity" and s.allows and set(s.actions) & KEY_LIFECYCLE
    }
    assert holders == {ids.ROTATION_ROLE}
    # ScheduleKeyDeletion is granted by the key policy of keys the rotation created
    # (chalicelib/tokens/key_policy.py), never by an IAM policy.
    assert role_actions(resources, ids.ROTATION_ROLE) & KEY_LIFECYCLE == {
        "kms:CreateKey", "kms:TagResource"
    }


def _client_calls(*modules: str) -> set[str]:
    """The client operations these modules call (a trailing ``/*.py`` reads a package)."""
    calls: set[str] = set()
    for module in modules:
        if module.endswith("/*.py"):
            paths = sorted(project_path(*module[:-5].split("/")).glob("*.py"))
        else:
            paths = [project_path(*module.split("/"))]
        for path in paths:
            calls |= set(re.findall(r"self\._client\.([a-z_]+)\(", path.read_text()))
    return calls


def _iam_action(service: str, operation: str) -> str:
    return f"{service}:" + "".join(part.capitalize() for part in operation.split("_"))


def test_api_role_allows_every_call_the_adapters_make(resources: dict[str, Any]) -> None:
    dynamodb = _client_calls("chalicelib/store/dynamodb.py", "chalicelib/store/dynamo/*.py")
    dynamodb -= {"transact_write_items"}
    kms = _client_calls("chalicelib/aws/kms_signer.py")
    assert {"query", "sign"} <= dynamodb | kms  # the scan found the adapters' calls
    needed = {_iam_action("dynamodb", op) for op in dynamodb} | {
        _iam_action("kms", op) for op in kms
    }
    assert needed <= role_actions(resources, ids.API_ROLE)


def test_rotation_role_allows_what_rotation_calls(resources: dict[str, Any]) -> None:
    created = {_iam_action("kms", op) for op in _client_calls("chalicelib/aws/kms_keys.py")}
    assert {"kms:CreateKey", "kms:ScheduleKeyDeletion"} <= created
    # On the keys it creates, the key policy names the role for these (the first key's
    # reads are in its IAM policy, by ARN).
    by_key_policy = {"kms:ScheduleKeyDeletion", "kms:DescribeKey", "kms:GetPublicKey",
                     "kms:ListResourceTags"}
    # Only multi-region stages replicate keys (tests/infra/test_multi_region.py).
    multi_region_only = {"kms:ReplicateKey"}
    assert multi_region_only <= created
    needed = (created - by_key_policy - multi_region_only) | {
        "kms:TagResource", "dynamodb:Query", "dynamodb:PutItem"}
    assert needed <= role_actions(resources, ids.ROTATION_ROLE)
    policy = rotated_key_policy("arn:aws:iam::1:role/api", "arn:aws:iam::1:role/rot", "s")
    rotation = {"AWS": "arn:aws:iam::1:role/rot"}
    granted = {a for s in policy["Statement"] if s["Principal"] == rotation
               for a in as_list(s["Action"])}
    assert granted == by_key_policy


def test_rotation_role_has_no_permission_its_code_does_not_use(resources: dict[str, Any]) -> None:
    actions = role_actions(resources, ids.ROTATION_ROLE)
    unused = {"kms:CreateAlias", "kms:UpdateAlias", "kms:DeleteAlias", "dynamodb:DeleteItem",
              "dynamodb:BatchWriteItem", "dynamodb:UpdateItem", "kms:ScheduleKeyDeletion"}
    assert actions & unused == set()
    first_key = resources[ids.SIGNING_KEY]["Properties"]["KeyPolicy"]["Statement"]
    [rotation] = [s for s in first_key if s["Sid"] == "RotationFunctionReadsKey"]
    assert "kms:ScheduleKeyDeletion" not in rotation["Action"]  # CloudFormation owns it


def test_roles_reach_only_this_stack_table_and_log_group(resources: dict[str, Any]) -> None:
    for role, log_group in ((ids.API_ROLE, ids.API_LOG_GROUP),
                            (ids.ROTATION_ROLE, ids.ROTATION_LOG_GROUP)):
        statements = {s.sid: s for s in policy_statements(resources) if s.resource == role}
        assert statements["ReadWriteOwnTable"].resources == [
            {"Fn::GetAtt": [ids.TABLE, "Arn"]},
            {"Fn::Sub": "${Table.Arn}/index/*"},
        ]
        assert statements["WriteOwnLogs"].resources == [{"Fn::GetAtt": [log_group, "Arn"]}]


def test_rotation_may_only_create_tagged_signing_keys(resources: dict[str, Any]) -> None:
    create = [s for s in policy_statements(resources) if "kms:CreateKey" in s.actions]
    assert len(create) == 1
    condition = create[0].body["Condition"]
    assert condition["StringEquals"]["aws:RequestTag/m2m-auth"] == "signing-key"
    assert condition["StringEquals"]["aws:RequestTag/m2m-auth:created-by"] == "rotator"
    assert condition["StringEquals"]["kms:KeyUsage"] == "SIGN_VERIFY"
    assert condition["StringEquals"]["aws:RequestTag/m2m-auth:stack"] == {
        "Ref": "AWS::StackName"
    }
    assert set(condition["ForAllValues:StringEquals"]["aws:TagKeys"]) == {
        "m2m-auth", "m2m-auth:created-by", "m2m-auth:stack"
    }


def test_roles_name_no_key_but_the_first_one(resources: dict[str, Any]) -> None:
    key_statements = [
        s for s in policy_statements(resources)
        if s.kind == "identity" and s.allows
        and {"kms:Sign", "kms:GetPublicKey", "kms:DescribeKey"} & set(s.actions)
    ]
    assert {s.resource for s in key_statements} == {ids.API_ROLE, ids.ROTATION_ROLE}
    for statement in key_statements:
        assert statement.resources == [{"Fn::GetAtt": [ids.SIGNING_KEY, "Arn"]}]
        assert "Condition" not in statement.body
    # The tag is a label (operators and the rotation's deletion check read it).
    tags = resources[ids.SIGNING_KEY]["Properties"]["Tags"]
    assert {"Key": "m2m-auth:stack", "Value": {"Ref": "AWS::StackName"}} in tags


def test_functions_wait_for_their_first_key_policy(resources: dict[str, Any]) -> None:
    for function, policy, role in ((ids.API_FUNCTION, ids.API_FIRST_KEY_POLICY, ids.API_ROLE),
                                   (ids.ROTATION_FUNCTION, ids.ROTATION_FIRST_KEY_POLICY,
                                    ids.ROTATION_ROLE)):
        assert resources[policy]["Type"] == "AWS::IAM::Policy"
        assert resources[policy]["Properties"]["Roles"] == [{"Ref": role}]
        assert policy in as_list(resources[function]["DependsOn"])


OUR_KEY = "arn:aws:kms:us-east-1:123456789012:key/0000-ours"
OTHER_KEY = "arn:aws:kms:us-east-1:123456789012:key/0000-other"
OUR_NEW_TAGS = {
    "aws:RequestTag/m2m-auth": "signing-key",
    "aws:RequestTag/m2m-auth:created-by": "rotator",
    "aws:RequestTag/m2m-auth:stack": "m2m-auth-dev",
    "aws:TagKeys": ["m2m-auth", "m2m-auth:created-by", "m2m-auth:stack"],
}


def _resource_tags(stack: str, created_by: str = "rotator") -> dict[str, Any]:
    return {"aws:ResourceTag/m2m-auth": "signing-key",
            "aws:ResourceTag/m2m-auth:created-by": created_by,
            "aws:ResourceTag/m2m-auth:stack": stack}


def _rotation_role(resources: dict[str, Any]) -> list[Any]:
    return [s for s in policy_statements(resources) if s.resource == ids.ROTATION_ROLE]


def test_rotation_role_may_create_and_tag_its_own_new_keys(resources: dict[str, Any]) -> None:
    role = _rotation_role(resources)
    create = {**OUR_NEW_TAGS, "kms:KeyUsage": "SIGN_VERIFY", "kms:KeySpec": "RSA_2048"}
    assert decision(role, "kms:CreateKey", "*", create)
    # The key being created has no tags yet when KMS authorizes the tagging.
    assert decision(role, "kms:TagResource", OUR_KEY, OUR_NEW_TAGS)
    assert not decision(role, "kms:CreateKey", "*",
                        {**create, "kms:KeyUsage": "ENCRYPT_DECRYPT"})


@pytest.mark.parametrize("other_stack", ["m2m-auth-prod", "someone-else"])
def test_rotation_role_cannot_retag_another_stacks_key(
    resources: dict[str, Any], other_stack: str
) -> None:
    role = _rotation_role(resources)
    steal = {**OUR_NEW_TAGS, **_resource_tags(other_stack)}
    assert not decision(role, "kms:TagResource", OTHER_KEY, steal)
    assert not decision(role, "kms:UntagResource", OTHER_KEY,
                        {**_resource_tags(other_stack), "aws:TagKeys": ["m2m-auth:stack"]})


# -- tags are labels: no role uses a key because of its tags --------------------------------

ACCOUNT = "123456789012"
API_CALLER = f"arn:aws:iam::{ACCOUNT}:role/m2m-auth-dev-ApiHandlerRole-EXAMPLE"
ROTATION_CALLER = f"arn:aws:iam::{ACCOUNT}:role/m2m-auth-dev-RotateSigningKeysRole-EXAMPLE"
FIRST_KEY = f"arn:aws:kms:us-east-1:{ACCOUNT}:key/0000-first"
NAMES = {f"{ids.API_ROLE}.Arn": API_CALLER, f"{ids.ROTATION_ROLE}.Arn": ROTATION_CALLER,
         f"{ids.SIGNING_KEY}.Arn": FIRST_KEY}
"""Example ARNs of the template's roles and first key."""
KEY_USE = {ids.API_ROLE: ["kms:Sign", "kms:GetPublicKey", "kms:DescribeKey"],
           ids.ROTATION_ROLE: ["kms:DescribeKey", "kms:GetPublicKey", "kms:ListResourceTags",
                               "kms:ReplicateKey", "kms:ScheduleKeyDeletion"]}
CALLERS = {ids.API_ROLE: API_CALLER, ids.ROTATION_ROLE: ROTATION_CALLER}


def _role(resources: dict[str, Any], role: str) -> list[Any]:
    return [s for s in policy_statements(resources) if s.resource == role]


@pytest.mark.parametrize(
    ("role", "action"), [(role, action) for role, actions in KEY_USE.items() for action in actions]
)
def test_a_foreign_key_given_this_stacks_tags_is_usable_by_none_of_its_roles(
    resources: dict[str, Any], role: str, action: str
) -> None:
    # GIVEN another application's key: KMS's default key policy (IAM decides), and this
    # stack's tags on it. IAM cannot stop the rotation role from adding them (tagging
    # during CreateKey needs kms:TagResource on key/*), so assume the worst: they are there.
    tags = {**_resource_tags("m2m-auth-dev"), "kms:ReplicaRegion": "eu-west-1",
            "kms:ScheduleKeyDeletionPendingWindowInDays": 30}
    # WHEN one of the stack's roles tries to use it
    allowed = kms_decision(default_key_policy(ACCOUNT), _role(resources, role), CALLERS[role],
                           action, OTHER_KEY, tags, NAMES)
    # THEN the tags granted nothing: only key policies and key ARNs do
    assert not allowed


def test_no_allow_of_any_role_grants_a_kms_action_on_every_key_by_resource_tag(
    resources: dict[str, Any],
) -> None:
    on_every_key = [
        s for s in policy_statements(resources)
        if s.kind == "identity" and s.allows and any(a.startswith("kms:") for a in s.actions)
        and any(resolve(r) == "*" or resolve(r).endswith(":key/*") for r in s.resources)
    ]
    assert on_every_key  # CreateKey and tagging while creating need them
    for statement in on_every_key:
        keys = {k for block in statement.body.get("Condition", {}).values() for k in block}
        assert not any(k.startswith("aws:ResourceTag/") for k in keys), statement
        # What remains is creating keys and tagging them while they are created: both
        # conditioned on the request's tags, which a caller chooses, so they grant no use.
        assert set(statement.actions) <= {"kms:CreateKey", "kms:TagResource"}, statement
        assert any(k.startswith("aws:RequestTag/") for k in keys), statement


def test_the_stacks_roles_use_the_first_key_by_its_arn(resources: dict[str, Any]) -> None:
    first_key = key_policy(resources[ids.SIGNING_KEY]["Properties"]["KeyPolicy"])
    tags = _resource_tags("m2m-auth-dev", created_by="cloudformation")  # what it carries
    for role, actions in ((ids.API_ROLE, ["kms:Sign", "kms:GetPublicKey", "kms:DescribeKey"]),
                          (ids.ROTATION_ROLE, ["kms:GetPublicKey", "kms:DescribeKey"])):
        for action in actions:
            assert kms_decision(first_key, _role(resources, role), CALLERS[role], action,
                                FIRST_KEY, tags, NAMES), (role, action)
    assert not kms_decision(first_key, _role(resources, ids.ROTATION_ROLE), ROTATION_CALLER,
                            "kms:Sign", FIRST_KEY, tags, NAMES)
    # Another role of the account, even one whose IAM policy allows every KMS action
    admin = [replace(_role(resources, ids.API_ROLE)[0], body={
        "Effect": "Allow", "Action": "kms:*", "Resource": "*"})]
    intruder = f"arn:aws:iam::{ACCOUNT}:role/intruder"
    assert not kms_decision(first_key, admin, intruder, "kms:Sign", FIRST_KEY, tags, NAMES)
    assert kms_decision(first_key, admin, intruder, "kms:DescribeKey", FIRST_KEY, tags, NAMES)


def test_a_rotated_keys_own_policy_lets_the_token_role_sign_without_any_iam_allow(
    resources: dict[str, Any],
) -> None:
    # GIVEN a key the rotation created (its tags, its key policy naming both roles)
    policy = key_policy(rotated_key_policy(API_CALLER, ROTATION_CALLER, "m2m-auth-dev"))
    tags = _resource_tags("m2m-auth-dev")
    api, rotation = _role(resources, ids.API_ROLE), _role(resources, ids.ROTATION_ROLE)

    def allows(identity: list[Any], caller: str, action: str, window: int = 30) -> bool:
        request = {**tags, "kms:ScheduleKeyDeletionPendingWindowInDays": window}
        return kms_decision(policy, identity, caller, action, OUR_KEY, request, NAMES)

    # THEN the token role signs with it through the key policy alone (its IAM policy names
    # the first key only), and the rotation role reads it and may schedule its deletion
    for action in ("kms:Sign", "kms:GetPublicKey", "kms:DescribeKey"):
        assert allows([], API_CALLER, action), action
        assert allows(api, API_CALLER, action), action
    for action in ("kms:GetPublicKey", "kms:DescribeKey", "kms:ListResourceTags"):
        assert allows([], ROTATION_CALLER, action), action
        assert allows(rotation, ROTATION_CALLER, action), action
    assert allows(rotation, ROTATION_CALLER, "kms:ScheduleKeyDeletion", window=30)
    assert not allows(rotation, ROTATION_CALLER, "kms:ScheduleKeyDeletion", window=7)
    # AND nobody else signs: not the rotation role, not another role of the account whose
    # IAM policy allows every KMS action, not a role of the same name in another account
    everything = [replace(api[0], body={"Effect": "Allow", "Action": "kms:*", "Resource": "*"})]
    assert not allows(rotation, ROTATION_CALLER, "kms:Sign")
    assert not allows(everything, f"arn:aws:iam::{ACCOUNT}:role/intruder", "kms:Sign")
    assert not allows(everything, API_CALLER.replace(ACCOUNT, "999999999999"), "kms:Sign")


@pytest.mark.parametrize(
    "tags",
    [
        {},  # a key of some other application
        _resource_tags("m2m-auth-prod"),  # another stage's rotated key
        _resource_tags("m2m-auth-dev", created_by="cloudformation"),  # our first key
    ],
)
def test_rotation_role_cannot_schedule_deletion_of_keys_not_its_stacks_rotated_ones(
    resources: dict[str, Any], tags: dict[str, Any]
) -> None:
    role = _rotation_role(resources)
    request = {**tags, "kms:ScheduleKeyDeletionPendingWindowInDays": 30}
    assert not decision(role, "kms:ScheduleKeyDeletion", OTHER_KEY, request)


def test_even_a_broader_allow_cannot_schedule_a_short_window_or_a_foreign_key(
    resources: dict[str, Any],
) -> None:
    # The explicit denies hold against an allow from elsewhere (e.g. a default key policy
    # delegating to IAM, or a statement someone adds later).
    role = _rotation_role(resources)
    broad = replace(role[0], body={"Effect": "Allow", "Action": "kms:ScheduleKeyDeletion",
                                   "Resource": "*"})
    ours = {**_resource_tags("m2m-auth-dev"), "kms:ScheduleKeyDeletionPendingWindowInDays": 30}
    assert decision([*role, broad], "kms:ScheduleKeyDeletion", OUR_KEY, ours)
    assert not decision([*role, broad], "kms:ScheduleKeyDeletion", OUR_KEY,
                        {**ours, "kms:ScheduleKeyDeletionPendingWindowInDays": 7})
    assert not decision([*role, broad], "kms:ScheduleKeyDeletion", OTHER_KEY,
                        {**ours, **_resource_tags("m2m-auth-prod")})


def test_rotated_key_policy_lets_only_the_rotation_schedule_its_own_keys() -> None:
    policy = rotated_key_policy(
        "arn:aws:iam::123456789012:role/api", "arn:aws:iam::123456789012:role/rot", "m2m-auth-dev"
    )
    [schedule] = [s for s in policy["Statement"] if "kms:ScheduleKeyDeletion" in s["Action"]
                  and s["Principal"] != {"AWS": "arn:aws:iam::123456789012:root"}]
    assert schedule["Principal"] == {"AWS": "arn:aws:iam::123456789012:role/rot"}
    assert schedule["Condition"] == {
        "NumericEquals": {"kms:ScheduleKeyDeletionPendingWindowInDays": "30"},
        "StringEquals": {"aws:ResourceTag/m2m-auth:stack": "m2m-auth-dev",
                         "aws:ResourceTag/m2m-auth:created-by": "rotator"},
    }
    signers = [s for s in policy["Statement"] if "kms:Sign" in s["Action"]]
    assert [s["Principal"] for s in signers] == [
        {"AWS": "arn:aws:iam::123456789012:role/api"}
    ]
    assert all("Condition" not in s for s in signers)


def test_rotation_function_knows_both_roles_for_the_key_policy(
    resources: dict[str, Any],
) -> None:
    variables = resources[ids.ROTATION_FUNCTION]["Properties"]["Environment"]["Variables"]
    assert variables["SIGNER_ROLE_ARN"] == {"Fn::GetAtt": [ids.API_ROLE, "Arn"]}
    assert variables["ROTATION_ROLE_ARN"] == {"Fn::GetAtt": [ids.ROTATION_ROLE, "Arn"]}


# -- the rotation function ---------------------------------------------------------------


def test_rotation_function_runs_daily_with_its_own_role(resources: dict[str, Any]) -> None:
    import app as chalice_app

    names = {source.name for source in chalice_app.app.event_sources}
    assert ids.ROTATION_HANDLER in names  # app.py defines it, so the template must have it
    function = resources[ids.ROTATION_FUNCTION]["Properties"]
    assert function["Role"] == {"Fn::GetAtt": [ids.ROTATION_ROLE, "Arn"]}
    schedules = [e["Properties"]["Schedule"] for e in function["Events"].values()]
    assert schedules == ["rate(1 day)"]


def test_the_rotation_function_outlasts_its_longest_wait_for_kms(
    resources: dict[str, Any],
) -> None:
    from chalicelib.aws.propagation import DISCARD, PROPAGATION

    # Waiting for a new key (KMS propagates it in up to five minutes), then, if it
    # never came, for its deletion: well inside the timeout (Lambda allows 900 s).
    timeout = resources[ids.ROTATION_FUNCTION]["Properties"]["Timeout"]
    assert 2 * (PROPAGATION.budget + DISCARD.budget) <= timeout <= 900
    assert resources[ids.API_FUNCTION]["Properties"]["Timeout"] == 10  # unchanged


def test_without_a_rotation_function_the_template_leaves_rotation_out(
    dev_stage: StageConfig,
) -> None:
    merged = tpl.merge_template(dev_stage, ids.AppShape(has_rotation=False))
    assert not {ids.ROTATION_ROLE, ids.ROTATION_FUNCTION, ids.ROTATION_LOG_GROUP} & set(
        merged["Resources"]
    )
    policy = merged["Resources"][ids.SIGNING_KEY]["Properties"]["KeyPolicy"]
    assert ids.ROTATION_ROLE not in str(policy)


# -- API Gateway -------------------------------------------------------------------------


def test_every_admin_path_uses_sigv4_and_no_public_path_does(template: dict[str, Any]) -> None:
    import app as chalice_app

    app_admin = {p for p in chalice_app.app.routes if p.startswith(ids.ADMIN_PREFIX)}
    paths = _paths(template)
    admin = {p for p in paths if p == ids.ADMIN_PREFIX or p.startswith(ids.ADMIN_PREFIX + "/")}
    assert admin == app_admin  # the app's admin routes, all of them, and no more
    assert app_admin, "app.py has no /admin routes"
    definitions = template["Resources"][ids.REST_API]["Properties"]["DefinitionBody"][
        "securityDefinitions"
    ]
    sigv4 = [n for n, d in definitions.items() if d.get("x-amazon-apigateway-authtype") ==
             "awsSigv4"]
    assert len(sigv4) == 1
    for path, operations in paths.items():
        for method, operation in operations.items():
            if method not in HTTP_METHODS:
                continue
            if path in admin:
                assert operation.get("security") == [{sigv4[0]: []}], (method, path)
            else:
                assert "security" not in operation, (method, path)


def _execute_api_arn(stage: str, method: str, path: str) -> str:
    concrete = re.sub(r"\{[^}]+\}", "x1", path)
    return f"arn:aws:execute-api:us-east-1:123456789012:a1b2c3/{stage}/{method.upper()}{concrete}"


def test_admin_policy_invokes_admin_routes_only(
    template: dict[str, Any], resources: dict[str, Any], dev_stage: StageConfig
) -> None:
    policy = resources[ids.ADMIN_POLICY]
    assert policy["Type"] == "AWS::IAM::ManagedPolicy"
    statements = policy["Properties"]["PolicyDocument"]["Statement"]
    assert [s["Action"] for s in statements] == ["execute-api:Invoke"]
    patterns = [resolve(r, {ids.REST_API: "a1b2c3"}) for r in as_list(statements[0]["Resource"])]
    checked = 0
    for path, operations in _paths(template).items():
        for method in set(operations) & HTTP_METHODS:
            arn = _execute_api_arn(dev_stage.api_gateway_stage, method, path)
            allowed = any(fnmatchcase(arn, p) for p in patterns)
            assert allowed == path.startswith(ids.ADMIN_PREFIX + "/"), arn
            checked += 1
    assert checked > 10
    other_stage = _execute_api_arn("prod", "get", "/admin/apps")
    assert not any(fnmatchcase(other_stage, p) for p in patterns)


# -- functions, logs, alarms ---------------------------------------------------------------


def test_environment_variables_reference_resources_that_exist(template: dict[str, Any]) -> None:
    assert dangling_environment_references(template) == []
    for function in (ids.API_FUNCTION, ids.ROTATION_FUNCTION):
        variables = template["Resources"][function]["Properties"]["Environment"]["Variables"]
        assert variables["TABLE_NAME"] == {"Ref": ids.TABLE}
        assert variables["SIGNING_KEY_ID"] == {"Fn::GetAtt": [ids.SIGNING_KEY, "Arn"]}


def test_dangling_reference_check_catches_a_getatt_to_a_missing_resource(
    template: dict[str, Any],
) -> None:
    broken = {**template, "Resources": dict(template["Resources"])}
    function = dict(broken["Resources"][ids.API_FUNCTION])
    properties = dict(function["Properties"])
    properties["Environment"] = {"Variables": {
        "SIGNING_KEY_ID": {"Fn::GetAtt": ["SigningKeyy", "Arn"]},
        "TABLE_URL": {"Fn::Sub": "https://${Tabel}/x"},
    }}
    function["Properties"] = properties
    broken["Resources"][ids.API_FUNCTION] = function
    assert dangling_environment_references(broken) == [
        "APIHandler.SIGNING_KEY_ID -> SigningKeyy",
        "APIHandler.TABLE_URL -> Tabel",
    ]


def test_functions_log_to_groups_with_the_stage_retention(
    resources: dict[str, Any], dev_stage: StageConfig
) -> None:
    for function, group in ((ids.API_FUNCTION, ids.API_LOG_GROUP),
                            (ids.ROTATION_FUNCTION, ids.ROTATION_LOG_GROUP)):
        assert resources[function]["Properties"]["LoggingConfig"] == {"LogGroup": {"Ref": group}}
        assert resources[group]["Type"] == "AWS::Logs::LogGroup"
        assert resources[group]["Properties"]["RetentionInDays"] == dev_stage.log_retention_days


def test_5xx_alarm_watches_this_api_and_stage(
    resources: dict[str, Any], dev_stage: StageConfig
) -> None:
    alarm = resources["Api5xxRateAlarm"]["Properties"]
    api_name = resources[ids.REST_API]["Properties"]["Name"]
    metrics = {m["Id"]: m for m in alarm["Metrics"]}
    for metric_id, name in (("errors", "5XXError"), ("requests", "Count")):
        stat = metrics[metric_id]["MetricStat"]["Metric"]
        assert stat["MetricName"] == name
        assert {d["Name"]: d["Value"] for d in stat["Dimensions"]} == {
            "ApiName": api_name, "Stage": dev_stage.api_gateway_stage
        }
    assert "100 * errors / requests" in metrics["rate"]["Expression"]
    assert alarm["Threshold"] == dev_stage.alarm_5xx_percent
    assert alarm["AlarmActions"] == [{"Ref": ids.ALARM_TOPIC}]


def test_kms_throttling_alarm_counts_the_line_the_app_logs(
    resources: dict[str, Any], caplog: pytest.LogCaptureFixture
) -> None:
    from chalice.app import Response

    from chalicelib.errors import SigningThrottled
    from chalicelib.routes.http import oauth_endpoint

    log_filter = resources[ids.KMS_THROTTLE_FILTER]["Properties"]
    alarm = resources["KmsThrottlingAlarm"]["Properties"]
    transform = log_filter["MetricTransformations"][0]
    assert log_filter["LogGroupName"] == {"Ref": ids.API_LOG_GROUP}
    assert (alarm["Namespace"], alarm["MetricName"]) == (
        transform["MetricNamespace"], transform["MetricName"]
    )
    term = log_filter["FilterPattern"].strip('"')

    @oauth_endpoint
    def throttled() -> Response:
        raise SigningThrottled("KMS throttled Sign: ThrottlingException")

    with caplog.at_level(logging.WARNING, logger="chalicelib"):
        assert throttled().status_code == 503
    assert any(term in record.getMessage() for record in caplog.records)


def test_outputs_name_every_url_and_resource_operators_need(template: dict[str, Any]) -> None:
    outputs = template["Outputs"]
    for name in ("Issuer", "TokenUrl", "JwksUrl", "AdminBaseUrl", "AdminPolicyArn",
                 "TableName", "SigningKeyArn", "TokenRoleArn"):
        assert name in outputs, name
    names = {ids.REST_API: "a1b2c3"}
    issuer = resolve(outputs["Issuer"]["Value"], names)
    assert issuer == "https://a1b2c3.execute-api.us-east-1.amazonaws.com/dev"
    assert resolve(outputs["TokenUrl"]["Value"], names) == issuer + "/oauth/token"
    assert resolve(outputs["JwksUrl"]["Value"], names) == issuer + "/.well-known/jwks.json"
    assert resolve(outputs["AdminBaseUrl"]["Value"], names) == issuer + "/admin"
    assert outputs["AdminPolicyArn"]["Value"] == {"Ref": ids.ADMIN_POLICY}
    assert outputs["TableName"]["Value"] == {"Ref": ids.TABLE}
    assert outputs["SigningKeyArn"]["Value"] == {"Fn::GetAtt": [ids.SIGNING_KEY, "Arn"]}
    assert outputs["TokenRoleArn"]["Value"] == {"Fn::GetAtt": [ids.API_ROLE, "Arn"]}


def test_a_configured_issuer_is_the_base_of_every_output_url(dev_stage: StageConfig) -> None:
    custom = replace(dev_stage, issuer="https://auth.example.com")
    outputs = tpl.merge_template(custom, ids.AppShape(True))["Outputs"]
    assert outputs["Issuer"]["Value"] == "https://auth.example.com"
    assert outputs["TokenUrl"]["Value"] == "https://auth.example.com/oauth/token"
    assert outputs["AdminBaseUrl"]["Value"] == "https://auth.example.com/admin"


# -- custom domains ------------------------------------------------------------------------


def _with_domain(dev_stage: StageConfig, endpoint: str = "REGIONAL") -> dict[str, Any]:
    region = "eu-west-1" if endpoint == "REGIONAL" else "us-east-1"
    stage = replace(
        dev_stage, custom_domain="auth.example.com", issuer="https://auth.example.com",
        certificate_arn=f"arn:aws:acm:{region}:123456789012:certificate/abcd",
        custom_domain_endpoint=endpoint,
    )
    merged: dict[str, Any] = tpl.merge_template(stage, ids.AppShape(True))["Resources"]
    return merged


def test_a_custom_domain_maps_the_stage_at_the_root_and_disables_execute_api(
    dev_stage: StageConfig,
) -> None:
    resources = _with_domain(dev_stage)
    domain = resources[ids.CUSTOM_DOMAIN]["Properties"]
    assert domain["DomainName"] == "auth.example.com"
    assert domain["EndpointConfiguration"] == {"Types": ["REGIONAL"]}
    assert domain["RegionalCertificateArn"].startswith("arn:aws:acm:eu-west-1:")
    assert "CertificateArn" not in domain and domain["SecurityPolicy"] == "TLS_1_2"
    mapping = resources[ids.CUSTOM_DOMAIN_MAPPING]["Properties"]
    assert "BasePath" not in mapping  # the root: issuer https://auth.example.com, no path
    assert mapping["DomainName"] == {"Ref": ids.CUSTOM_DOMAIN}
    assert mapping["RestApiId"] == {"Ref": ids.REST_API}
    assert resources[ids.REST_API]["Properties"]["DisableExecuteApiEndpoint"] is True
    variables = resources[ids.API_FUNCTION]["Properties"]["Environment"]["Variables"]
    assert variables["ISSUER"] == "https://auth.example.com"


def test_an_edge_custom_domain_uses_the_us_east_1_certificate(dev_stage: StageConfig) -> None:
    domain = _with_domain(dev_stage, "EDGE")[ids.CUSTOM_DOMAIN]["Properties"]
    assert domain["CertificateArn"].startswith("arn:aws:acm:us-east-1:")
    assert domain["EndpointConfiguration"] == {"Types": ["EDGE"]}


def test_without_a_custom_domain_the_default_endpoint_stays(resources: dict[str, Any]) -> None:
    assert ids.CUSTOM_DOMAIN not in resources
    assert "DisableExecuteApiEndpoint" not in resources[ids.REST_API]["Properties"]



# -- the functions' runtime, architecture and SnapStart -------------------------------------


def _shape(template: dict[str, Any]) -> ids.AppShape:
    """The app's routes as Chalice put them in the packaged template."""
    return ids.AppShape(True, tuple((path, tuple(m.upper() for m in operations))
                                    for path, operations in _paths(template).items()))


def _merged(template: dict[str, Any], stage: StageConfig) -> dict[str, Any]:
    """``stage``'s merge template merged into Chalice's template, as `chalice package` does."""
    merged: dict[str, Any] = TemplateDeepMerger().merge(
        tpl.merge_template(stage, _shape(template)), copy.deepcopy(template))
    return merged


def _integration_uris(template: dict[str, Any]) -> list[Any]:
    return [operation["x-amazon-apigateway-integration"]["uri"]
            for operations in _paths(template).values() for operation in operations.values()]


FUNCTIONS = (ids.API_FUNCTION, ids.ROTATION_FUNCTION)


def test_both_functions_run_python313_on_arm64(resources: dict[str, Any]) -> None:
    for function in FUNCTIONS:
        properties = resources[function]["Properties"]
        assert properties["Runtime"] == "python3.13", function
        assert properties["Architectures"] == ["arm64"], function


def test_without_snapstart_api_gateway_and_the_schedule_invoke_the_functions(
    template: dict[str, Any], resources: dict[str, Any]
) -> None:
    for function in FUNCTIONS:
        assert not {"SnapStart", "AutoPublishAlias"} & set(resources[function]["Properties"])
    assert set(map(json.dumps, _integration_uris(template))) == {json.dumps(FUNCTION_URI)}
    permission = resources[ids.API_INVOKE_PERMISSION]["Properties"]
    assert permission["FunctionName"] == {"Ref": ids.API_FUNCTION}
    assert snapstart.wiring_problems(template, enabled=False) == []


def test_a_stage_on_x86_64_and_python312_runs_both_functions_there(
    template: dict[str, Any], dev_stage: StageConfig
) -> None:
    stage = dev_stage.with_target(LambdaTarget("python3.12", "x86_64"))
    merged = _merged(template, stage)
    for function in FUNCTIONS:
        properties = merged["Resources"][function]["Properties"]
        assert (properties["Runtime"], properties["Architectures"]) == ("python3.12", ["x86_64"])
    check_functions(merged, stage)  # what `make package` checks after Chalice


def test_snapstart_publishes_both_functions_behind_an_alias_that_everything_invokes(
    template: dict[str, Any], dev_stage: StageConfig
) -> None:
    # GIVEN a stage with snapstart = true
    stage = replace(dev_stage, snapstart=True)
    # WHEN its merge template is merged into Chalice's template
    merged = _merged(template, stage)
    resources = merged["Resources"]
    # THEN both functions snapshot their published versions, which SAM publishes
    # behind the alias "live" on every deployment
    for function in FUNCTIONS:
        properties = resources[function]["Properties"]
        assert properties["SnapStart"] == {"ApplyOn": "PublishedVersions"}, function
        assert properties["AutoPublishAlias"] == ids.FUNCTION_ALIAS, function
        assert properties["Runtime"] == "python3.13"  # SnapStart needs 3.12+
    # ...every API Gateway route and method invokes the alias, none $LATEST
    uris = _integration_uris(merged)
    assert len(uris) == len(_integration_uris(template)) > 40
    assert all(uri == snapstart.ALIAS_URI for uri in uris)
    assert snapstart.ALIAS_URI["Fn::Sub"][1] == {"Alias": {"Ref": "APIHandler.Alias"}}
    # ...API Gateway may invoke the alias (SAM resolves APIHandler.Alias to it)
    permission = resources[ids.API_INVOKE_PERMISSION]
    assert permission["Properties"]["FunctionName"] == {"Ref": "APIHandler.Alias"}
    assert permission["Properties"]["Principal"] == "apigateway.amazonaws.com"
    # ...and the daily rotation stays a SAM Schedule event of the aliased function:
    # SAM connects the event sources of a function with AutoPublishAlias to the alias
    events = resources[ids.ROTATION_FUNCTION]["Properties"]["Events"]
    assert [e["Type"] for e in events.values()] == ["Schedule"]
    assert snapstart.wiring_problems(merged, enabled=True) == []
    check_functions(merged, stage)


def test_the_package_check_refuses_a_route_or_function_left_out_of_snapstart(
    template: dict[str, Any], dev_stage: StageConfig
) -> None:
    stage = replace(dev_stage, snapstart=True)
    merged = _merged(template, stage)
    _paths(merged)["/oauth/token"]["post"]["x-amazon-apigateway-integration"]["uri"] = (
        FUNCTION_URI)
    del merged["Resources"][ids.ROTATION_FUNCTION]["Properties"]["SnapStart"]
    problems = snapstart.wiring_problems(merged, enabled=True)
    assert any(p.startswith("POST /oauth/token invokes") for p in problems), problems
    assert f"{ids.ROTATION_FUNCTION} has no SnapStart on published versions" in problems
    with pytest.raises(PackageError, match="POST /oauth/token invokes"):
        check_functions(merged, stage)


def test_the_package_check_refuses_a_function_on_another_runtime_or_architecture(
    template: dict[str, Any], dev_stage: StageConfig
) -> None:
    broken = copy.deepcopy(template)
    broken["Resources"][ids.ROTATION_FUNCTION]["Properties"]["Runtime"] = "python3.11"
    broken["Resources"][ids.API_FUNCTION]["Properties"]["Architectures"] = ["x86_64"]
    with pytest.raises(PackageError) as refused:
        check_functions(broken, dev_stage)
    assert "RotateSigningKeys runs python3.11" in str(refused.value)
    assert "APIHandler runs python3.13 on ['x86_64'], not python3.13 arm64" in str(refused.value)


# -- mutual TLS (docs/mtls.md) --------------------------------------------------------------

TRUSTSTORE = "s3://example-truststores/auth/truststore.pem"


def mtls_stage(dev_stage: StageConfig, mtls_domain: str = "auth.example.com",
               **changes: Any) -> StageConfig:
    """The dev stage with a REGIONAL custom domain and mutual TLS on ``mtls_domain``."""
    settings: dict[str, Any] = {
        "custom_domain": "auth.example.com", "issuer": "https://auth.example.com",
        "certificate_arn": "arn:aws:acm:eu-west-1:123456789012:certificate/abcd",
        "custom_domain_endpoint": "REGIONAL", "mtls_truststore_uri": TRUSTSTORE,
        "mtls_truststore_version": "v7", "mtls_domain": mtls_domain,
        "mtls_certificate_arn": (None if mtls_domain == "auth.example.com"
                                 else "arn:aws:acm:eu-west-1:123456789012:certificate/ef01"),
    }
    return replace(dev_stage, **{**settings, **changes})


def test_mutual_tls_on_the_custom_domain_asks_every_client_for_a_certificate(
    dev_stage: StageConfig,
) -> None:
    template = tpl.merge_template(mtls_stage(dev_stage), ids.AppShape(True))
    resources = template["Resources"]

    domain = resources[ids.CUSTOM_DOMAIN]["Properties"]
    assert domain["MutualTlsAuthentication"] == {"TruststoreUri": TRUSTSTORE,
                                                 "TruststoreVersion": "v7"}
    assert domain["SecurityPolicy"] == "TLS_1_2"
    assert domain["EndpointConfiguration"] == {"Types": ["REGIONAL"]}
    assert resources[ids.REST_API]["Properties"]["DisableExecuteApiEndpoint"] is True
    assert ids.MTLS_DOMAIN not in resources
    variables = resources[ids.API_FUNCTION]["Properties"]["Environment"]["Variables"]
    assert variables["ISSUER"] == variables["MTLS_ENDPOINT"] == "https://auth.example.com"
    assert template["Outputs"]["MtlsTokenUrl"]["Value"] == "https://auth.example.com/oauth/token"
    assert template["Outputs"]["TokenUrl"]["Value"] == "https://auth.example.com/oauth/token"


def test_a_second_mutual_tls_host_maps_the_same_stage_and_the_domain_keeps_no_truststore(
    dev_stage: StageConfig,
) -> None:
    stage = mtls_stage(dev_stage, "mtls.auth.example.com")
    template = tpl.merge_template(stage, ids.AppShape(True))
    resources = template["Resources"]

    assert "MutualTlsAuthentication" not in resources[ids.CUSTOM_DOMAIN]["Properties"]
    host = resources[ids.MTLS_DOMAIN]["Properties"]
    assert host["DomainName"] == "mtls.auth.example.com"
    assert host["RegionalCertificateArn"].endswith("certificate/ef01")
    assert host["MutualTlsAuthentication"]["TruststoreUri"] == TRUSTSTORE
    assert host["EndpointConfiguration"] == {"Types": ["REGIONAL"]}
    assert host["SecurityPolicy"] == "TLS_1_2"
    mapping = resources[ids.MTLS_DOMAIN_MAPPING]["Properties"]
    assert "BasePath" not in mapping  # the root: aliases are the issuer's paths on the host
    assert mapping["DomainName"] == {"Ref": ids.MTLS_DOMAIN}
    assert mapping["Stage"] == {"Ref": "RestAPI.Stage"}
    assert resources[ids.REST_API]["Properties"]["DisableExecuteApiEndpoint"] is True
    variables = resources[ids.API_FUNCTION]["Properties"]["Environment"]["Variables"]
    assert variables["ISSUER"] == "https://auth.example.com"
    assert variables["MTLS_ENDPOINT"] == "https://mtls.auth.example.com"
    assert template["Outputs"]["MtlsTokenUrl"]["Value"] == (
        "https://mtls.auth.example.com/oauth/token")
    assert template["Outputs"]["MtlsDomainTarget"]["Value"] == {
        "Fn::GetAtt": [ids.MTLS_DOMAIN, "RegionalDomainName"]}


def test_the_mtls_endpoint_aliases_follow_the_domains_the_template_sets(
    dev_stage: StageConfig,
) -> None:
    from chalicelib.oauth.mtls_metadata import mtls_metadata

    for host, aliases in (("auth.example.com", None),
                          ("mtls.auth.example.com", "https://mtls.auth.example.com")):
        variables = tpl.merge_template(mtls_stage(dev_stage, host), ids.AppShape(True))[
            "Resources"][ids.API_FUNCTION]["Properties"]["Environment"]["Variables"]
        metadata = mtls_metadata(variables["ISSUER"], variables["MTLS_ENDPOINT"])
        assert metadata["tls_client_certificate_bound_access_tokens"] is True
        if aliases is None:
            assert "mtls_endpoint_aliases" not in metadata  # the issuer's own endpoints
        else:
            assert metadata["mtls_endpoint_aliases"]["token_endpoint"] == (
                aliases + "/oauth/token")


@pytest.mark.parametrize(
    ("changes", "message"),
    [({"custom_domain": None, "issuer": None, "certificate_arn": None},
      "without a custom_domain"),
     ({"custom_domain_endpoint": "EDGE"}, "needs custom_domain_endpoint")],
)
def test_the_template_refuses_mutual_tls_that_clients_could_go_around(
    dev_stage: StageConfig, changes: dict[str, Any], message: str,
) -> None:
    # a configuration built in code, not by load_stage, is refused all the same
    with pytest.raises(StageError, match=message):
        tpl.merge_template(mtls_stage(dev_stage, **changes), ids.AppShape(True))


def test_without_a_truststore_no_domain_asks_for_certificates(dev_stage: StageConfig) -> None:
    resources = _with_domain(dev_stage)

    assert "MutualTlsAuthentication" not in resources[ids.CUSTOM_DOMAIN]["Properties"]
    assert ids.MTLS_DOMAIN not in resources
    assert "MTLS_ENDPOINT" not in resources[ids.API_FUNCTION]["Properties"]["Environment"][
        "Variables"]
