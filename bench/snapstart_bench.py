"""What SnapStart takes off a cold start: the unzipped artifact under the Lambda's
Python, in fresh interpreters, one run.

Each sample is a fresh interpreter with ``-B`` (no bytecode written, like Lambda's
read-only ``/var/task``: every cold start compiles what it imports) over the unzipped
artifact and the AWS SDK (which the runtime provides), measuring user+sys CPU of:

- ``import app`` (Lambda's INIT: a SnapStart snapshot holds it either way);
- ``prepare_snapshot()``, the before-snapshot hook (imports for the first request);
- the first request's ``build_default_services()`` (offline: clients built, not called)
  after the hook, which is what a restored container still pays, and without it,
  which is what a cold container without SnapStart pays on top of ``import app``.

Printed: the medians, and the ratio of a restored container's start (the build
after the hook) to a plain cold start (``import app`` and the build without it).
Build the artifact for this machine and get the SDK first, for example:

    .venv/bin/python -c "from pathlib import Path; from infra.package import package; \\
        from infra.lambda_target import LambdaTarget; \\
        package('dev', Path('/tmp/x86'), target=LambdaTarget('python3.13', 'x86_64'))"
    .venv/bin/pip install --target /tmp/sdk --only-binary=:all: boto3==1.44.5 botocore==1.44.5
    .venv/bin/python -m bench.snapstart_bench --zip /tmp/x86/deployment.zip --sdk /tmp/sdk \\
        --python ~/.pyenv/versions/3.13.0/bin/python3.13
"""

from __future__ import annotations

import argparse
import statistics
import subprocess  # noqa: S404 - fresh interpreters are the point
import tempfile
import zipfile
from pathlib import Path

# Run in the target interpreter: CPU seconds of each phase, one per line.
_CHILD = """
import os, resource, sys
sys.path[:0] = [{task!r}, {sdk!r}]
os.environ.update(AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing",
                  AWS_DEFAULT_REGION="us-east-1", AWS_EC2_METADATA_DISABLED="true",
                  AWS_CONFIG_FILE="/dev/null", AWS_SHARED_CREDENTIALS_FILE="/dev/null",
                  TABLE_NAME="bench", SIGNING_KEY_ID="alias/bench")
def cpu():
    u = resource.getrusage(resource.RUSAGE_SELF)
    return u.ru_utime + u.ru_stime
t0 = cpu()
import app
from chalicelib import runtime
t1 = cpu()
if {prime}:
    runtime.prepare_snapshot()
t2 = cpu()
runtime.build_default_services()
t3 = cpu()
print(t1 - t0, t2 - t1, t3 - t2)
"""


def _sample(python: str, task: Path, sdk: Path, prime: bool) -> tuple[float, float, float]:
    code = _CHILD.format(task=str(task), sdk=str(sdk), prime=prime)
    result = subprocess.run(  # noqa: S603 - the given interpreter, fixed code
        [python, "-I", "-S", "-B", "-c", code], capture_output=True, text=True, check=True)
    app, hook, build = (float(x) for x in result.stdout.split())
    return app, hook, build


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--zip", type=Path, required=True, help="a deployment.zip for this machine")
    parser.add_argument("--sdk", type=Path, required=True, help="boto3 and botocore, installed")
    parser.add_argument("--python", required=True, help="the Lambda runtime's CPython")
    parser.add_argument("--runs", type=int, default=11)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        task = Path(tmp) / "task"
        with zipfile.ZipFile(args.zip) as archive:
            archive.extractall(task)
        primed, plain = [], []
        for _ in range(args.runs):
            primed.append(_sample(args.python, task, args.sdk, prime=True))
            plain.append(_sample(args.python, task, args.sdk, prime=False))
    ms = {
        "import app": statistics.median(s[0] for s in plain) * 1000,
        "before-snapshot hook": statistics.median(s[1] for s in primed) * 1000,
        "first build after the hook": statistics.median(s[2] for s in primed) * 1000,
        "first build without it": statistics.median(s[2] for s in plain) * 1000,
    }
    for name, value in ms.items():
        print(f"{name:<28} {value:7.1f} ms CPU (user+sys), median of {args.runs}")
    cold = ms["import app"] + ms["first build without it"]
    restored = ms["first build after the hook"]
    print(f"restored container / plain cold start: {restored / cold:.2f} "
          f"({restored:.0f} ms vs {cold:.0f} ms of CPU before the first request's own work)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
