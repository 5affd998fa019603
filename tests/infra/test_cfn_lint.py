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
from infra.lambda_target import LambdaTarget
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


def _routes(template: dict[str, Any]) -> ids.AppShape:
    paths = template["Resources"][ids.REST_API]["Properties"]["DefinitionBody"]["paths"]
    return ids.AppShape(True, tuple((p, tuple(m.upper() for m in ops)) for p, ops in
                                    paths.items()))


@pytest.mark.parametrize(
    ("runtime", "architecture", "snapstart"),
    [("python3.13", "arm64", True), ("python3.12", "x86_64", True),
     ("python3.11", "x86_64", False)],
)
def test_every_runtime_architecture_and_snapstart_setting_lints_clean(
    template: dict[str, Any], dev_stage: StageConfig, runtime: str, architecture: str,
    snapstart: bool,
) -> None:
    # GIVEN a stage on that runtime and architecture, with or without SnapStart
    stage = replace(dev_stage, snapstart=snapstart).with_target(
        LambdaTarget(runtime, architecture))
    # WHEN merged as `chalice package` does THEN it lints without errors or warnings
    merged = TemplateDeepMerger().merge(tpl.merge_template(stage, _routes(template)),
                                        copy.deepcopy(template))
    matches = _lint(merged)
    assert [f"{m.rule.id} {m.message} at {m.path}" for m in matches] == []


def test_cfn_lint_catches_a_wrong_snapstart_setting(template: dict[str, Any],
                                                   dev_stage: StageConfig) -> None:
    merged = TemplateDeepMerger().merge(
        tpl.merge_template(replace(dev_stage, snapstart=True), _routes(template)),
        copy.deepcopy(template))
    merged["Resources"][ids.API_FUNCTION]["Properties"]["SnapStart"] = {"ApplyOn": "Always"}
    assert any("'Always'" in e for e in _errors(_lint(merged)))


@pytest.mark.parametrize("mtls_domain", ["auth.example.com", "mtls.auth.example.com"])
def test_a_stage_with_mutual_tls_lints_clean(
    template: dict[str, Any], dev_stage: StageConfig, mtls_domain: str,
) -> None:
    # GIVEN mutual TLS on the custom domain, or on a second host
    stage = replace(
        dev_stage, custom_domain="auth.example.com", issuer="https://auth.example.com",
        certificate_arn="arn:aws:acm:eu-west-1:123456789012:certificate/abcd",
        custom_domain_endpoint="REGIONAL",
        mtls_truststore_uri="s3://example-truststores/auth/truststore.pem",
        mtls_truststore_version="v7", mtls_domain=mtls_domain,
        mtls_certificate_arn=(None if mtls_domain == "auth.example.com"
                              else "arn:aws:acm:eu-west-1:123456789012:certificate/ef01"))
    # WHEN its merge template is merged as `chalice package` does
    merged = TemplateDeepMerger().merge(tpl.merge_template(stage, ids.AppShape(True)),
                                        copy.deepcopy(template))
    # THEN the truststore is on the domain, the default endpoint is off, and it lints
    hosts = [r["Properties"] for r in merged["Resources"].values()
             if r["Type"] == "AWS::ApiGateway::DomainName"]
    assert [h["DomainName"] for h in hosts if "MutualTlsAuthentication" in h] == [mtls_domain]
    assert merged["Resources"][ids.REST_API]["Properties"]["DisableExecuteApiEndpoint"] is True
    assert _errors(_lint(merged)) == []


def test_cfn_lint_catches_a_misspelt_truststore_property(
    template: dict[str, Any], dev_stage: StageConfig,
) -> None:
    stage = replace(
        dev_stage, custom_domain="auth.example.com", issuer="https://auth.example.com",
        certificate_arn="arn:aws:acm:eu-west-1:123456789012:certificate/abcd",
        mtls_truststore_uri="s3://example-truststores/t.pem", mtls_domain="auth.example.com")
    merged = TemplateDeepMerger().merge(tpl.merge_template(stage, ids.AppShape(True)),
                                        copy.deepcopy(template))
    properties = merged["Resources"][ids.CUSTOM_DOMAIN]["Properties"]
    properties["MutualTlsAuthentication"] = {"TrustStoreUri": "s3://example-truststores/t.pem"}

    assert any("TrustStoreUri" in e for e in _errors(_lint(merged)))
