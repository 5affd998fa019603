"""The Lambda zip: every compiled module for the stage's Lambda runtime and
architecture, no test or dev code; and the checks ``make package`` runs on every build."""

from __future__ import annotations

import os
import re
import zipfile
from pathlib import Path, PurePosixPath

import pytest

from infra.artifact import ArtifactError, artifact_problems, check_artifact
from infra.lambda_target import LambdaTarget
from infra.package import Package, copy_sources, runtime_requirements
from tests.infra.conftest import project_path

ELF_X86_64 = b"\x7fELF\x02\x01\x01" + b"\x00" * 11 + b"\x3e\x00"
ELF_AARCH64 = b"\x7fELF\x02\x01\x01" + b"\x00" * 11 + b"\xb7\x00"
MACH_O = b"\xcf\xfa\xed\xfe" + b"\x00" * 16
RUST = "cryptography/hazmat/bindings/_rust.abi3.so"
WHEEL = "cryptography-50.0.2.dist-info/WHEEL"
MANYLINUX = "Wheel-Version: 1.0\nTag: cp311-abi3-manylinux_2_34_aarch64\n"
CFFI = "_cffi_backend.cpython-313-aarch64-linux-gnu.so"
CFFI_WHEEL = "cffi-2.1.1.dist-info/WHEEL"
ARM = LambdaTarget("python3.13", "arm64")
X86 = LambdaTarget("python3.13", "x86_64")


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
        RUST: ELF_AARCH64 + b"rest",
        WHEEL: MANYLINUX,
        CFFI: ELF_AARCH64 + b"rest",
        CFFI_WHEEL: "Tag: cp313-cp313-manylinux2014_aarch64\n"
                    "Tag: cp313-cp313-manylinux_2_17_aarch64\n",
        "jwt-2.15.1.dist-info/WHEEL": "Tag: py3-none-any\n",
        "chalice/__init__.py": "",
        "chalice/app.py": "",
    }


def _top_levels(path: Path) -> set[str]:
    with zipfile.ZipFile(path) as archive:
        return {PurePosixPath(n).parts[0] for n in archive.namelist()}


# -- the real artifact ----------------------------------------------------------------


def test_the_stage_targets_python313_on_arm64_by_default(packaged: Package) -> None:
    assert packaged.stage.lambda_target == ARM


def test_packaged_zip_has_cryptography_and_cffi_compiled_for_lambda_arm64(
    packaged: Package,
) -> None:
    with zipfile.ZipFile(packaged.artifact_path) as archive:
        names = archive.namelist()
        header = archive.read(RUST)[:20]
        wheel = archive.read(WHEEL).decode()
    assert header[:4] == b"\x7fELF"
    assert int.from_bytes(header[18:20], "little") == 0xB7  # EM_AARCH64
    assert re.search(r"^Tag: cp3\d+-abi3-manylinux_2_\d+_aarch64$", wheel, re.MULTILINE), wheel
    # cffi's module is per CPython version: the target's, whatever Python packaged it
    assert "_cffi_backend.cpython-313-aarch64-linux-gnu.so" in names
    assert artifact_problems(packaged.artifact_path, ARM) == []


def test_every_compiled_module_and_wheel_in_the_packaged_zip_is_for_the_target(
    packaged: Package,
) -> None:
    with zipfile.ZipFile(packaged.artifact_path) as archive:
        shared = {n: archive.read(n)[:20] for n in archive.namelist() if n.endswith(".so")}
        wheels = {n: archive.read(n).decode() for n in archive.namelist()
                  if n.endswith(".dist-info/WHEEL")}
    assert len(shared) >= 2 and len(wheels) >= 4  # cryptography, cffi, pycparser, pyjwt
    for name, header in shared.items():
        assert int.from_bytes(header[18:20], "little") == 0xB7, name
        assert ".cpython-" not in name or ".cpython-313-aarch64-linux-gnu.so" in name, name
    for name, text in wheels.items():
        tags = re.findall(r"^Tag: (\S+)$", text, re.MULTILINE)
        assert any(ARM.accepts_wheel_tag(tag) for tag in tags), (name, tags)
        assert all(t.endswith(("-any", "_aarch64")) for t in tags), (name, tags)
        assert all(re.match(r"^(py3|cp313|cp3\d+-abi3)", t) for t in tags), (name, tags)


def test_the_same_zip_is_refused_for_x86_64_and_for_python311(packaged: Package) -> None:
    on_x86 = artifact_problems(packaged.artifact_path, X86)
    assert any("not Lambda x86_64" in p for p in on_x86), on_x86
    on_311 = artifact_problems(packaged.artifact_path, LambdaTarget("python3.11", "arm64"))
    assert any("not Lambda python3.11" in p for p in on_311), on_311


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
    check_artifact(_zip(tmp_path / "ok.zip", _good_files()), ARM)


