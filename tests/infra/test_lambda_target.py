"""Which wheels and modules load on a Lambda runtime (infra/lambda_target.py), and how
``make package`` gets them for it whatever Python runs it (infra/wheels.py)."""

from __future__ import annotations

import sys
import zipfile
from pathlib import Path

import pytest

from infra.lambda_target import LambdaTarget
from infra.wheels import WheelError, download_wheels, pip_download_command, unpack_wheel

ARM_313 = LambdaTarget("python3.13", "arm64")
X86_311 = LambdaTarget("python3.11", "x86_64")


@pytest.mark.parametrize(
    ("runtime", "architecture", "message"),
    [("python3.9", "arm64", "lambda_runtime must be one of"),
     ("python3.13", "aarch64", "lambda_architecture must be one of"),
     ("nodejs22.x", "x86_64", "lambda_runtime must be one of")],
)
def test_an_unknown_runtime_or_architecture_is_refused(
    runtime: str, architecture: str, message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        LambdaTarget(runtime, architecture)


def test_pip_gets_every_manylinux_up_to_the_runtimes_glibc() -> None:
    platforms = ARM_313.pip_platforms()
    assert platforms[0] == "manylinux_2_34_aarch64"  # Amazon Linux 2023
    assert platforms[-2:] == ["manylinux_2_17_aarch64", "manylinux2014_aarch64"]
    assert len(platforms) == 34 - 17 + 2
    assert X86_311.pip_platforms()[0] == "manylinux_2_26_x86_64"  # Amazon Linux 2


@pytest.mark.parametrize(
    ("tag", "accepted"),
    [
        ("py3-none-any", True),
        ("py2-none-any", False),
        ("py313-none-any", True),
        ("py314-none-any", False),
        ("cp313-cp313-manylinux_2_17_aarch64", True),
        ("cp313-cp313-manylinux2014_aarch64", True),
        ("cp313-cp313-manylinux1_aarch64", True),
        ("cp313-cp313-manylinux_2_34_aarch64", True),
        ("cp313-cp313-manylinux_2_35_aarch64", False),  # newer glibc than the runtime's
        ("cp313-cp313-manylinux_2_17_x86_64", False),  # another machine
        ("cp313-cp313-musllinux_1_2_aarch64", False),
        ("cp313-cp313-linux_aarch64", False),
        ("cp313-cp313t-manylinux_2_17_aarch64", False),  # free-threaded ABI
        ("cp312-cp312-manylinux_2_17_aarch64", False),
        ("cp311-abi3-manylinux_2_28_aarch64", True),  # stable ABI of an older CPython
        ("cp314-abi3-manylinux_2_28_aarch64", False),
        ("pp310-pypy310_pp73-manylinux_2_17_aarch64", False),
        ("cp313-none-any", True),
        ("not-a-tag", False),
    ],
)
def test_wheel_tags_python313_arm64_loads(tag: str, accepted: bool) -> None:
    assert ARM_313.accepts_wheel_tag(tag) is accepted


def test_python311_lambda_refuses_manylinux_newer_than_amazon_linux_2() -> None:
    assert X86_311.accepts_wheel_tag("cp311-abi3-manylinux_2_17_x86_64")
    assert not X86_311.accepts_wheel_tag("cp311-abi3-manylinux_2_28_x86_64")


def test_the_pip_download_is_for_the_target_not_for_this_interpreter(tmp_path: Path) -> None:
    command = pip_download_command(tmp_path / "r.txt", ARM_313, tmp_path / "w")
    assert command[:4] == [sys.executable, "-m", "pip", "download"]
    assert "--only-binary=:all:" in command  # never an sdist built for this machine
    joined = " ".join(command)
    assert "--implementation cp" in joined and "--python-version 3.13" in joined
    assert "--platform manylinux_2_34_aarch64" in joined
    assert "--platform manylinux2014_aarch64" in joined
    assert "x86_64" not in joined


def test_a_failed_download_fails_the_package_step(tmp_path: Path) -> None:
    requirements = tmp_path / "requirements.txt"
    requirements.write_text("this is not ( a requirement\n")  # pip refuses it offline
    with pytest.raises(WheelError, match="could not download wheels for Lambda python3.13 arm64"):
        download_wheels(requirements, ARM_313, tmp_path / "wheels")


def _wheel(path: Path, files: dict[str, str]) -> Path:
    with zipfile.ZipFile(path, "w") as archive:
        for name, text in files.items():
            archive.writestr(name, text)
    return path


def test_a_wheel_unpacks_as_site_packages_holds_it(tmp_path: Path) -> None:
    wheel = _wheel(tmp_path / "demo-1.0-py3-none-any.whl", {
        "demo/__init__.py": "x = 1\n",
        "demo-1.0.dist-info/WHEEL": "Tag: py3-none-any\n",
        "demo-1.0.data/purelib/demo_extra.py": "",
        "demo-1.0.data/scripts/demo-cli": "#!/bin/sh\n",
        "demo-1.0.data/headers/demo.h": "",
    })
    unpack_wheel(wheel, tmp_path / "vendor")
    files = sorted(str(p.relative_to(tmp_path / "vendor"))
                   for p in (tmp_path / "vendor").rglob("*") if p.is_file())
    assert files == ["demo-1.0.dist-info/WHEEL", "demo/__init__.py", "demo_extra.py"]


@pytest.mark.parametrize("name", ["../escape.py", "/etc/escape.py", "demo/../../escape.py"])
def test_a_wheel_with_a_path_outside_the_package_is_refused(tmp_path: Path, name: str) -> None:
    wheel = _wheel(tmp_path / "evil-1.0-py3-none-any.whl", {name: "x"})
    with pytest.raises(WheelError, match="outside the package"):
        unpack_wheel(wheel, tmp_path / "vendor" / "deep")
    assert not (tmp_path / "escape.py").exists()
