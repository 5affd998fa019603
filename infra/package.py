"""``make package STAGE=<name>``: the CloudFormation template and Lambda zip of a
stage, built without talking to AWS, into ``build/<stage>/``.

Chalice packages a fresh copy of the sources (``build/<stage>/src``), so its
package cache (``.chalice/deployments/``, keyed by the requirements alone) can
never hand back a stale zip. The runtime requirements, less ``chalice`` (Chalice
adds its runtime module itself, and the distribution would bring the CLI and pip,
setuptools and wheel), are downloaded as wheels for the stage's Lambda runtime and
architecture (infra/wheels.py) into the copy's ``vendor/``; the copy has no
``requirements.txt``, so Chalice downloads nothing for the Python that runs it.
The zip is then checked against the target (infra/artifact.py), and the template
for the stage's runtime, architecture and SnapStart wiring.

Outputs: ``merge-template.json`` (infra/template.py for this stage),
``sam.json`` (Chalice's template merged with it) and ``deployment.zip``.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess  # noqa: S404 - runs Chalice and the app in child processes
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from . import snapstart
from .artifact import ArtifactError, check_artifact
from .lambda_target import LambdaTarget
from .names import ROTATION_HANDLER, AppShape
from .region import environment_region
from .stage import PROJECT_DIR, StageConfig, StageError, load_stage
from .template import merge_template
from .wheels import WheelError, vendor_requirements

SOURCES = ("app.py", "chalicelib", "vendor")
EXCLUDED_REQUIREMENTS = frozenset({"chalice"})
TEMPLATE = "sam.json"
ARTIFACT = "deployment.zip"
MERGE_TEMPLATE = "merge-template.json"
_IGNORE = shutil.ignore_patterns("__pycache__", "*.pyc", ".DS_Store")

# Run inside the copied sources: what the Chalice app defines.
_DESCRIBE_APP = """
import json, app
a = app.app
print(json.dumps({
    "event_sources": sorted(s.name for s in a.event_sources),
    "routes": {p: sorted(m) for p, m in a.routes.items()},
}))
"""


class PackageError(RuntimeError):
    """The stage could not be packaged."""


@dataclass(frozen=True)
class Package:
    stage: StageConfig
    out_dir: Path

    @property
    def template_path(self) -> Path:
        return self.out_dir / TEMPLATE

    @property
    def artifact_path(self) -> Path:
        return self.out_dir / ARTIFACT

    def template(self) -> dict[str, Any]:
        loaded: dict[str, Any] = json.loads(self.template_path.read_text())
        return loaded


def package(
    stage_name: str,
    out_dir: Path | None = None,
    project_dir: Path = PROJECT_DIR,
    log: Callable[[str], None] = print,
    region: str | None = None,
    target: LambdaTarget | None = None,
) -> Package:
    """Build ``stage_name`` into ``out_dir`` (default ``build/<stage>``, and
    ``build/<stage>/<region>`` for a region of a multi-region stage), checked;
    ``target`` replaces the stage's runtime and architecture (a one-off build)."""
    stage = load_stage(stage_name, project_dir)
    if target is not None:
        stage = stage.with_target(target)
    default_out = project_dir / "build" / stage_name
    if stage.multi_region:
        region = region or stage.home_region
        assert region is not None  # noqa: S101 - a multi-region stage has a home
        stage = stage.for_region(region)
        default_out = default_out / region
    elif region:
        stage = stage.for_region(region)
    out = (out_dir or default_out).resolve()
    if out.exists():
        shutil.rmtree(out)
    src = out / "src"
    copy_sources(project_dir, src)
    shape = describe_app(src)
    log(f"downloading the requirements' wheels for Lambda {stage.lambda_target} ...")
    wheels = vendor_requirements(_runtime_requirements_file(project_dir, out), stage.lambda_target,
                                 src / "vendor", out / "wheels")
    log("  " + ", ".join(wheels))
    merge_path = out / MERGE_TEMPLATE
    merge_path.write_text(json.dumps(merge_template(stage, shape), indent=2) + "\n")
    log(f"packaging stage {stage.stage} with Chalice into {out} ...")
    _run_chalice_package(src, stage.stage, merge_path, out)
    result = Package(stage, out)
    template = result.template()
    check_merged(template, json.loads(merge_path.read_text()))
    check_functions(template, stage)
    check_artifact(result.artifact_path, stage.lambda_target)
    shutil.rmtree(src)  # Chalice's cache lived there: nothing is reused next time
    shutil.rmtree(out / "wheels")
    (out / "requirements.txt").unlink()
    size = result.artifact_path.stat().st_size / 1_000_000
    log(f"{result.template_path} ({len(template['Resources'])} resources"
        f"{', SnapStart' if stage.snapstart else ''})")
    log(f"{result.artifact_path} ({size:.1f} MB, every compiled module for Lambda "
        f"{stage.lambda_target}: ok)")
    return result


