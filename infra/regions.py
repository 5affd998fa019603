"""``make deploy`` and ``make destroy`` of a multi-region stage (docs/multi-region.md).

Deploy: one stack per region, home first. The home stack creates the global table
(with a replica in every region) and the first signing key as a multi-Region
primary; each other region's stack then gets that key's ARN (its
``AWS::KMS::ReplicaKey``) and the home admin URL as parameters. The home region
failing stops everything: the other regions are not touched. A secondary failing
does not stop the others; the command then fails naming the regions that are live.

Destroy: the secondary stacks first, the home stack last (the global table and the
keys are retained, as in a single-region stage).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from .artifact import ArtifactError
from .multi_region import HOME_ADMIN_PARAMETER, PRIMARY_KEY_PARAMETER
from .package import Package, PackageError
from .stack import StackError, describe_stack, outputs
from .stage import StageConfig

Say = Callable[[str], None]
DeployOne = Callable[[StageConfig, Any, dict[str, str]], dict[str, str]]
"""Deploy the stage's stack in one region (config, account in that region,
parameters) and return its outputs."""
FAILURES = (StackError, PackageError, ArtifactError, RuntimeError, ClientError, BotoCoreError)
"""What a region's deployment raises when it fails (DeployError is a RuntimeError)."""
# Stack states in which a failed update left the previous version serving.
STILL_SERVING = frozenset({"UPDATE_ROLLBACK_COMPLETE", "UPDATE_COMPLETE", "CREATE_COMPLETE"})


class RegionsFailed(RuntimeError):
    """Some region did not deploy; the message says which regions are live."""


@dataclass
class Outcome:
    outputs: dict[str, dict[str, str]] = field(default_factory=dict)
    """Region → outputs of every region deployed."""
    failed: dict[str, str] = field(default_factory=dict)
    """Region → why its deployment failed."""


def deploy_regions(
    stage: StageConfig,
    account: Any,
    deploy_one: DeployOne,
    say: Say = print,
    stack_status: Callable[[Any], str | None] | None = None,
    existing_outputs: Callable[[Any], dict[str, str] | None] | None = None,
) -> Outcome:
    """Home first, then every other region; ``RegionsFailed`` if any failed.

    ``existing_outputs(account)``: a deployed stack's outputs, for the admin URL of a
    promoted ``admin_region`` (make promote) when it is not the home region."""
    home, write = stage.home_region, stage.write_region
    assert home is not None and write is not None  # noqa: S101 - multi-region stage
    admin_url: str | None = None
    if write != home:
        found = (existing_outputs or (lambda _: None))(account.in_region(write))
        if not found or "AdminBaseUrl" not in found:
            raise RegionsFailed(
                f"admin_region {write} has no deployed stack to take admin writes; "
                "remove admin_region from infra/stages.toml or deploy it first")
        admin_url = found["AdminBaseUrl"]
    outcome = Outcome()
    say(f"== {home} (home region) ==")
    try:
        outcome.outputs[home] = deploy_one(
            stage.for_region(home), account.in_region(home),
            {HOME_ADMIN_PARAMETER: admin_url} if admin_url else {})
    except FAILURES as exc:
        raise RegionsFailed(
            f"the home region {home} failed: {exc}. The other regions "
            f"({', '.join(stage.secondary_regions)}) were not touched."
        ) from exc
    home_outputs = outcome.outputs[home]
    admin_url = admin_url or home_outputs["AdminBaseUrl"]
    for region in stage.secondary_regions:
        say(f"== {region} ==")
        parameters = {PRIMARY_KEY_PARAMETER: home_outputs["SigningKeyArn"]}
        if region != write:
            parameters[HOME_ADMIN_PARAMETER] = admin_url
        try:
            outcome.outputs[region] = deploy_one(
                stage.for_region(region), account.in_region(region), parameters)
        except FAILURES as exc:
            outcome.failed[region] = str(exc)
            say(f"{region} failed: {exc}")
    for line in summary(stage, outcome):
        say(line)
    if outcome.failed:
        status = stack_status or (lambda _: None)
        serving = []
        for region in outcome.failed:
            state = status(account.in_region(region))
            if state in STILL_SERVING:
                serving.append(f"{region} (previous version, {state})")
        live = [*outcome.outputs, *serving]
        raise RegionsFailed(
            f"{', '.join(outcome.failed)} failed; live regions: {', '.join(live)}. "
            "Latency routing sends clients only to regions whose health check passes; "
            "fix the failure and run make deploy again."
        )
    return outcome


def summary(stage: StageConfig, outcome: Outcome) -> list[str]:
    """Every region's URLs: one issuer, token and JWKS URL; each region's admin URL."""
    lines = ["", f"stage {stage.stage}: {len(stage.regions)} regions, home {stage.home_region}"]
    home_outputs = outcome.outputs.get(stage.home_region or "", {})
    for key in ("Issuer", "TokenUrl", "JwksUrl"):
        if key in home_outputs:
            lines.append(f"  {key:<13} {home_outputs[key]}   (every region)")
    for region in stage.regions:
        if region in outcome.outputs:
            admin = outcome.outputs[region].get("AdminBaseUrl", "?")
            role = "admin writes here" if region == stage.write_region else "admin reads only"
            lines.append(f"  {region:<13} live      {admin}   ({role})")
        elif region in outcome.failed:
            lines.append(f"  {region:<13} FAILED    {outcome.failed[region]}")
        else:
            lines.append(f"  {region:<13} not deployed")
    return lines


DeployPackage = Callable[..., dict[str, str]]
"""``infra.deploy.deploy_package``: one region's package into its stack; its outputs."""


def run_regions(
    stage: StageConfig, account: Any, allow_data_replacement: bool,
    deploy_package: DeployPackage,
) -> Outcome:
    """The command: check each region's API Gateway logging role, then package and
    deploy each region, streaming its events."""
    from .observability import account_logging_problem
    from .package import package

    for region in stage.regions:
        problem = account_logging_problem(account.in_region(region), stage)
        if problem:
            raise RegionsFailed(f"{region}: {problem}")

    def deploy_one(config: StageConfig, regional: Any, parameters: dict[str, str]) -> \
            dict[str, str]:
        assert config.region is not None  # noqa: S101 - set by for_region
        built: Package = package(stage.stage, region=config.region)
        return deploy_package(built, regional, allow_data_replacement=allow_data_replacement,
                              parameters=parameters)

    def status(regional: Any) -> str | None:
        found = describe_stack(regional.client("cloudformation"), stage.stack_name)
        return str(found["StackStatus"]) if found else None

    def existing(regional: Any) -> dict[str, str] | None:
        found = describe_stack(regional.client("cloudformation"), stage.stack_name)
        return outputs(found) if found else None

    return deploy_regions(stage, account, deploy_one, stack_status=status,
                          existing_outputs=existing)


def destroy_regions(
    stage: StageConfig,
    account: Any,
    destroy: Callable[[StageConfig, Any], bool],
    say: Say = print,
) -> list[str]:
    """Delete the secondary stacks (``destroy``: ``infra.deploy.destroy_stack``), then
    the home stack; the regions destroyed."""
    done = []
    for region in (*reversed(stage.secondary_regions), stage.home_region):
        assert region is not None  # noqa: S101
        say(f"== {region} ==")
        if destroy(stage.for_region(region), account.in_region(region)):
            done.append(region)
    return done
