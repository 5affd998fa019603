"""parliament (an IAM policy linter) on every policy the stack holds: the packaged
template's role, IAM and key policies, each region's of a multi-region stage, and the
key policies the rotation writes (chalicelib/tokens/key_policy.py). Its own checks,
its community auditors and one of ours (tests/infra/parliament/): no allow grants a
KMS key by its tags. Every finding left is one AWS offers no way around, named here."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import parliament
import pytest
from parliament import analyze_policy_string
from parliament.finding import Finding

from chalicelib.tokens.key_policy import rotated_key_policy
from infra import names as ids
from infra import template as tpl
from infra.package import describe_app
from infra.stage import PROJECT_DIR, StageConfig
from tests.infra.policies import resolve
from tests.infra.test_multi_region import OTHER, multi_region_stage

AUDITORS = Path(__file__).parent / "parliament"
ACCOUNT = "123456789012"
NAMES = {
    f"{ids.API_ROLE}.Arn": f"arn:aws:iam::{ACCOUNT}:role/m2m-auth-dev-ApiHandlerRole-EXAMPLE",
    f"{ids.ROTATION_ROLE}.Arn":
        f"arn:aws:iam::{ACCOUNT}:role/m2m-auth-dev-RotateSigningKeysRole-EXAMPLE",
    f"{ids.SIGNING_KEY}.Arn": f"arn:aws:kms:us-east-1:{ACCOUNT}:key/mrk-0000first",
    f"{ids.TABLE}.Arn": f"arn:aws:dynamodb:us-east-1:{ACCOUNT}:table/m2m-auth-dev-Table-X",
    "GlobalTable.Arn": f"arn:aws:dynamodb:us-east-1:{ACCOUNT}:table/m2m-auth-dev",
    f"{ids.API_LOG_GROUP}.Arn":
        f"arn:aws:logs:us-east-1:{ACCOUNT}:log-group:/aws/lambda/m2m-auth-dev-api:*",
    f"{ids.ROTATION_LOG_GROUP}.Arn":
        f"arn:aws:logs:us-east-1:{ACCOUNT}:log-group:/aws/lambda/m2m-auth-dev-rotation:*",
    ids.REST_API: "a1b2c3",
}
"""Example values of the template's references: parliament checks ARN formats."""
ACCEPTED = {
    # In a key policy "*" is the key itself, the only value a key policy accepts.
    ("key", "RESOURCE_STAR"),
    # The account's administrators manage the key through IAM (never sign with it).
    ("key", "PERMISSIONS_MANAGEMENT_ACTIONS"),
    # kms:CreateKey (parliament counts it as permissions management: a new key's
    # policy is its creator's to write), restricted by request tags and key spec.
    ("identity", "PERMISSIONS_MANAGEMENT_ACTIONS"),
}
"""(kind of policy, finding) that remain, each because AWS offers no narrower form."""


def _example(node: Any) -> Any:
    """``node`` with every Ref, Fn::Sub and Fn::GetAtt replaced by an example value."""
    if isinstance(node, dict):
        if len(node) == 1 and next(iter(node)) in ("Ref", "Fn::Sub", "Fn::GetAtt"):
            return resolve(node, NAMES)
        return {key: _example(value) for key, value in node.items()}
    if isinstance(node, list):
        return [_example(value) for value in node]
    return node


def _documents(resources: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    """(resource, kind, policy document) of every role, IAM policy and key policy;
    ``resources`` of a packaged template or of a merge template alike."""
    for name, resource in resources.items():
        props = resource.get("Properties", {})
        for policy in props.get("Policies", []) if isinstance(props, dict) else []:
            yield name, "identity", policy["PolicyDocument"]
        if "PolicyDocument" in props and resource.get("Type", "").startswith("AWS::IAM::"):
            yield name, "identity", props["PolicyDocument"]
        if "KeyPolicy" in props:
            yield name, "key", props["KeyPolicy"]


def _findings(document: dict[str, Any]) -> list[Finding]:
    policy = analyze_policy_string(
        json.dumps(_example(document)), include_community_auditors=True,
        private_auditors_custom_path=str(AUDITORS),
    )
    return list(policy.findings)


@pytest.fixture(scope="module", autouse=True)
def _parliament_config() -> None:
    """What parliament's command line loads before it lints: the community auditors'
    findings, and ours."""
    community = Path(parliament.__file__).parent / "community_auditors"
    parliament.override_config(str(community / "config_override.yaml"))
    parliament.override_config(str(AUDITORS / "config_override.yaml"))


@pytest.fixture(scope="module")
def multi_stage(dev_stage: StageConfig) -> StageConfig:
    return multi_region_stage(dev_stage)


def _all_documents(
    resources: dict[str, Any], multi_stage: StageConfig
) -> list[tuple[str, str, dict[str, Any]]]:
    documents = [(f"packaged {name}", kind, doc) for name, kind, doc in _documents(resources)]
    shape = describe_app(PROJECT_DIR)
    for region in multi_stage.regions:
        merged = tpl.merge_template(multi_stage.for_region(region), shape)
        documents += [(f"{region} {name}", kind, doc)
                      for name, kind, doc in _documents(merged["Resources"])]
    signer, rotation = NAMES[f"{ids.API_ROLE}.Arn"], NAMES[f"{ids.ROTATION_ROLE}.Arn"]
    pattern = f"arn:aws:iam::{ACCOUNT}:role/m2m-auth-dev-ApiHandlerRole-*"
    documents += [
        ("rotated key", "key", rotated_key_policy(signer, rotation, "m2m-auth-dev")),
        ("rotated multi-region key", "key",
         rotated_key_policy(signer, rotation, "m2m-auth-dev", pattern, [OTHER])),
    ]
    return documents


def test_parliament_finds_nothing_but_what_aws_offers_no_way_around(
    resources: dict[str, Any], multi_stage: StageConfig
) -> None:
    documents = _all_documents(resources, multi_stage)
    kinds = {kind for _, kind, _ in documents}
    assert kinds == {"identity", "key"} and len(documents) >= 12
    unexpected = [
        f"{where}: {finding.issue} {finding.detail}"
        for where, kind, document in documents
        for finding in _findings(document)
        if (kind, finding.issue) not in ACCEPTED
    ]
    assert unexpected == []


def test_no_policy_grants_a_key_by_its_tags(
    resources: dict[str, Any], multi_stage: StageConfig
) -> None:
    flagged = [
        f"{where}: {finding.detail}"
        for where, _, document in _all_documents(resources, multi_stage)
        for finding in _findings(document) if finding.issue == "KMS_KEY_GRANTED_BY_TAG"
    ]
    assert flagged == []


@pytest.mark.parametrize("resource", ["*", f"arn:aws:kms:us-east-1:{ACCOUNT}:key/*"])
def test_the_tag_check_flags_an_allow_of_every_key_by_its_tags(resource: str) -> None:
    by_tag = {"Version": "2012-10-17", "Statement": [{
        "Sid": "SignWithServiceKeysOnly", "Effect": "Allow",
        "Action": ["kms:Sign", "kms:GetPublicKey"], "Resource": resource,
        "Condition": {"StringEquals": {"aws:ResourceTag/m2m-auth": "signing-key"}},
    }]}
    by_arn = {"Version": "2012-10-17", "Statement": [{
        **by_tag["Statement"][0], "Resource": f"arn:aws:kms:us-east-1:{ACCOUNT}:key/0000"}]}
    assert "KMS_KEY_GRANTED_BY_TAG" in [f.issue for f in _findings(by_tag)]
    assert "KMS_KEY_GRANTED_BY_TAG" not in [f.issue for f in _findings(by_arn)]
