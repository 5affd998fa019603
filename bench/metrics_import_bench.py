"""What AWS Lambda Powertools' Metrics would add to a cold start, next to the app's own import.

Each figure is the CPU time (``time.process_time``) of one import statement in a fresh
interpreter, the median of ``--runs`` subprocesses run one after the other in this run
(bytecode caches warmed first). Ratios are what to read; absolute times depend on the
machine and its load.

Powertools is not a dependency of this project. To measure it::

    .venv/bin/python -m pip install --target /tmp/powertools aws-lambda-powertools==3.37.0
    .venv/bin/python -m bench.metrics_import_bench --powertools /tmp/powertools
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess  # noqa: S404 - fresh interpreters are the point
import sys
from pathlib import Path

PROJECT = Path(__file__).resolve().parent.parent

_TIMED = """
import time, sys
{before}
start = time.process_time()
{statement}
print(time.process_time() - start)
"""

CASES = {
    "app (import app)": ("", "import app"),
    # The app imports it itself, so its marginal cost is measured after the standard
    # library modules the app loads anyway.
    "our EMF emitter (chalicelib.aws.metrics)": (
        "import json, threading, typing, collections.abc", "import chalicelib.aws.metrics"
    ),
    "powertools Metrics": ("", "from aws_lambda_powertools.metrics import Metrics"),
    "powertools Metrics after the app": (
        "import app", "from aws_lambda_powertools.metrics import Metrics"
    ),
}


def _once(before: str, statement: str, env: dict[str, str]) -> float:
    code = _TIMED.format(before=before, statement=statement)
    result = subprocess.run(  # noqa: S603 - our interpreter, fixed code
        [sys.executable, "-c", code], cwd=PROJECT, env=env, capture_output=True, text=True,
        check=True,
    )
    return float(result.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--powertools", type=Path, default=None,
                        help="directory holding aws_lambda_powertools (pip install --target)")
    args = parser.parse_args(argv)
    env = dict(os.environ, AWS_DEFAULT_REGION="us-east-1", AWS_EC2_METADATA_DISABLED="true")
    paths = [str(PROJECT)] + ([str(args.powertools)] if args.powertools else [])
    env["PYTHONPATH"] = os.pathsep.join(paths)
    try:
        _once("", "import aws_lambda_powertools.metrics", env)
    except subprocess.CalledProcessError:
        print(__doc__)
        return 2
    medians: dict[str, float] = {}
    for name, (before, statement) in CASES.items():
        _once(before, statement, env)  # warm the bytecode caches
        samples = [_once(before, statement, env) for _ in range(args.runs)]
        medians[name] = statistics.median(samples)
        print(f"{name:40s} {medians[name] * 1000:7.1f} ms CPU (median of {args.runs})")
    app = medians["app (import app)"]
    marginal = medians["powertools Metrics after the app"]
    print(f"powertools Metrics / app import:             {medians['powertools Metrics'] / app:.2f}")
    print(f"powertools Metrics after the app / app:      {marginal / app:.2f}")
    print(f"our emitter (after stdlib) / app import:     "
          f"{medians['our EMF emitter (chalicelib.aws.metrics)'] / app:.2f}")
    per_request = _emission_seconds()
    print(f"EMF emission per token request (2 metrics, outcome line, flush): "
          f"{per_request * 1e6:.1f} us = {per_request / TYPICAL_KMS_SIGN_SECONDS:.3f} of a "
          f"{TYPICAL_KMS_SIGN_SECONDS * 1000:g} ms KMS Sign")
    return 0


TYPICAL_KMS_SIGN_SECONDS = 0.005
"""An in-region KMS Sign takes single-digit milliseconds: the yardstick for "of note"."""


def _emission_seconds(rounds: int = 20_000) -> float:
    """What a token request spends on metrics, writing to a list instead of stdout."""
    import time

    from chalicelib.aws import metrics

    sink: list[str] = []
    recorder = metrics.EmfRecorder("m2m-auth/bench", write=sink.append)
    start = time.perf_counter()
    for _ in range(rounds):
        recorder.record(metrics.KMS_SIGN_LATENCY, 4.2)
        recorder.record(metrics.TOKENS_ISSUED)
        recorder.outcome("app_0123456789abcdef", "issued", None)
        recorder.flush()
        sink.clear()
    return (time.perf_counter() - start) / rounds


if __name__ == "__main__":
    sys.exit(main())
