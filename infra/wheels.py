"""The runtime requirements as wheels for the stage's Lambda target, whatever Python
runs ``make package``.

Chalice would download them for the interpreter that runs it (python3.11 locally:
``cffi``'s ``_cffi_backend.cpython-311-x86_64-linux-gnu.so``, which python3.13 on
arm64 cannot load). So ``pip download`` fetches binary wheels for the target's
platform, CPython version and implementation (``--only-binary=:all:``: never an
sdist built for this machine), and they are unpacked into ``vendor/``, which Chalice
copies into the zip as it is. A failed download fails the package step.
"""

from __future__ import annotations

import shutil
import subprocess  # noqa: S404 - runs pip
import sys
import zipfile
from pathlib import Path, PurePosixPath

from .lambda_target import LambdaTarget


class WheelError(RuntimeError):
    """The requirements could not be had as wheels for the Lambda target."""


def pip_download_command(requirements: Path, target: LambdaTarget, dest: Path) -> list[str]:
    platforms = [arg for platform in target.pip_platforms() for arg in ("--platform", platform)]
    return [
        sys.executable, "-m", "pip", "download", "--disable-pip-version-check", "--quiet",
        "--only-binary=:all:", "--implementation", "cp",
        "--python-version", target.python_version, *platforms,
        "--dest", str(dest), "--requirement", str(requirements),
    ]


def download_wheels(requirements: Path, target: LambdaTarget, dest: Path) -> list[Path]:
    """Every distribution of ``requirements`` (and their dependencies) as a wheel
    for ``target``, in ``dest``."""
    dest.mkdir(parents=True, exist_ok=True)
    result = subprocess.run(  # noqa: S603 - our interpreter's pip, fixed arguments
        pip_download_command(requirements, target, dest),
        capture_output=True, text=True, check=False,
    )
    if result.returncode != 0:
        output = (result.stdout + result.stderr).strip()
        raise WheelError(f"pip could not download wheels for Lambda {target} "
                         f"(exit {result.returncode}); the package index is needed:\n{output}")
    wheels = sorted(dest.glob("*.whl"))
    others = sorted(p.name for p in dest.iterdir() if p.suffix != ".whl")
    if others:
        raise WheelError(f"pip downloaded files that are not wheels: {', '.join(others)}")
    return wheels


def unpack_wheel(wheel: Path, dest: Path) -> None:
    """Install a wheel's files under ``dest`` as a site-packages would hold them:
    ``<name>.data/purelib`` and ``platlib`` at the root; scripts, headers and data
    (nothing a function imports) dropped."""
    with zipfile.ZipFile(wheel) as archive:
        for info in archive.infolist():
            path = PurePosixPath(info.filename)
            if info.is_dir():
                continue
            if path.is_absolute() or ".." in path.parts:
                raise WheelError(f"{wheel.name} holds a path outside the package: {path}")
            if path.parts[0].endswith(".data"):
                if len(path.parts) < 3 or path.parts[1] not in ("purelib", "platlib"):
                    continue
                path = PurePosixPath(*path.parts[2:])
            target = dest.joinpath(*path.parts)
            target.parent.mkdir(parents=True, exist_ok=True)
            with archive.open(info) as source, target.open("wb") as out:
                shutil.copyfileobj(source, out)


def vendor_requirements(requirements: Path, target: LambdaTarget, vendor: Path,
                        work: Path) -> list[str]:
    """Download and unpack ``requirements`` for ``target`` into ``vendor``; the
    names of the wheels."""
    wheels = download_wheels(requirements, target, work)
    vendor.mkdir(parents=True, exist_ok=True)
    for wheel in wheels:
        unpack_wheel(wheel, vendor)
    return [wheel.name for wheel in wheels]
