"""Checks on the Lambda deployment zip Chalice builds.

Chalice downloads the Lambda-platform ``cryptography`` wheel at package time; if
the download fails it only warns and ships a zip without it, which imports fine
nowhere but on the developer's machine. So every build is checked here: the
compiled module for the function's architecture must be in the zip, and nothing
from tests, moto or the development tools may be.
"""

from __future__ import annotations

import re
import zipfile
from pathlib import Path, PurePosixPath

# ELF e_machine values of the Lambda architectures.
ELF_MACHINE = {"x86_64": 0x3E, "arm64": 0xB7}
WHEEL_PLATFORM = {"x86_64": "x86_64", "arm64": "aarch64"}
CRYPTOGRAPHY_RUST = re.compile(r"^cryptography/hazmat/bindings/_rust(\.abi3)?[^/]*\.so$")
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


def artifact_problems(zip_path: Path, architecture: str = "x86_64") -> list[str]:
    """Everything wrong with the zip, as sentences; empty when it is fine."""
    problems: list[str] = []
    with zipfile.ZipFile(zip_path) as archive:
        names = [n for n in archive.namelist() if not n.endswith("/")]
        present = set(names)
        for required in REQUIRED:
            if required not in present:
                problems.append(f"{required} is missing")
        rust = [n for n in names if CRYPTOGRAPHY_RUST.match(n)]
        if not rust:
            problems.append(
                "cryptography's compiled module (cryptography/hazmat/bindings/_rust.abi3.so) "
                "is missing: Chalice could not download the Lambda-platform wheel"
            )
        for module in rust:
            header = archive.read(module)[:20]
            problems.extend(_elf_problems(module, header, architecture))
        problems.extend(_wheel_tag_problems(archive, names, architecture))
        for name in names:
            top = _top_level_name(name)
            parts = PurePosixPath(name).parts
            if top in RUNTIME_PROVIDED:
                problems.append(f"{name} must not ship ({top} is provided by the Lambda "
                                "runtime; keep it out of requirements.txt)")
            elif top in FORBIDDEN:
                problems.append(f"{name} must not ship ({top} is a test or development tool)")
            elif top == "chalice" and name not in CHALICE_RUNTIME:
                problems.append(f"{name} must not ship (only Chalice's runtime module does)")
            elif any(p in ("tests", "test") for p in parts[:-1]) or parts[-1] == "conftest.py":
                problems.append(f"{name} must not ship (test code)")
    size = zip_path.stat().st_size
    if size > MAX_ARTIFACT_BYTES:
        problems.append(f"the zip is {size / 1e6:.1f} MB, over the {MAX_ARTIFACT_BYTES / 1e6:g} MB "
                        "budget (docs/performance.md, \"The Lambda artifact and cold start\")")
    return problems


def _elf_problems(name: str, header: bytes, architecture: str) -> list[str]:
    if header[:4] != b"\x7fELF" or len(header) < 20:
        return [f"{name} is not a Linux shared object (built for another platform)"]
    machine = int.from_bytes(header[18:20], "little")
    if machine != ELF_MACHINE[architecture]:
        return [f"{name} is built for ELF machine {machine:#x}, not Lambda {architecture}"]
    return []


def _wheel_tag_problems(
    archive: zipfile.ZipFile, names: list[str], architecture: str
) -> list[str]:
    wheels = [n for n in names if re.match(r"^cryptography-[^/]+\.dist-info/WHEEL$", n)]
    if not wheels:
        return ["cryptography's dist-info is missing"]
    text = archive.read(wheels[0]).decode("utf-8", "replace")
    tags = [line.split(":", 1)[1].strip() for line in text.splitlines()
            if line.startswith("Tag:")]
    platform = WHEEL_PLATFORM[architecture]
    if not any("manylinux" in t and t.endswith(platform) for t in tags):
        return [f"cryptography wheel tags {tags} are not manylinux {platform}"]
    return []


def check_artifact(zip_path: Path, architecture: str = "x86_64") -> None:
    """Raise ``ArtifactError`` listing every problem of the zip."""
    problems = artifact_problems(zip_path, architecture)
    if problems:
        shown = "\n  ".join(problems[:40])
        more = f"\n  ... and {len(problems) - 40} more" if len(problems) > 40 else ""
        raise ArtifactError(f"{zip_path} cannot be deployed:\n  {shown}{more}")
