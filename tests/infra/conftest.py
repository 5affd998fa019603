"""The dev stage packaged once per session, exactly as ``make package`` does it, and
once per Lambda runtime for this machine's architecture (an aarch64 module cannot
load on x86_64) for the tests that run the artifact.

Packaging downloads the wheels for the Lambda target from the package index;
nothing here talks to AWS.
"""

from __future__ import annotations

import glob
import os
import platform
import re
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from infra.lambda_target import LambdaTarget
from infra.package import Package, package
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


MACHINE_ARCHITECTURE = {"x86_64": "x86_64", "amd64": "x86_64", "aarch64": "arm64",
                        "arm64": "arm64"}.get(platform.machine().lower())
"""The Lambda architecture whose compiled modules load on this machine (``uname -m``)."""


@pytest.fixture(scope="session")
def packaged_for(
    tmp_path_factory: pytest.TempPathFactory,
) -> Callable[[LambdaTarget], Package]:
    """The dev stage built for a given Lambda target, once per target per session."""
    built: dict[LambdaTarget, Package] = {}

    def build(target: LambdaTarget) -> Package:
        if target not in built:
            out = tmp_path_factory.mktemp("package-" + str(target).replace(" ", "-"))
            built[target] = package(STAGE, out / STAGE, log=lambda _: None, target=target)
        return built[target]

    return build


def python_for(runtime: str) -> str | None:
    """A CPython of the Lambda runtime's version on this machine (pyenv's, or on PATH)."""
    version = runtime.removeprefix("python")
    home = Path.home() / ".pyenv" / "versions"
    candidates = sorted(glob.glob(str(home / f"{version}.*" / "bin" / f"python{version}")))
    candidates += [found for found in [shutil.which(f"python{version}")] if found]
    for candidate in candidates:
        check = subprocess.run(  # noqa: S603 - a Python interpreter, fixed code
            [candidate, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
            capture_output=True, text=True, check=False,
        )
        if check.returncode == 0 and check.stdout.strip() == version:
            return candidate
    return None


@pytest.fixture(scope="session")
def aws_sdk(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """boto3 and botocore at their pinned versions (requirements-dev.txt), pure Python,
    in a directory of their own: what the Lambda runtime provides next to the zip."""
    pins = re.findall(r"^((?:boto3|botocore)==[\w.]+)", project_path(
        "requirements-dev.txt").read_text(), re.MULTILINE)
    target = tmp_path_factory.mktemp("aws-sdk")
    result = subprocess.run(  # noqa: S603 - our interpreter's pip, fixed arguments
        [sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
         "--target", str(target), "--only-binary=:all:", *pins],
        capture_output=True, text=True, timeout=600, check=False,
    )
    assert result.returncode == 0, f"installing {pins} failed:\n{result.stderr}"
    return target


def project_path(*parts: str) -> Path:
    return PROJECT_DIR.joinpath(*parts)
