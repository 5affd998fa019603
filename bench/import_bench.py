"""Cold-start import cost: ``import app`` against ``import boto3``, in one run.

Each import runs in a fresh interpreter (what a new Lambda container pays); the
figure is that child's user+sys CPU time (``resource.getrusage(RUSAGE_SELF)``)
spent on the import alone, less an empty interpreter's start-up. The median of
several alternating runs of each is printed with their ratio: the target is
``import app`` at most 0.35× ``import boto3`` (issue 15; it was 0.5).

    .venv/bin/python -m bench.import_bench [--runs 21]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess  # noqa: S404 - fresh interpreters are the point
import sys
from pathlib import Path

PROJECT = Path(__file__).resolve().parent.parent
# CPU time before and after the import, measured inside the child.
_CHILD = """
import resource, sys
def cpu():
    u = resource.getrusage(resource.RUSAGE_SELF)
    return u.ru_utime + u.ru_stime
before = cpu()
{statement}
print(cpu() - before)
"""
TARGETS = {"app": "import app", "boto3": "import boto3", "chalice": "import chalice.app"}


def _measure(statement: str) -> float:
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    result = subprocess.run(  # noqa: S603 - our interpreter, fixed code
        [sys.executable, "-c", _CHILD.format(statement=statement)],
        cwd=PROJECT, env=env, capture_output=True, text=True, check=True,
    )
    return float(result.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=21)
    args = parser.parse_args(argv)
    samples: dict[str, list[float]] = {name: [] for name in TARGETS}
    for statement in TARGETS.values():
        _measure(statement)  # warm the file cache and bytecode once
    for _ in range(args.runs):
        for name, statement in TARGETS.items():
            samples[name].append(_measure(statement))
    medians = {name: statistics.median(values) for name, values in samples.items()}
    for name in ("app", "boto3", "chalice"):
        print(f"import {name:<8} {medians[name] * 1000:7.1f} ms CPU (user+sys), "
              f"median of {args.runs}")
    ratio = medians["app"] / medians["boto3"]
    print(f"ratio app/boto3: {ratio:.2f} (target <= 0.35); chalice.app alone is "
          f"{medians['chalice'] / medians['app']:.0%} of import app")
    return 0


if __name__ == "__main__":
    sys.exit(main())
