"""Stage settings: .chalice/config.json (Chalice's) plus infra/stages.toml (ours)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from infra import stage as stage_module
from infra.stage import StageError, load_stage
from tests.infra.conftest import project_path


def _project(tmp_path: Path, prod: dict[str, Any]) -> Path:
    config = json.loads(project_path(".chalice", "config.json").read_text())
    config["stages"]["prod"].update(prod)
    (tmp_path / ".chalice").mkdir(parents=True)
    (tmp_path / ".chalice" / "config.json").write_text(json.dumps(config))
    return tmp_path


def test_every_deployable_chalice_stage_loads() -> None:
    config = json.loads(project_path(".chalice", "config.json").read_text())
    deployable = [name for name in config["stages"] if name != "local"]
    assert {"dev", "prod"} <= set(deployable)
    for name in deployable:
        loaded = load_stage(name)
        assert loaded.stack_name == f"m2m-auth-{name}"
        assert loaded.key_spec == "RSA_2048"


def test_local_mode_stage_is_never_deployed() -> None:
    with pytest.raises(StageError, match="local mode"):
        load_stage("local")


CERTIFICATE = "arn:aws:acm:eu-west-1:123456789012:certificate/0a1b-2c3d"


def _with_settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, toml: str) -> None:
    real = stage_module.STAGES_FILE.read_text()
    (tmp_path / "stages.toml").write_text(real.replace("[prod]\n", "[prod]\n" + toml, 1))
    monkeypatch.setattr(stage_module, "STAGES_FILE", tmp_path / "stages.toml")


def test_a_custom_domain_sets_the_issuer_without_a_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _with_settings(tmp_path, monkeypatch,
                   f'custom_domain = "Auth.Example.com"\ncertificate_arn = "{CERTIFICATE}"\n')
    loaded = load_stage("prod")
    assert loaded.custom_domain == "auth.example.com"
    assert loaded.issuer == "https://auth.example.com"
    assert (loaded.certificate_arn, loaded.custom_domain_endpoint) == (CERTIFICATE, "REGIONAL")
    assert load_stage("dev").custom_domain is None  # other stages keep the default


def test_an_issuer_that_disagrees_with_the_domain_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _with_settings(tmp_path, monkeypatch,
                   f'custom_domain = "auth.example.com"\ncertificate_arn = "{CERTIFICATE}"\n')
    project = _project(tmp_path / "p", {"environment_variables": {
        "ISSUER": "https://auth.example.com/prod"}})
    with pytest.raises(StageError, match="make them agree"):
        load_stage("prod", project)


@pytest.mark.parametrize(
    ("toml", "message"),
    [
        ('custom_domain = "auth.example.com"\n', "set certificate_arn"),
        (f'certificate_arn = "{CERTIFICATE}"\n', "no custom_domain"),
        (f'custom_domain = "https://auth.example.com/x"\ncertificate_arn = "{CERTIFICATE}"\n',
         "must be a host name"),
        (f'custom_domain = "auth.example.com"\ncertificate_arn = "{CERTIFICATE}"\n'
         'custom_domain_endpoint = "EDGE"\n', "EDGE custom domain needs a certificate"),
        ('custom_domain_endpoint = "PRIVATE"\n', "custom_domain_endpoint must be one of"),
    ],
)
def test_bad_custom_domain_settings_are_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, toml: str, message: str
) -> None:
    _with_settings(tmp_path, monkeypatch, toml)
    with pytest.raises(StageError, match=message):
        load_stage("prod")


def test_chalice_custom_domain_setting_points_to_the_stage_settings(tmp_path: Path) -> None:
    domain = {"domain_name": "auth.example.com", "certificate_arn": CERTIFICATE}
    project = _project(tmp_path, {"api_gateway_custom_domain": domain})
    with pytest.raises(StageError, match="infra/stages.toml"):
        load_stage("prod", project)


def test_an_http_issuer_is_refused(tmp_path: Path) -> None:
    project = _project(tmp_path, {"environment_variables": {"ISSUER": "http://auth.example.com"}})
    with pytest.raises(StageError, match="https URL"):
        load_stage("prod", project)


@pytest.mark.parametrize(
    ("toml", "message"),
    [
        ("[dev]\nthrotling_rate_limit = 5\n", "unknown settings"),
        ("[dev]\nlog_retention_days = 10\n", "not a CloudWatch Logs retention period"),
        ("[dev]\nwaf_rate_limit = 5\n", "waf_rate_limit must be between 10"),
        ("[dev]\nwaf = 1\n", "waf must be true or false"),
        ("[dev]\nadmin_burst_limit = 0\n", "admin_burst_limit >= 1"),
        ("[dev]\ntoken_rate_limit = 0\n", "token_rate_limit must be > 0"),
        ('[dev]\nlambda_runtime = "python3.9"\n', "lambda_runtime must be one of"),
        ('[dev]\nlambda_runtime = "python3"\n', "lambda_runtime must be one of"),
        ('[dev]\nlambda_architecture = "aarch64"\n', "lambda_architecture must be one of"),
        ('[dev]\nlambda_architecture = "ARM64"\n', "lambda_architecture must be one of"),
        ('[dev]\nsnapstart = "yes"\n', "snapstart of stage 'dev' must be true or false"),
        ('[dev]\nsnapstart = true\nlambda_runtime = "python3.11"\n',
         "python3.12 and later only, not python3.11"),
    ],
)
def test_bad_stage_settings_are_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, toml: str, message: str
) -> None:
    real = stage_module.STAGES_FILE.read_text()
    default = real[: real.index("[dev]")]
    (tmp_path / "stages.toml").write_text(default + toml)
    monkeypatch.setattr(stage_module, "STAGES_FILE", tmp_path / "stages.toml")
    with pytest.raises(StageError, match=message):
        load_stage("dev")


# -- the functions' runtime ---------------------------------------------------------------


def test_functions_run_python313_on_arm64_without_snapstart_by_default() -> None:
    for name in ("dev", "prod"):
        stage = load_stage(name)
        assert (stage.lambda_target.runtime, stage.lambda_target.architecture) == (
            "python3.13", "arm64")
        assert stage.snapstart is False


def test_a_stages_file_without_the_runtime_settings_gets_the_defaults(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = stage_module.STAGES_FILE.read_text()
    start, end = real.index("lambda_runtime ="), real.index("snapstart = false")
    (tmp_path / "stages.toml").write_text(real[:start] + real[end + len("snapstart = false"):])
    monkeypatch.setattr(stage_module, "STAGES_FILE", tmp_path / "stages.toml")
    dev = load_stage("dev")
    assert (str(dev.lambda_target), dev.snapstart) == ("python3.13 arm64", False)


def test_a_stage_may_choose_x86_64_another_runtime_and_snapstart(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _with_settings(tmp_path, monkeypatch, 'lambda_architecture = "x86_64"\n'
                   'lambda_runtime = "python3.12"\nsnapstart = true\n')
    prod = load_stage("prod")
    assert (prod.lambda_target.runtime, prod.lambda_target.architecture) == (
        "python3.12", "x86_64")
    assert prod.snapstart is True
    assert load_stage("dev").lambda_target.architecture == "arm64"  # others keep the default


def test_a_one_off_target_keeps_the_snapstart_rule(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from infra.lambda_target import LambdaTarget

    _with_settings(tmp_path, monkeypatch, "snapstart = true\n")
    prod = load_stage("prod")
    assert prod.with_target(LambdaTarget("python3.12", "x86_64")).snapstart
    with pytest.raises(StageError, match="python3.12 and later only"):
        prod.with_target(LambdaTarget("python3.11", "x86_64"))


# -- mutual TLS (docs/mtls.md) --------------------------------------------------------------

DOMAIN = f'custom_domain = "auth.example.com"\ncertificate_arn = "{CERTIFICATE}"\n'
TRUSTSTORE = 'mtls_truststore_uri = "s3://example-truststores/auth/truststore.pem"\n'


def test_mutual_tls_on_the_custom_domain_itself_needs_only_a_truststore(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _with_settings(tmp_path, monkeypatch,
                   DOMAIN + TRUSTSTORE + 'mtls_truststore_version = "3sL4kqtJlcpXroDTDmJ"\n')
    loaded = load_stage("prod")
    assert loaded.mutual_tls
    assert loaded.mtls_truststore_uri == "s3://example-truststores/auth/truststore.pem"
    assert loaded.mtls_truststore_version == "3sL4kqtJlcpXroDTDmJ"
    assert (loaded.mtls_domain, loaded.mtls_certificate_arn) == ("auth.example.com", None)
    assert loaded.mtls_endpoint == loaded.issuer == "https://auth.example.com"
    assert not load_stage("dev").mutual_tls  # the default: off


def test_a_second_mutual_tls_host_gets_the_domain_certificate_unless_it_has_its_own(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _with_settings(tmp_path, monkeypatch,
                   DOMAIN + TRUSTSTORE + 'mtls_domain = "MTLS.auth.example.com"\n')
    loaded = load_stage("prod")
    assert loaded.mtls_domain == "mtls.auth.example.com"
    assert loaded.mtls_certificate_arn == CERTIFICATE  # e.g. a *.auth.example.com certificate
    assert loaded.mtls_endpoint == "https://mtls.auth.example.com"
    assert loaded.issuer == "https://auth.example.com"


@pytest.mark.parametrize(
    ("toml", "message"),
    [
        (TRUSTSTORE, "without a custom_domain"),
        (DOMAIN.replace("eu-west-1", "us-east-1") + 'custom_domain_endpoint = "EDGE"\n'
         + TRUSTSTORE, "mutual TLS needs custom_domain_endpoint"),
        (DOMAIN + 'mtls_truststore_uri = "https://bucket.s3.amazonaws.com/t.pem"\n',
         "must be s3://bucket/key"),
        (DOMAIN + 'mtls_truststore_version = "abc"\n', "but no mtls_truststore_uri"),
        (DOMAIN + 'mtls_domain = "mtls.auth.example.com"\n', "but no mtls_truststore_uri"),
        (DOMAIN + TRUSTSTORE + 'mtls_domain = "https://mtls.example.com"\n',
         "must be a host name"),
        (DOMAIN + TRUSTSTORE + 'mtls_certificate_arn = "' + CERTIFICATE + '"\n',
         "mtls_certificate_arn is for a second host"),
        (DOMAIN + TRUSTSTORE + 'mtls_domain = "mtls.example.com"\nmtls_certificate_arn = '
         '"arn:aws:acm:us-east-1:123456789012:certificate/ffff"\n', "in the region of"),
        ('custom_domain = "auth.example.com"\nregions = ["eu-west-1", "us-east-1"]\n'
         'hosted_zone_id = "Z123"\ncertificate_arns = { eu-west-1 = '
         '"arn:aws:acm:eu-west-1:123456789012:certificate/a", us-east-1 = '
         '"arn:aws:acm:us-east-1:123456789012:certificate/b" }\n' + TRUSTSTORE,
         "multi-region stage is not supported"),
    ],
)
def test_bad_mutual_tls_settings_are_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, toml: str, message: str
) -> None:
    _with_settings(tmp_path, monkeypatch, toml)
    with pytest.raises(StageError, match=message):
        load_stage("prod")
