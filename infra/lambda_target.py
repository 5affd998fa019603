"""The Lambda runtime and architecture a stage's functions run on, and which compiled
code loads there: wheel tags (PEP 425, manylinux of PEP 600) and extension module
names (PEP 3149).

A Lambda runtime is an Amazon Linux with one CPython: python3.11 runs on Amazon
Linux 2 (glibc 2.26), python3.12 and later on Amazon Linux 2023 (glibc 2.34). A
wheel loads there when it is pure Python, or built for that CPython (``cp313``) or
for the stable ABI of an older one (``cp311-abi3``), for a manylinux no newer than
that glibc, on the function's machine (arm64 is ``aarch64`` in wheel tags and ELF).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

GLIBC = {
    "python3.11": (2, 26),
    "python3.12": (2, 34),
    "python3.13": (2, 34),
    "python3.14": (2, 34),
}
"""The Lambda Python runtimes a stage may choose (all that Chalice 1.34 packages for
and the code supports), with the glibc of their Amazon Linux."""
SNAPSTART_RUNTIMES = frozenset({"python3.12", "python3.13", "python3.14"})
"""Lambda SnapStart supports the Python runtimes from 3.12 on."""
MACHINE = {"arm64": "aarch64", "x86_64": "x86_64"}
"""Lambda architecture → machine name in wheel tags and ``uname -m``."""
ELF_MACHINE = {"arm64": 0xB7, "x86_64": 0x3E}
"""Lambda architecture → ELF ``e_machine`` (EM_AARCH64, EM_X86_64)."""

# PEP 600 names and the legacy aliases pip still resolves (PEP 513, 571, 599).
_MANYLINUX = re.compile(r"^manylinux_(\d+)_(\d+)_(\w+)$")
_LEGACY_MANYLINUX = {"manylinux1": (2, 5), "manylinux2010": (2, 12), "manylinux2014": (2, 17)}
_PYTHON_TAG = re.compile(r"^(py|cp)(\d)(\d*)$")
# PEP 3149 / 3147 extension suffixes: foo.cpython-313-aarch64-linux-gnu.so, foo.abi3.so.
_EXTENSION = re.compile(r"\.cpython-(\d)(\d+)(t?)-([a-z0-9_]+)-linux-gnu\.so$")


@dataclass(frozen=True)
class LambdaTarget:
    """Where the functions run: a Lambda Python runtime on an architecture."""

    runtime: str = "python3.13"
    architecture: str = "arm64"

    def __post_init__(self) -> None:
        if self.runtime not in GLIBC:
            raise ValueError(f"lambda_runtime must be one of {sorted(GLIBC)}, "
                             f"got {self.runtime!r}")
        if self.architecture not in MACHINE:
            raise ValueError(f"lambda_architecture must be one of {sorted(MACHINE)}, "
                             f"got {self.architecture!r}")

    def __str__(self) -> str:
        return f"{self.runtime} {self.architecture}"

    @property
    def python_version(self) -> str:
        """``3.13`` (pip's ``--python-version``)."""
        return self.runtime.removeprefix("python")

    @property
    def minor(self) -> int:
        return int(self.python_version.split(".")[1])

    @property
    def abi(self) -> str:
        """``cp313``: the ABI tag of extension modules built for this CPython."""
        return "cp3" + str(self.minor)

    @property
    def machine(self) -> str:
        return MACHINE[self.architecture]

    @property
    def elf_machine(self) -> int:
        return ELF_MACHINE[self.architecture]

    @property
    def glibc(self) -> tuple[int, int]:
        return GLIBC[self.runtime]

    @property
    def snapstart_supported(self) -> bool:
        return self.runtime in SNAPSTART_RUNTIMES

    def pip_platforms(self) -> list[str]:
        """``--platform`` values for ``pip download``: pip takes each literally, so
        every manylinux up to the runtime's glibc, newest first, then the
        manylinux2014 alias that brings the older legacy tags with it."""
        major, newest = self.glibc
        perennial = [f"manylinux_{major}_{minor}_{self.machine}"
                     for minor in range(newest, 16, -1)]
        return [*perennial, f"manylinux2014_{self.machine}"]

    def accepts_platform(self, platform: str) -> bool:
        if platform == "any":
            return True
        legacy = [(version, platform.removeprefix(name + "_"))
                  for name, version in _LEGACY_MANYLINUX.items()
                  if platform.startswith(name + "_")]
        if legacy:
            version, machine = legacy[0]
        else:
            match = _MANYLINUX.match(platform)
            if match is None:  # linux_*, musllinux_*, macosx_*, win_*: not Lambda's
                return False
            version, machine = (int(match[1]), int(match[2])), match[3]
        return machine == self.machine and version <= self.glibc

    def accepts_wheel_tag(self, tag: str) -> bool:
        """Whether ``python-abi-platform`` (one tag of a WHEEL file) loads here."""
        parts = tag.split("-")
        if len(parts) != 3:
            return False
        python, abi, platform = parts
        match = _PYTHON_TAG.match(python)
        if match is None or match[2] != "3" or not self.accepts_platform(platform):
            return False
        minor = int(match[3]) if match[3] else None
        if abi == "none":
            return minor is None or minor <= self.minor
        if match[1] != "cp" or minor is None:
            return False
        return abi == self.abi if abi.startswith("cp") else abi == "abi3" and minor <= self.minor

    def extension_problem(self, name: str) -> str | None:
        """Why an extension module's file name cannot be this CPython's, else None
        (``.abi3.so`` and an untagged ``.so`` are decided by their ELF header)."""
        match = _EXTENSION.search(name)
        if match is None:
            return None
        version = f"{match[1]}.{match[2]}"
        if match[1] != "3" or int(match[2]) != self.minor or match[3]:
            return f"{name} is built for CPython {version}{match[3]}, not Lambda {self.runtime}"
        if match[4] != self.machine:
            return f"{name} is built for {match[4]}, not Lambda {self.architecture}"
        return None