def copy_sources(project_dir: Path, dest: Path) -> None:
    """What Chalice packages, and nothing else: the app, chalicelib, vendor/, the
    Chalice config and policies (the requirements go to vendor/ as wheels)."""
    dest.mkdir(parents=True)
    for name in SOURCES:
        source = project_dir / name
        if source.is_dir():
            shutil.copytree(source, dest / name, ignore=_IGNORE)
        elif source.is_file():
            shutil.copy2(source, dest / name)
    (dest / ".chalice").mkdir()
    for config in sorted((project_dir / ".chalice").glob("*.json")):
        shutil.copy2(config, dest / ".chalice" / config.name)


def _runtime_requirements_file(project_dir: Path, out: Path) -> Path:
    path = out / "requirements.txt"
    path.write_text(runtime_requirements((project_dir / "requirements.txt").read_text()))
    return path


def runtime_requirements(text: str) -> str:
    """``requirements.txt`` less the distributions the Lambda zip must not carry."""
    kept = []
    for line in text.splitlines():
        match = re.match(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)", line)
        if match and match.group(1).lower().replace("_", "-") in EXCLUDED_REQUIREMENTS:
            continue
        kept.append(line)
    return "\n".join(kept) + "\n"


def describe_app(src: Path) -> AppShape:
    """Import the app in a child process (as Chalice does) to see what it defines."""
    result = subprocess.run(  # noqa: S603 - our interpreter, a fixed script
        [sys.executable, "-c", _DESCRIBE_APP],
        cwd=src,
        env=_child_env(),
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        raise PackageError(f"importing app.py failed:\n{result.stderr}")
    described = json.loads(result.stdout.strip().splitlines()[-1])
    return AppShape(
        has_rotation=ROTATION_HANDLER in described["event_sources"],
        routes=tuple((path, tuple(methods)) for path, methods in described["routes"].items()),
    )


def _child_env() -> dict[str, str]:
    env = dict(os.environ)
    # Packaging never needs AWS: no instance-metadata lookups, any region will do;
    # Chalice's botocore reads AWS_DEFAULT_REGION only, so hand it AWS_REGION's value.
    env["AWS_EC2_METADATA_DISABLED"] = "true"
    env["AWS_DEFAULT_REGION"] = environment_region(env) or "us-east-1"
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    return env


def _run_chalice_package(src: Path, stage: str, merge_path: Path, out: Path) -> None:
    command = [
        sys.executable, "-c", "from chalice.cli import main; main()",
        "--project-dir", str(src),
        "package", "--stage", stage, "--merge-template", str(merge_path), str(out),
    ]
    result = subprocess.run(  # noqa: S603 - our interpreter running Chalice
        command, cwd=src, env=_child_env(), capture_output=True, text=True, check=False
    )
    output = (result.stdout + result.stderr).strip()
    if result.returncode != 0:
        raise PackageError(f"chalice package failed (exit {result.returncode}):\n{output}")
    if output:
        for line in output.splitlines():
            print(f"  chalice: {line}", file=sys.stderr if "rror" in line else sys.stdout)


def check_merged(template: dict[str, Any], merge: dict[str, Any]) -> None:
    """Every resource the merge template only amends must exist in Chalice's
    template; otherwise the merge leaves a resource without a ``Type``."""
    untyped = sorted(name for name, body in template["Resources"].items() if "Type" not in body)
    if untyped:
        raise PackageError(
            "the merge template amends resources Chalice did not generate: "
            f"{', '.join(untyped)} (did a function or its role get renamed?)"
        )
    missing = sorted(set(merge["Resources"]) - set(template["Resources"]))
    if missing:
        raise PackageError(f"resources missing after the merge: {', '.join(missing)}")


def check_functions(template: dict[str, Any], stage: StageConfig) -> None:
    """Every function runs on the stage's runtime and architecture, and invokes
    (or is invoked through) what its SnapStart setting needs."""
    target = stage.lambda_target
    problems = [
        f"{name} runs {body['Properties'].get('Runtime')} on "
        f"{body['Properties'].get('Architectures', ['x86_64'])}, not {target}"
        for name, body in sorted(template["Resources"].items())
        if body.get("Type") in ("AWS::Serverless::Function", "AWS::Lambda::Function")
        and (body["Properties"].get("Runtime"), body["Properties"].get("Architectures"))
        != (target.runtime, [target.architecture])
    ]
    problems += snapstart.wiring_problems(template, stage.snapstart)
    if problems:
        raise PackageError("the packaged template does not run the stage's functions as "
                           "configured:\n  " + "\n  ".join(problems))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m infra.package", description=__doc__)
    parser.add_argument("--stage", default="dev")
    parser.add_argument("--out", type=Path, default=None, help="default: build/<stage>")
    parser.add_argument("--region", default=None,
                        help="multi-region stages: the region to package (default: home)")
    args = parser.parse_args(argv)
    try:
        package(args.stage, args.out, region=args.region)
    except (StageError, PackageError, ArtifactError, WheelError) as exc:
        print(f"make package: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
