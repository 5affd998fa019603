"""CloudFormation for ``make deploy`` and ``make destroy``: change sets, waiting
with the stack's events streamed as they happen, outputs."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from botocore.exceptions import ClientError

CAPABILITIES = ["CAPABILITY_IAM", "CAPABILITY_AUTO_EXPAND"]  # roles; the SAM transform
NO_CHANGES = ("didn't contain changes", "No updates are to be performed")
SUCCESS = frozenset({"CREATE_COMPLETE", "UPDATE_COMPLETE", "DELETE_COMPLETE", "IMPORT_COMPLETE"})
# Resources whose replacement or removal would lose every app, secret and live token.
PROTECTED = ("Table", "GlobalTable", "SigningKey")
OUTPUT_ORDER = (
    "Issuer", "TokenUrl", "JwksUrl", "AdminBaseUrl", "AdminPolicyArn", "TableName",
    "SigningKeyArn", "SigningKeyAlias", "TokenRoleArn", "AlarmTopicArn", "Region",
    "HomeRegion",
)

Say = Callable[[str], None]
Sleep = Callable[[float], None]


class StackError(RuntimeError):
    """CloudFormation refused or failed the operation."""


@dataclass
class StackWatcher:
    """Prints each stack event once, oldest first, while an operation runs."""

    cfn: Any
    stack: str
    say: Say
    seen: set[str] = field(default_factory=set)
    failures: list[str] = field(default_factory=list)

    def mark_existing(self) -> None:
        """Events before the operation are history, not progress."""
        for event in self._recent_events():
            self.seen.add(event["EventId"])

    def poll(self) -> None:
        new = [e for e in self._recent_events() if e["EventId"] not in self.seen]
        for event in reversed(new):  # the API lists newest first
            self.seen.add(event["EventId"])
            self.say(format_event(event))
            status = event.get("ResourceStatus", "")
            if status.endswith("FAILED") and event.get("ResourceStatusReason"):
                self.failures.append(
                    f"{event['LogicalResourceId']}: {event['ResourceStatusReason']}"
                )

    def _recent_events(self) -> list[dict[str, Any]]:
        """Newest first, paging back only until an event already seen."""
        events: list[dict[str, Any]] = []
        token: str | None = None
        while True:
            args: dict[str, Any] = {"StackName": self.stack}
            if token:
                args["NextToken"] = token
            page = self.cfn.describe_stack_events(**args)
            for event in page.get("StackEvents", []):
                if event["EventId"] in self.seen:
                    return events
                events.append(event)
            token = page.get("NextToken")
            if not token:
                return events


def format_event(event: dict[str, Any]) -> str:
    stamp = event.get("Timestamp")
    when = stamp.strftime("%H:%M:%S") if isinstance(stamp, datetime) else str(stamp or "")
    reason = event.get("ResourceStatusReason") or ""
    line = (
        f"  {when}  {event.get('ResourceStatus', ''):<30} "
        f"{event.get('ResourceType', ''):<34} {event.get('LogicalResourceId', '')}"
    )
    return f"{line}  {reason}" if reason else line


def describe_stack(cfn: Any, stack: str) -> dict[str, Any] | None:
    """The stack, or None when it does not exist."""
    try:
        stacks = cfn.describe_stacks(StackName=stack)["Stacks"]
    except ClientError as exc:
        if "does not exist" in str(exc.response.get("Error", {}).get("Message", "")):
            return None
        raise
    return stacks[0] if stacks else None


def wait_for_stack(
    cfn: Any,
    stack_id: str,
    watcher: StackWatcher,
    sleep: Sleep = time.sleep,
    poll_seconds: float = 5.0,
    timeout_seconds: float = 3600.0,
) -> str:
    """Stream events until the stack leaves ``*_IN_PROGRESS``; return the status,
    raising ``StackError`` unless it is a success."""
    waited = 0.0
    while True:
        watcher.poll()
        found = describe_stack(cfn, stack_id)
        status = found["StackStatus"] if found else "DELETE_COMPLETE"
        if not status.endswith("_IN_PROGRESS"):
            watcher.poll()  # the events that arrived with the final status
            if status in SUCCESS:
                return status
            first = watcher.failures[0] if watcher.failures else (
                (found or {}).get("StackStatusReason") or "see the events above"
            )
            raise StackError(f"stack {status}: {first}")
        if waited >= timeout_seconds:
            raise StackError(f"stack still {status} after {timeout_seconds:.0f} s; watch it in "
                             "the CloudFormation console")
        sleep(poll_seconds)
        waited += poll_seconds


@dataclass(frozen=True)
class ChangeSet:
    arn: str
    stack_id: str
    changes: list[dict[str, Any]]


def create_change_set(
    cfn: Any,
    stack: str,
    template_url: str,
    tags: dict[str, str],
    say: Say,
    sleep: Sleep = time.sleep,
    poll_seconds: float = 2.0,
    parameters: dict[str, str] | None = None,
) -> ChangeSet | None:
    """Create a change set and wait until it is ready. ``None``: nothing to change."""
    existing = describe_stack(cfn, stack)
    status = existing["StackStatus"] if existing else None
    if status == "ROLLBACK_COMPLETE":
        raise StackError(
            f"stack {stack} is in ROLLBACK_COMPLETE after a failed first deployment and "
            "CloudFormation cannot update it: run `make destroy` for this stage, then deploy again"
        )
    if status and status.endswith("_IN_PROGRESS") and status != "REVIEW_IN_PROGRESS":
        raise StackError(f"stack {stack} is busy ({status}); wait for it to finish")
    kind = "UPDATE" if status and status != "REVIEW_IN_PROGRESS" else "CREATE"
    name = f"deploy-{time.strftime('%Y%m%d-%H%M%S', time.gmtime())}"
    say(f"creating change set {name} ({kind}) for stack {stack} ...")
    extra: dict[str, Any] = {}
    if parameters:  # multi-region secondaries: values from the home stack
        extra["Parameters"] = [{"ParameterKey": k, "ParameterValue": v}
                               for k, v in sorted(parameters.items())]
    created = cfn.create_change_set(
        StackName=stack,
        ChangeSetName=name,
        ChangeSetType=kind,
        TemplateURL=template_url,
        Capabilities=CAPABILITIES,
        Tags=[{"Key": k, "Value": v} for k, v in sorted(tags.items())],
        Description="make deploy",
        **extra,
    )
    arn = created["Id"]
    while True:
        described = cfn.describe_change_set(ChangeSetName=arn)
        state = described["Status"]
        if state == "CREATE_COMPLETE":
            changes = _all_changes(cfn, arn, described)
            return ChangeSet(arn, described["StackId"], changes)
        if state == "FAILED":
            reason = described.get("StatusReason") or "no reason given"
            if any(marker in reason for marker in NO_CHANGES):
                cfn.delete_change_set(ChangeSetName=arn)
                return None
            raise StackError(f"change set {name} failed: {reason}")
        sleep(poll_seconds)


def _all_changes(cfn: Any, arn: str, first: dict[str, Any]) -> list[dict[str, Any]]:
    changes = list(first.get("Changes", []))
    token = first.get("NextToken")
    while token:
        page = cfn.describe_change_set(ChangeSetName=arn, NextToken=token)
        changes.extend(page.get("Changes", []))
        token = page.get("NextToken")
    return changes


def describe_changes(changes: Iterable[dict[str, Any]]) -> list[str]:
    lines = []
    for change in changes:
        rc = change.get("ResourceChange", {})
        replacement = " (REPLACED)" if rc.get("Replacement") == "True" else ""
        lines.append(
            f"  {rc.get('Action', '?'):<7} {rc.get('ResourceType', ''):<34} "
            f"{rc.get('LogicalResourceId', '')}{replacement}"
        )
    return lines


def data_loss_changes(changes: Iterable[dict[str, Any]]) -> list[str]:
    """Changes that would put the stack on a new, empty table or a new key."""
    risky = []
    for change in changes:
        rc = change.get("ResourceChange", {})
        if rc.get("LogicalResourceId") not in PROTECTED:
            continue
        if rc.get("Action") == "Remove":
            risky.append(f"{rc['LogicalResourceId']} would be removed from the stack")
        elif rc.get("Replacement") in ("True", "Conditional"):
            risky.append(f"{rc['LogicalResourceId']} would be replaced "
                         f"(Replacement: {rc['Replacement']})")
    return risky


def outputs(stack: dict[str, Any]) -> dict[str, str]:
    return {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])}


def format_outputs(values: dict[str, str]) -> list[str]:
    ordered = [k for k in OUTPUT_ORDER if k in values]
    ordered += sorted(k for k in values if k not in OUTPUT_ORDER)
    width = max((len(k) for k in ordered), default=0)
    return [f"  {key:<{width}}  {values[key]}" for key in ordered]


def stack_resources(cfn: Any, stack: str) -> dict[str, str]:
    """Logical id → physical id of every resource of the stack."""
    found: dict[str, str] = {}
    token: str | None = None
    while True:
        args: dict[str, Any] = {"StackName": stack}
        if token:
            args["NextToken"] = token
        page = cfn.list_stack_resources(**args)
        for summary in page.get("StackResourceSummaries", []):
            if summary.get("PhysicalResourceId"):
                found[summary["LogicalResourceId"]] = summary["PhysicalResourceId"]
        token = page.get("NextToken")
        if not token:
            return found
