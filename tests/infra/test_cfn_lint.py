"""cfn-lint on the packaged template: no errors (it validates SAM resources against
their schemas, so a misspelt property or value fails here, not in CloudFormation)."""

from __future__ import annotations

import copy
import json
from dataclasses import replace
from typing import Any

import pytest
from cfnlint.api import lint
from cfnlint.config import ManualArgs
from chalice.package import TemplateDeepMerger

from infra import names as ids
from infra import template as tpl
from infra.package import Package
from infra.stage import StageConfig

REGIONS = ["us-east-1", "eu-west-1"]


def _lint(template: dict[str, Any]) -> list[Any]:
    return list(lint(json.dumps(template), config=ManualArgs(regions=REGIONS)))


def _errors(matches: list[Any]) -> list[str]:
    return [f"{m.rule.id} {m.message} at {m.path}" for m in matches if m.rule.id.startswith("E")]


def test_packaged_template_has_no_cfn_lint_errors_or_warnings(packaged: Package) -> None:
    matches = lint(packaged.template_path.read_text(), config=ManualArgs(regions=REGIONS))
    assert [f"{m.rule.id} {m.message} at {m.path}" for m in matches] == []


def test_cfn_lint_catches_a_wrong_key_spec_in_this_template(template: dict[str, Any]) -> None:
    broken = copy.deepcopy(template)
    broken["Resources"][ids.SIGNING_KEY]["Properties"]["KeySpec"] = "RSA_1234"
    broken["Resources"][ids.TABLE]["Properties"]["BillingMode"] = "ON_DEMAND"
    errors = _errors(_lint(broken))
    assert any("RSA_1234" in e for e in errors), errors
    assert any("ON_DEMAND" in e for e in errors), errors


@pytest.mark.parametrize(
    ("endpoint", "certificate_region", "target"),
    [("REGIONAL", "eu-west-1", "RegionalDomainName"),
     ("EDGE", "us-east-1", "DistributionDomainName")],
)
def test_a_stage_with_a_custom_domain_lints_clean(
    template: dict[str, Any], dev_stage: StageConfig, endpoint: str, certificate_region: str,
    target: str,
) -> None:
    # GIVEN a stage with a custom domain in infra/stages.toml
    stage = replace(
        dev_stage, custom_domain="auth.example.com", issuer="https://auth.example.com",
        certificate_arn=f"arn:aws:acm:{certificate_region}:123456789012:certificate/abcd",
        custom_domain_endpoint=endpoint,
    )
    # WHEN its merge template is merged as `chalice package` does
    merged = TemplateDeepMerger().merge(tpl.merge_template(stage, ids.AppShape(True)),
                                        copy.deepcopy(template))
    # THEN the mapping waits for the stage, the outputs name the DNS target, and it lints
    mapping = merged["Resources"][ids.CUSTOM_DOMAIN_MAPPING]["Properties"]
    assert mapping["Stage"] == {"Ref": "RestAPI.Stage"}
    assert merged["Outputs"]["CustomDomainTarget"]["Value"] == {
        "Fn::GetAtt": [ids.CUSTOM_DOMAIN, target]
    }
    assert merged["Outputs"]["TokenUrl"]["Value"] == "https://auth.example.com/oauth/token"
    assert _errors(_lint(merged)) == []
