"""``make promote STAGE=<name> REGION=<region>``: admin writes of a multi-region stage
go to ``REGION`` (docs/multi-region.md, "Failover drill").

For an outage of the home region, so it works without it: every reachable region's
token/admin function gets ``HOME_REGION=<REGION>`` and ``HOME_ADMIN_URL=<REGION's
admin URL>`` at once (Lambda ``UpdateFunctionConfiguration``; no CloudFormation
update, which a region in trouble may not complete), and ``admin_region`` is written
to the stage in ``infra/stages.toml`` so that every later ``make deploy`` keeps it.
The global table, the multi-Region primary keys and the key rotation stay with the
home region. Promoting the home region itself clears ``admin_region``. With SnapStart
(docs/runtime.md) API Gateway invokes the alias ``live``, a published version that
keeps its configuration: the function's new configuration is then published as a
version (Lambda snapshots it) and the alias moved to it.
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from .names import API_FUNCTION, FUNCTION_ALIAS
from .stack import describe_stack, outputs, stack_resources
from .stage import STAGES_FILE, StageConfig, StageError, load_stage

Say = Callable[[str], None]
Clients = Callable[[str, str], Any]
"""(service, region) → a boto3 client."""


class PromoteError(RuntimeError):
    """The promotion could not be done; nothing or only what is reported changed."""


@dataclass
class Promotion:
    admin_url: str
    updated: list[str] = field(default_factory=list)
    unreachable: dict[str, str] = field(default_factory=dict)


def promote(stage: StageConfig, region: str, clients: Clients, say: Say = print,
            stages_file: Path = STAGES_FILE) -> Promotion:
    if not stage.multi_region:
        raise StageError(f"stage {stage.stage!r} has one region: there is nothing to promote")
    if region not in stage.regions:
        raise StageError(f"{region} is not a region of stage {stage.stage!r} "
                         f"({', '.join(stage.regions)})")
    found = describe_stack(clients("cloudformation", region), stage.stack_name)
    admin_url = outputs(found or {}).get("AdminBaseUrl")
    if not admin_url:
        raise PromoteError(f"no deployed stack {stage.stack_name} in {region}")
    result = Promotion(admin_url)
    for target in (region, *(r for r in stage.regions if r != region)):
        try:
            _point_admin_writes(clients, target, stage.stack_name, region, admin_url,
                                stage.snapstart)
        except (ClientError, BotoCoreError, KeyError) as exc:
            result.unreachable[target] = f"{type(exc).__name__}: {exc}"
            say(f"  {target}: not updated ({result.unreachable[target]})")
            continue
        result.updated.append(target)
        say(f"  {target}: admin writes now go to {region}")
    if region not in result.updated:
        raise PromoteError(f"could not update {region} itself: {result.unreachable[region]}")
    set_admin_region(stages_file, stage.stage,
                     "" if region == stage.home_region else region)
    say(f"admin writes of stage {stage.stage} go to {region}: {admin_url}")
    say(f"infra/stages.toml: admin_region of [{stage.stage}] is now "
        f"{region if region != stage.home_region else '(home)'}")
    if result.unreachable:
        say("NOT updated: " + ", ".join(result.unreachable) + ". Until `make deploy STAGE="
            f"{stage.stage}` succeeds there, such a region still takes admin writes from "
            "callers that reach it: keep operators and the CLI on the URL above.")
    return result


def _point_admin_writes(clients: Clients, target: str, stack: str, region: str,
                        admin_url: str, snapstart: bool) -> None:
    function = stack_resources(clients("cloudformation", target), stack)[API_FUNCTION]
    lam = clients("lambda", target)
    configuration = lam.get_function_configuration(FunctionName=function)
    variables = dict(configuration.get("Environment", {}).get("Variables", {}))
    variables.update(HOME_REGION=region, HOME_ADMIN_URL=admin_url)
    lam.update_function_configuration(FunctionName=function,
                                      Environment={"Variables": variables})
    if snapstart:
        lam.get_waiter("function_updated_v2").wait(FunctionName=function)
        version = lam.publish_version(FunctionName=function)["Version"]
        lam.get_waiter("published_version_active").wait(FunctionName=function,
                                                        Qualifier=version)
        lam.update_alias(FunctionName=function, Name=FUNCTION_ALIAS, FunctionVersion=version)


_SECTION = re.compile(r"^\[([^\]]+)\]\s*$")


def set_admin_region(path: Path, stage: str, region: str) -> None:
    """Set (or, with "", remove) ``admin_region`` in the stage's table, keeping the
    rest of the file as it is."""
    lines = path.read_text().splitlines()
    start = next((i for i, line in enumerate(lines)
                  if (m := _SECTION.match(line)) and m.group(1).strip() == stage), None)
    if start is None:
        if region:
            lines += ["", f"[{stage}]", f'admin_region = "{region}"']
        path.write_text("\n".join(lines) + "\n")
        return
    end = next((i for i in range(start + 1, len(lines)) if _SECTION.match(lines[i])),
               len(lines))
    body = [line for line in lines[start + 1:end]
            if not line.strip().startswith("admin_region")]
    if region:
        body.insert(0, f'admin_region = "{region}"')
    path.write_text("\n".join([*lines[:start + 1], *body, *lines[end:]]) + "\n")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m infra.promote", description=__doc__)
    parser.add_argument("--stage", default="dev")
    parser.add_argument("--region", required=True)
    args = parser.parse_args(argv)
    try:
        from .deploy import preflight

        stage = load_stage(args.stage)
        account = preflight()
        print(f"AWS account {account.account_id}, as {account.caller_arn}")
        promote(stage, args.region,
                lambda service, region: account.in_region(region).client(service))
    except (StageError, RuntimeError) as exc:  # PromoteError, PreflightError
        print(f"make promote: {exc}", file=sys.stderr)
        return 1
    except (ClientError, BotoCoreError) as exc:
        print(f"make promote: AWS error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
