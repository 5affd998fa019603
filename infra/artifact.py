"""Checks on the Lambda deployment zip, against the stage's Lambda target.

A zip whose compiled code was built for another Python or machine imports fine on
the developer's machine and nowhere on Lambda (``cffi`` built for CPython 3.11
cannot load in python3.13; an x86_64 ``.so`` cannot load on arm64). So every build
is checked here: ``cryptography``'s compiled module must be in the zip; every shared
object must be an ELF file for the target's machine and, when its name says which
CPython it is for (PEP 3149), for the target's; every wheel's tags must include
one the target runtime accepts (infra/lambda_target.py); and nothing from tests,
moto or the development tools may ship.
"""

from __future__ import annotations

import re
import zipfile
from pathlib import Path, PurePosixPath

from .lambda_target import LambdaTarget

CRYPTOGRAPHY_RUST = re.compile(r"^cryptography/hazmat/bindings/_rust(\.abi3)?[^/]*\.so$")
SHARED_OBJECT = re.compile(r"\.so(\.[0-9.]+)?$")
WHEEL_FILE = re.compile(r"^([^/]+)\.dist-info/WHEEL$")
REQUIRED = ("app.py", "chalicelib/__init__.py", "jwt/__init__.py", "cryptography/__init__.py")
# Top-level names (packages, modules, distributions) that must never ship:
# test code, the AWS mock, and development and packaging tools.
FORBIDDEN = frozenset(
    {
        "tests", "test", "conftest", "bench", "client", "examples", "infra", "docs",
        "moto", "responses", "werkzeug", "flask", "flask_cors", "docker",
        "pytest", "_pytest", "pluggy", "iniconfig", "py",
        "mypy", "mypyc", "mypy_extensions", "ruff", "cfnlint", "cfn_lint",
        "pip", "setuptools", "pkg_resources", "_distutils_hack", "wheel",
        "requests_oauthlib", "oauthlib", "m2m_client", "m2m_auth_client",
        "click", "inquirer", "blessed", "readchar", "editor", "runs", "xmod", "jinxed",
        "yaml", "_yaml", "pyyaml", "wcwidth",
    }
)
# The AWS SDK and its dependencies: the Lambda Python runtime provides them
# (docs/performance.md, "The Lambda artifact and cold start"); shipped, they were 16 MB
# of a 22 MB zip.
RUNTIME_PROVIDED = frozenset({"boto3", "botocore", "s3transfer", "jmespath", "dateutil",
                              "python_dateutil"})
MAX_ARTIFACT_BYTES = 8_000_000
"""Issue 9: the zip stays at most 8 MB (cold start pulls and unpacks it)."""
# Chalice adds its runtime module to the zip; the rest of Chalice is the CLI.
CHALICE_RUNTIME = frozenset({"chalice/__init__.py", "chalice/app.py"})


class ArtifactError(RuntimeError):
    """The deployment zip would not work on Lambda or ships what it must not."""


def _top_level_name(path: str) -> str:
    first = PurePosixPath(path).parts[0]
    if first.endswith((".dist-info", ".egg-info", ".data")):
        first = first.split("-", 1)[0]
    return first.removesuffix(".py").split(".", 1)[0].lower().replace("-", "_")


def artifact_problems(zip_path: Path, target: LambdaTarget) -> list[str]:
    """Everything wrong with the zip for ``target``, as sentences; empty when it is fine."""
    problems: list[str] = []
    with zipfile.ZipFile(zip_path) as archive:
        names = [n for n in archive.namelist() if not n.endswith("/")]
        present = set(names)
        for required in REQUIRED:
            if required not in present:
                problems.append(f"{required} is missing")
        if not any(CRYPTOGRAPHY_RUST.match(n) for n in names):
            problems.append(
                "cryptography's compiled module (cryptography/hazmat/bindings/_rust.abi3.so) "
                "is missing: its wheel for the Lambda platform was not packaged"
            )
        for name in names:
            if SHARED_OBJECT.search(name):
                problems.extend(_shared_object_problems(name, archive.read(name)[:20], target))
        problems.extend(_wheel_tag_problems(archive, names, target))
        for name in names:
            problems.extend(_shipping_problems(name))
    size = zip_path.stat().st_size
    if size > MAX_ARTIFACT_BYTES:
        problems.append(f"the zip is {size / 1e6:.1f} MB, over the {MAX_ARTIFACT_BYTES / 1e6:g} MB "
                        "budget (docs/performance.md, \"The Lambda artifact and cold start\")")
    return problems


def _shipping_problems(name: str) -> list[str]:
    top = _top_level_name(name)
    parts = PurePosixPath(name).parts
    if top in RUNTIME_PROVIDED:
        return [f"{name} must not ship ({top} is provided by the Lambda "
                "runtime; keep it out of requirements.txt)"]
    if top in FORBIDDEN:
        return [f"{name} must not ship ({top} is a test or development tool)"]
    if top == "chalice" and name not in CHALICE_RUNTIME:
        return [f"{name} must not ship (only Chalice's runtime module does)"]
    if any(p in ("tests", "test") for p in parts[:-1]) or parts[-1] == "conftest.py":
        return [f"{name} must not ship (test code)"]
    return []


def _shared_object_problems(name: str, header: bytes, target: LambdaTarget) -> list[str]:
    if header[:4] != b"\x7fELF" or len(header) < 20:
        return [f"{name} is not a Linux shared object (built for another platform)"]
    machine = int.from_bytes(header[18:20], "little")
    if machine != target.elf_machine:
        return [f"{name} is built for ELF machine {machine:#x}, not Lambda {target.architecture}"]
    problem = target.extension_problem(name)
    return [problem] if problem else []


def _wheel_tag_problems(
    archive: zipfile.ZipFile, names: list[str], target: LambdaTarget
) -> list[str]:
    wheels = {m[1]: n for n in names if (m := WHEEL_FILE.match(n))}
    problems = []
    if not any(dist.lower().startswith("cryptography-") for dist in wheels):
        problems.append("cryptography's dist-info is missing")
    for dist, wheel in sorted(wheels.items()):
        text = archive.read(wheel).decode("utf-8", "replace")
        tags = [line.split(":", 1)[1].strip() for line in text.splitlines()
                if line.startswith("Tag:")]
        if not any(target.accepts_wheel_tag(tag) for tag in tags):
            problems.append(f"{dist} is a wheel for {tags}, which Lambda {target} cannot "
                            f"load (it needs {target.abi} or abi3, manylinux up to glibc "
                            f"{'.'.join(map(str, target.glibc))} on {target.machine}, or "
                            "pure Python)")
    return problems


def check_artifact(zip_path: Path, target: LambdaTarget) -> None:
    """Raise ``ArtifactError`` listing every problem of the zip."""
    problems = artifact_problems(zip_path, target)
    if problems:
        shown = "\n  ".join(problems[:40])
        more = f"\n  ... and {len(problems) - 40} more" if len(problems) > 40 else ""
        raise ArtifactError(f"{zip_path} cannot be deployed:\n  {shown}{more}")
