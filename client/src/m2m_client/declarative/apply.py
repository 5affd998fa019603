"""Running a plan: one ordinary admin request per step, in order, stopping at the first
failure. Each guarded step sends `If-Match` with the version read during planning (or the
one this run's own previous write produced), so a concurrent change stops the run with
412 instead of being overwritten. The server audits every request as usual.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from m2m_client.admin_http import ApiError, admin_path
from m2m_client.declarative.plan import ABSENT, Plan, Ref, Step


class Requester(Protocol):
    def request(self, method: str, path: str, json_body: Any = None, *,
                params: Any = None, if_match: int | None = None) -> Any: ...


@dataclass(frozen=True)
class NewSecret:
    """The client secret of an app this run created: shown once, never stored in a file
    other than the one --secrets-out names."""

    name: str
    client_id: str
    secret_id: str | None
    client_secret: str = field(repr=False)


@dataclass
class ApplyResult:
    applied: list[Step] = field(default_factory=list)
    secrets: list[NewSecret] = field(default_factory=list)


class ApplyFailed(Exception):
    """A step failed: `result.applied` ran, `failed` did not, nor did `pending`.

    `outcome_unknown`: no answer came for `failed` (a timeout, a lost connection, Ctrl-C),
    so the server may or may not have applied it.
    """

    def __init__(self, result: ApplyResult, failed: Step, pending: list[Step],
                 cause: BaseException) -> None:
        self.result = result
        self.failed = failed
        self.pending = pending
        self.cause = cause
        self.outcome_unknown = not isinstance(cause, ApiError)
        super().__init__(f"{describe(failed)} failed: {cause}")


def _resolve(plan: Plan, ids: dict[tuple[str, str], str], segment: str | Ref) -> str:
    if isinstance(segment, Ref):
        return ids[(segment.kind, segment.key)]
    return segment


def _resolve_body(ids: dict[tuple[str, str], str], body: Any) -> Any:
    """A body with every ``Ref`` (an API created earlier in the run) replaced by its id."""
    if isinstance(body, Ref):
        return ids[(body.kind, body.key)]
    if isinstance(body, list):
        return [_resolve_body(ids, item) for item in body]
    if isinstance(body, dict):
        return {k: _resolve_body(ids, v) for k, v in body.items()}
    return body


def execute(plan: Plan, client: Requester,
            on_step: Callable[[Step], None] | None = None) -> ApplyResult:
    """Run every step; `ApplyFailed` (with what was and was not applied) at the first error."""
    ids = dict(plan.ids)
    versions = dict(plan.versions)
    result = ApplyResult()
    for index, step in enumerate(plan.steps):
        try:
            path = admin_path(*(_resolve(plan, ids, s) for s in step.path))
            if_match = versions.get(step.guard, 0) if step.guard is not None else None
            answer = client.request(step.method, path, _resolve_body(ids, step.body),
                                    if_match=if_match)
        except (Exception, KeyboardInterrupt) as exc:
            raise ApplyFailed(result, step, plan.steps[index + 1:], exc) from exc
        if step.records is not None and isinstance(answer, dict):
            if isinstance(answer.get("version"), int):
                versions[step.records] = answer["version"]
            new_id = answer.get("client_id") if step.kind == "app" else answer.get("id")
            if step.action == "create" and isinstance(new_id, str):
                ids[(step.records[0], step.records[1])] = new_id
        for key in step.bumps:
            versions[key] = versions.get(key, 0) + 1
        if step.creates_app and isinstance(answer, dict) and answer.get("client_secret"):
            result.secrets.append(NewSecret(
                name=str(answer.get("name")), client_id=str(answer.get("client_id")),
                secret_id=answer.get("secret_id"), client_secret=str(answer["client_secret"])))
        result.applied.append(step)
        if on_step is not None:
            on_step(step)
    return result


# --- rendering ----------------------------------------------------------------------------

SIGNS = {"create": "+", "update": "~", "delete": "-"}


def value_text(value: Any) -> str:
    if value is ABSENT:
        return "(none)"
    return json.dumps(value, ensure_ascii=False, sort_keys=True)


def describe(step: Step) -> str:
    return f"{SIGNS[step.action]} {step.action} {step.kind} {step.label}"


def plan_lines(plan: Plan) -> list[str]:
    """The plan as people read it: one line per step, then one per field (old -> new)."""
    counts = plan.counts()
    lines = [f"Plan: {counts['create']} to create, {counts['update']} to update, "
             f"{counts['delete']} to delete."]
    for step in plan.steps:
        lines.append(describe(step))
        for change in step.changes:
            if step.action == "create":
                lines.append(f"    {change.field}: {value_text(change.new)}")
            elif step.action == "delete":
                lines.append(f"    {change.field}: {value_text(change.old)} -> (none)")
            else:
                lines.append(f"    {change.field}: {value_text(change.old)} -> "
                             f"{value_text(change.new)}")
    return lines
