"""Cold start: importing the app loads only what the token path needs."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

PROJECT = Path(__file__).resolve().parents[2]


def _modules_after_import_app() -> set[str]:
    code = "import json, sys; import app; print(json.dumps(sorted(sys.modules)))"
    out = subprocess.run(  # noqa: S603 - fixed interpreter and code
        [sys.executable, "-c", code], cwd=PROJECT, capture_output=True, text=True, check=True
    )
    return set(json.loads(out.stdout))


def test_import_app_loads_no_test_code_moto_or_aws_clients() -> None:
    modules = _modules_after_import_app()
    roots = {m.split(".")[0] for m in modules}
    assert not roots & {"moto", "pytest", "tests", "werkzeug", "flask", "responses"}
    # AWS clients are built lazily, on the first request, by the composition root
    assert "boto3" not in roots and "chalicelib.store.dynamodb" not in modules
