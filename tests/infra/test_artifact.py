"""The Lambda zip: cryptography's compiled module for Lambda, no test or dev code;
and the checks ``make package`` runs on every build."""

from __future__ import annotations

import os
import zipfile
from pathlib import Path, PurePosixPath

import pytest

from infra.artifact import ArtifactError, artifact_problems, check_artifact
from infra.package import Package, copy_sources, runtime_requirements
from tests.infra.conftest import project_path

ELF_X86_64 = b"\x7fELF\x02\x01\x01" + b"\x00" * 11 + b"\x3e\x00"
ELF_AARCH64 = b"\x7fELF\x02\x01\x01" + b"\x00" * 11 + b"\xb7\x00"
MACH_O = b"\xcf\xfa\xed\xfe" + b"\x00" * 16
RUST = "cryptography/hazmat/bindings/_rust.abi3.so"
WHEEL = "cryptography-50.0.2.dist-info/WHEEL"
MANYLINUX = "Wheel-Version: 1.0\nTag: cp311-abi3-manylinux_2_17_x86_64\n"


def _zip(path: Path, files: dict[str, bytes | str]) -> Path:
    with zipfile.ZipFile(path, "w") as archive:
        for name, content in files.items():
            archive.writestr(name, content)
    return path


def _good_files() -> dict[str, bytes | str]:
    return {
        "app.py": "app = None\n",
        "chalicelib/__init__.py": "",
        "jwt/__init__.py": "",
        "cryptography/__init__.py": "",
        RUST: ELF_X86_64 + b"rest",
        WHEEL: MANYLINUX,
        "chalice/__init__.py": "",
        "chalice/app.py": "",
    }


def _top_levels(path: Path) -> set[str]:
    with zipfile.ZipFile(path) as archive:
        return {PurePosixPath(n).parts[0] for n in archive.namelist()}


# -- the real artifact ----------------------------------------------------------------


def test_packaged_zip_has_cryptography_compiled_for_lambda_x86_64(packaged: Package) -> None:
    with zipfile.ZipFile(packaged.artifact_path) as archive:
        header = archive.read(RUST)[:20]
        wheel = archive.read(WHEEL).decode()
    assert header[:4] == b"\x7fELF"
    assert int.from_bytes(header[18:20], "little") == 0x3E  # EM_X86_64
    assert "manylinux" in wheel and "x86_64" in wheel
    assert artifact_problems(packaged.artifact_path) == []


def test_packaged_zip_has_no_tests_mocks_or_dev_tools(packaged: Package) -> None:
    top = {name.split("-", 1)[0].removesuffix(".py").lower() for name in
           _top_levels(packaged.artifact_path)}
    assert {"app", "chalicelib", "cryptography", "jwt"} <= top
    shipped_dev = top & {"tests", "moto", "pytest", "_pytest", "mypy", "ruff", "cfn_lint",
                         "cfnlint", "pip", "setuptools", "wheel", "infra", "bench", "client",
                         "requests_oauthlib", "click"}
    assert shipped_dev == set()
    with zipfile.ZipFile(packaged.artifact_path) as archive:
        chalice = {n for n in archive.namelist() if n.startswith("chalice/")}
    assert chalice == {"chalice/__init__.py", "chalice/app.py"}  # the runtime, not the CLI


def test_packaged_zip_leaves_the_aws_sdk_to_the_lambda_runtime(packaged: Package) -> None:
    top = {name.split("-", 1)[0].lower() for name in _top_levels(packaged.artifact_path)}
    assert not top & {"boto3", "botocore", "s3transfer", "jmespath", "dateutil"}


def test_packaged_zip_is_at_most_8_mb(packaged: Package) -> None:
    assert packaged.artifact_path.stat().st_size <= 8_000_000


def test_package_writes_the_template_next_to_the_zip_it_names(packaged: Package) -> None:
    template = packaged.template()
    code = {r["Properties"]["CodeUri"] for r in template["Resources"].values()
            if r["Type"] == "AWS::Serverless::Function"}
    assert code == {"./deployment.zip"}
    assert packaged.artifact_path.exists()
    assert not (packaged.out_dir / "src").exists()  # the build copy and its cache are gone


# -- the checks ----------------------------------------------------------------------------


def test_a_good_zip_passes(tmp_path: Path) -> None:
    check_artifact(_zip(tmp_path / "ok.zip", _good_files()))