def test_a_zip_without_cryptography_compiled_module_fails_loudly(tmp_path: Path) -> None:
    files = _good_files()
    del files[RUST]
    with pytest.raises(ArtifactError, match="compiled module"):
        check_artifact(_zip(tmp_path / "no-rust.zip", files), ARM)


def test_a_zip_without_cryptography_dist_info_fails(tmp_path: Path) -> None:
    files = _good_files()
    del files[WHEEL]
    problems = artifact_problems(_zip(tmp_path / "x.zip", files), ARM)
    assert "cryptography's dist-info is missing" in problems


@pytest.mark.parametrize(
    ("name", "header", "problem"),
    [
        (RUST, MACH_O, "not a Linux shared object"),
        (RUST, ELF_X86_64, "not Lambda arm64"),
        (CFFI, ELF_X86_64, "not Lambda arm64"),
        ("cryptography.libs/libssl-1a2b.so.3", ELF_X86_64, "not Lambda arm64"),
        # ELF for the machine, but the name says another CPython or machine
        ("_cffi_backend.cpython-311-aarch64-linux-gnu.so", ELF_AARCH64,
         "CPython 3.11, not Lambda python3.13"),
        ("_cffi_backend.cpython-313t-aarch64-linux-gnu.so", ELF_AARCH64,
         "CPython 3.13t, not Lambda python3.13"),
        ("_cffi_backend.cpython-313-x86_64-linux-gnu.so", ELF_AARCH64,
         "built for x86_64, not Lambda arm64"),
    ],
)
def test_a_module_built_for_another_platform_or_python_fails(
    tmp_path: Path, name: str, header: bytes, problem: str
) -> None:
    files = {**_good_files(), name: header}
    problems = artifact_problems(_zip(tmp_path / "x.zip", files), ARM)
    assert any(problem in p for p in problems), problems


def test_the_same_modules_pass_for_the_architecture_they_are_built_for(tmp_path: Path) -> None:
    files = {**_good_files(), RUST: ELF_X86_64, CFFI: ELF_X86_64,
             WHEEL: "Tag: cp311-abi3-manylinux_2_17_x86_64\n",
             CFFI_WHEEL: "Tag: cp313-cp313-manylinux_2_17_x86_64\n"}
    del files[CFFI]
    files["_cffi_backend.cpython-313-x86_64-linux-gnu.so"] = ELF_X86_64
    assert artifact_problems(_zip(tmp_path / "x.zip", files), X86) == []


@pytest.mark.parametrize(
    "tags",
    [
        "Tag: cp311-abi3-macosx_10_9_universal2\n",  # not Linux
        "Tag: cp311-abi3-manylinux_2_17_x86_64\n",  # another machine
        "Tag: cp311-abi3-manylinux_2_39_aarch64\n",  # a glibc newer than Amazon Linux 2023's
        "Tag: cp311-abi3-musllinux_1_2_aarch64\n",  # musl, not glibc
        "Tag: cp311-abi3-linux_aarch64\n",  # built here, not portable
        "Tag: cp314-abi3-manylinux_2_17_aarch64\n",  # stable ABI of a newer CPython
    ],
)
def test_a_cryptography_wheel_for_another_platform_or_python_fails(
    tmp_path: Path, tags: str
) -> None:
    files = {**_good_files(), WHEEL: tags}
    problems = artifact_problems(_zip(tmp_path / "x.zip", files), ARM)
    assert any(p.startswith("cryptography-50.0.2 is a wheel for") for p in problems), problems


@pytest.mark.parametrize(
    "tags",
    ["Tag: cp312-cp312-manylinux_2_17_aarch64\n",  # built for CPython 3.12 only
     "Tag: cp311-cp311-manylinux_2_17_aarch64\n"],
)
def test_a_version_specific_wheel_for_another_python_fails(tmp_path: Path, tags: str) -> None:
    files = {**_good_files(), CFFI_WHEEL: tags}
    problems = artifact_problems(_zip(tmp_path / "x.zip", files), ARM)
    assert any(p.startswith("cffi-2.1.1 is a wheel for") for p in problems), problems


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
    problems = artifact_problems(_zip(tmp_path / "x.zip", files), ARM)
    assert [p for p in problems if p.startswith(intruder)], problems


# -- what Chalice packages -------------------------------------------------------------------


def test_a_zip_over_the_size_budget_fails(tmp_path: Path) -> None:
    files = {**_good_files(), "big.bin": os.urandom(8_100_000)}
    problems = artifact_problems(_zip(tmp_path / "x.zip", files), ARM)
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
    # no requirements.txt: Chalice must not download wheels for the Python running it
    assert copied == [
        ".chalice/config.json",
        ".chalice/policy.json",
        "app.py",
        "chalicelib/__init__.py",
    ]
