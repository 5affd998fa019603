"""The unzipped artifact under the Lambda runtime's Python: it imports, goes through a
SnapStart snapshot and restore, and answers a token request (tests/infra/lambda_smoke.py).

The artifact is built for this machine's architecture (an aarch64 module cannot
load on x86_64) and each runtime whose CPython this machine has (pyenv's here);
elsewhere the test is skipped and says why. In-memory store and a local-key signer:
no AWS, no network.
"""

from __future__ import annotations

import json
import subprocess
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from infra.lambda_target import LambdaTarget
from infra.package import Package
from infra.stage import StageConfig
from tests.infra.conftest import MACHINE_ARCHITECTURE, python_for

SMOKE = Path(__file__).with_name("lambda_smoke.py")
RUNTIMES = ("python3.13", "python3.12")  # the stage's default first


def _run_unzipped(package: Package, python: str, sdk: Path, tmp_path: Path) -> dict[str, Any]:
    task = tmp_path / "task"  # /var/task
    with zipfile.ZipFile(package.artifact_path) as archive:
        archive.extractall(task)
    result = subprocess.run(  # noqa: S603 - the runtime's interpreter, our script
        [python, "-I", "-S", "-B", str(SMOKE), str(task), str(sdk)],
        cwd=tmp_path, capture_output=True, text=True, timeout=120, check=False,
    )
    assert result.returncode == 0, result.stderr
    outcome: dict[str, Any] = json.loads(result.stdout.strip().splitlines()[-1])
    return outcome


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_the_unzipped_artifact_answers_a_token_request_under_the_lambda_python(
    runtime: str, dev_stage: StageConfig, packaged_for: Callable[[LambdaTarget], Package],
    aws_sdk: Path, tmp_path: Path,
) -> None:
    python = python_for(runtime)
    if python is None:
        pytest.skip(f"no CPython {runtime.removeprefix('python')} on this machine "
                    "(pyenv install it to run the artifact under Lambda's Python)")
    if MACHINE_ARCHITECTURE is None:
        pytest.skip("this machine is neither x86_64 nor arm64: no Lambda module loads here")
    assert dev_stage.lambda_target.runtime == RUNTIMES[0]
    # GIVEN the stage built for this runtime on this machine's architecture
    built = packaged_for(LambdaTarget(runtime, MACHINE_ARCHITECTURE))
    # WHEN its unzipped code runs in that interpreter, with the SDK the runtime provides
    outcome = _run_unzipped(built, python, aws_sdk, tmp_path)
    # THEN it is that Python, the token request succeeds and the token verifies
    assert outcome["python"] == [3, int(runtime.removeprefix("python3."))]
    assert outcome["status"] == 200, outcome
    assert outcome["body_keys"] == ["access_token", "expires_in", "scope", "token_type"]
    assert outcome["claims"] == {"iss": "https://auth.example.test",
                                 "aud": "https://api.example.com/orders",
                                 "scope": "orders:read"}
    # ...with cryptography and cffi's compiled modules from the zip, the SDK from the side
    files = outcome["files"]
    task = str(tmp_path / "task")
    assert all(files[name].startswith(task) for name in ("cryptography", "_cffi_backend",
                                                         "jwt", "chalicelib")), files
    assert files["boto3"].startswith(str(aws_sdk)), files
    # ...and app.py registered one hook of each kind; only the before-snapshot hook
    # imported the SDK (import app stays lean), the snapshot held it
    assert outcome["hooks"] == [1, 1]
    assert outcome["boto3_before_snapshot"] == [False, True]