def test_a_zip_without_cryptography_compiled_module_fails_loudly(tmp_path: Path) -> None:
    files = _good_files()
    del files[RUST]
    with pytest.raises(ArtifactError, match="compiled module"):
        check_artifact(_zip(tmp_path / "no-rust.zip", files))


@pytest.mark.parametrize(
    ("header", "problem"),
    [(MACH_O, "not a Linux shared object"), (ELF_AARCH64, "not Lambda x86_64")],
)
def test_a_module_built_for_another_platform_fails(
    tmp_path: Path, header: bytes, problem: str
) -> None:
    files = {**_good_files(), RUST: header}
    assert any(problem in p for p in artifact_problems(_zip(tmp_path / "x.zip", files)))


def test_a_non_manylinux_wheel_fails(tmp_path: Path) -> None:
    files = {**_good_files(), WHEEL: "Tag: cp311-abi3-macosx_10_9_universal2\n"}
    assert any("manylinux" in p for p in artifact_problems(_zip(tmp_path / "mac.zip", files)))


@pytest.mark.parametrize(
    "intruder",
    [
        "tests/test_app.py",
        "moto/__init__.py",
        "moto-5.2.5.dist-info/METADATA",
        "_pytest/main.py",
        "pip/__init__.py",
        "setuptools/__init__.py",
        "chalice/cli/__init__.py",
        "chalicelib/tests/test_x.py",
        "chalicelib/conftest.py",
        "infra/deploy.py",
        "botocore/__init__.py",
        "boto3-1.44.5.dist-info/METADATA",
        "s3transfer/__init__.py",
    ],
)
def test_test_mock_and_dev_files_fail(tmp_path: Path, intruder: str) -> None:
    files = {**_good_files(), intruder: "x"}
    problems = artifact_problems(_zip(tmp_path / "x.zip", files))
    assert [p for p in problems if p.startswith(intruder)], problems


# -- what Chalice packages -------------------------------------------------------------------


def test_a_zip_over_the_size_budget_fails(tmp_path: Path) -> None:
    files = {**_good_files(), "big.bin": os.urandom(8_100_000)}
    problems = artifact_problems(_zip(tmp_path / "x.zip", files))
    assert any("over the 8 MB budget" in p for p in problems), problems


def test_runtime_requirements_pin_no_aws_sdk() -> None:
    # The SDK comes from the Lambda runtime; dev requirements pin it for tests.
    names = {line.split("==")[0].strip().lower() for line in
             project_path("requirements.txt").read_text().splitlines()
             if line.strip() and not line.startswith("#")}
    assert not names & {"boto3", "botocore"}
    dev = project_path("requirements-dev.txt").read_text()
    assert "boto3==" in dev and "botocore==" in dev


def test_runtime_requirements_leave_out_chalice_only() -> None:
    text = "# pins\nchalice==1.34.0\nboto3==1.44.5\nChalice ; python_version>'3'\npyjwt==2.15.1\n"
    assert runtime_requirements(text) == "# pins\nboto3==1.44.5\npyjwt==2.15.1\n"


def test_copied_sources_carry_no_package_cache_tests_or_bytecode(tmp_path: Path) -> None:
    project = tmp_path / "project"
    (project / ".chalice" / "deployments").mkdir(parents=True)
    (project / ".chalice" / "deployments" / "abc-python3.11.zip").write_bytes(b"stale")
    (project / ".chalice" / "config.json").write_text("{}")
    (project / ".chalice" / "policy.json").write_text("{}")
    (project / "chalicelib" / "__pycache__").mkdir(parents=True)
    (project / "chalicelib" / "__init__.py").write_text("")
    (project / "chalicelib" / "__pycache__" / "x.pyc").write_bytes(b"")
    (project / "tests").mkdir()
    (project / "tests" / "test_x.py").write_text("")
    (project / "app.py").write_text("")
    (project / "requirements.txt").write_text("chalice==1.34.0\npyjwt==2.15.1\n")
    dest = tmp_path / "src"
    copy_sources(project, dest)
    copied = sorted(str(p.relative_to(dest)) for p in dest.rglob("*") if p.is_file())
    assert copied == [
        ".chalice/config.json",
        ".chalice/policy.json",
        "app.py",
        "chalicelib/__init__.py",
        "requirements.txt",
    ]
    assert (dest / "requirements.txt").read_text() == "pyjwt==2.15.1\n"
