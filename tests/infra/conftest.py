"""The dev stage packaged once per session, exactly as ``make package`` does it.

Packaging downloads the Lambda-platform ``cryptography`` wheel from the package
index (Chalice does); nothing here talks to AWS.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from infra.package import Package
from infra.stage import PROJECT_DIR, StageConfig, load_stage

STAGE = "dev"


@pytest.fixture(scope="session")
def dev_stage() -> StageConfig:
    return load_stage(STAGE)


@pytest.fixture(scope="session")
def packaged(tmp_path_factory: pytest.TempPathFactory, dev_stage: StageConfig) -> Package:
    out = tmp_path_factory.mktemp("package") / STAGE
    env = {**os.environ, "AWS_EC2_METADATA_DISABLED": "true"}
    result = subprocess.run(  # noqa: S603 - our interpreter, our module
        [sys.executable, "-m", "infra.package", "--stage", STAGE, "--out", str(out)],
        cwd=PROJECT_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert result.returncode == 0, f"make package failed:\n{result.stdout}\n{result.stderr}"
    return Package(dev_stage, out)


@pytest.fixture(scope="session")
def template(packaged: Package) -> dict[str, Any]:
    return packaged.template()


@pytest.fixture(scope="session")
def resources(template: dict[str, Any]) -> dict[str, Any]:
    found: dict[str, Any] = template["Resources"]
    return found


def project_path(*parts: str) -> Path:
    return PROJECT_DIR.joinpath(*parts)
