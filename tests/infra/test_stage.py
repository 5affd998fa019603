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


def test_a_custom_domain_needs_an_issuer(tmp_path: Path) -> None:
    domain = {"domain_name": "auth.example.com",
              "certificate_arn": "arn:aws:acm:us-east-1:123456789012:certificate/abc"}
    project = _project(tmp_path, {"api_gateway_custom_domain": domain})
    with pytest.raises(StageError, match="set ISSUER"):
        load_stage("prod", project)
    project = _project(tmp_path / "with-issuer", {
        "api_gateway_custom_domain": domain,
        "environment_variables": {"ISSUER": "https://auth.example.com/"},
    })
    loaded = load_stage("prod", project)
    assert (loaded.custom_domain, loaded.issuer) == ("auth.example.com", "https://auth.example.com")


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
