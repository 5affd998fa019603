"""`m2m export` and `m2m apply -f m2m.yaml`: declarative configuration (docs/declarative.md).

Exit codes: 0 applied (or nothing to change), 1 a request failed (what was and was not
applied is listed), 2 the file is invalid, cannot be applied, or nobody confirmed.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import IO, Any

import click

from m2m_client.cli.common import (
    EXIT_API,
    EXIT_USAGE,
    Failure,
    State,
    confirm,
    failure_from,
    pass_state,
)
from m2m_client.declarative import (
    ApplyFailed,
    DocumentError,
    NewSecret,
    PlanError,
    dump_yaml,
    execute,
    export_document,
    make_plan,
    parse_document,
    plan_lines,
    read_state,
)
from m2m_client.declarative.apply import describe


@click.command("export")
@click.option("--no-ids", is_flag=True,
              help="Leave out client ids (a file to apply to another stage; apps are then "
                   "matched by name).")
@pass_state
def export(state: State, no_ids: bool) -> None:
    """Write the current APIs, apps, grants and issuers as YAML (never a secret)."""
    current = read_state(state.admin())
    click.echo(dump_yaml(export_document(current, with_ids=not no_ids)), nl=False)


def _read(source: str) -> str:
    try:
        if source == "-":
            return sys.stdin.read()
        return Path(source).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise Failure(f"cannot read {source}: {exc}", EXIT_USAGE) from None


def _open_secrets_out(path: Path) -> IO[str]:
    """A new file, mode 0600; refused if anything exists at the path (never overwritten)."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        raise Failure(f"{path} exists: --secrets-out writes only a new file", EXIT_USAGE) from None
    except OSError as exc:
        raise Failure(f"cannot create {path}: {exc}", EXIT_USAGE) from None
    return os.fdopen(fd, "w", encoding="utf-8")


def _hand_over(secrets: list[NewSecret], out: IO[str] | None, out_path: Path | None) -> None:
    if out is not None:
        with out:
            out.write(dump_yaml({"apps": [
                {"name": s.name, "client_id": s.client_id, "secret_id": s.secret_id,
                 "client_secret": s.client_secret} for s in secrets]}))
        if secrets:
            click.echo(f"wrote the client secrets of {len(secrets)} new app(s) to {out_path} "
                       "(mode 0600)", err=True)
        return
    for s in secrets:
        click.echo(f"client secret of new app {s.name} ({s.client_id}): {s.client_secret}")
    if secrets:
        click.echo("warning: store the client secrets now; they are shown only once and "
                   "cannot be retrieved again.", err=True)


@click.command("apply")
@click.option("-f", "--file", "source", required=True, metavar="FILE",
              help="The declarative file (m2m.yaml), or - for stdin.")
@click.option("--prune", is_flag=True,
              help="Also delete what the file does not name (APIs, apps, issuers, and an "
                   "app's grants, keys, AWS principals and federated identities).")
@click.option("--yes", "-y", is_flag=True, help="Apply without asking (CI).")
@click.option("--dry-run", is_flag=True, help="Print the plan and stop.")
@click.option("--secrets-out", type=click.Path(dir_okay=False, path_type=Path), metavar="FILE",
              help="Write new apps' client secrets to this new file (mode 0600) instead of "
                   "printing them.")
@pass_state
def apply(state: State, source: str, prune: bool, yes: bool, dry_run: bool,
          secrets_out: Path | None) -> None:
    """Show the plan that makes the server match FILE, and apply it after confirmation."""
    try:
        desired = parse_document(_read(source))
    except DocumentError as exc:
        raise Failure(f"{source} is not a valid m2m file", EXIT_USAGE, exc.errors) from None
    if secrets_out is not None and secrets_out.exists():
        raise Failure(f"{secrets_out} exists: --secrets-out writes only a new file", EXIT_USAGE)
    client = state.admin()
    try:
        plan = make_plan(desired, read_state(client), prune=prune)
    except PlanError as exc:
        raise Failure(f"{source} cannot be applied to {client.endpoint}", EXIT_USAGE,
                      exc.errors) from None
    if plan.empty:
        click.echo(f"No changes: {client.endpoint} already matches {source}.")
        return
    for line in plan_lines(plan):
        click.echo(line)
    if dry_run:
        return
    confirm(f"Apply these {len(plan.steps)} changes to {client.endpoint}?", yes)
    out = _open_secrets_out(secrets_out) if secrets_out is not None else None
    try:
        result = execute(plan, client, on_step=lambda s: click.echo(f"done: {describe(s)}"))
    except ApplyFailed as exc:
        _hand_over(exc.result.secrets, out, secrets_out)
        raise Failure(
            f"stopped: {describe(exc.failed)}: {_cause(exc.cause)}", EXIT_API,
            [f"applied ({len(exc.result.applied)}):"]
            + [f"  {describe(s)}" for s in exc.result.applied]
            + [f"not applied ({1 + len(exc.pending)}):", f"  {describe(exc.failed)}  <- "
               + ("no answer: check whether it was applied" if exc.outcome_unknown
                  else "failed")]
            + [f"  {describe(s)}" for s in exc.pending],
        ) from None
    _hand_over(result.secrets, out, secrets_out)
    click.echo(f"Applied {len(result.applied)} changes.")


def _cause(exc: BaseException) -> str:
    if not isinstance(exc, Exception):
        return "interrupted"
    failure: Any = failure_from(exc)
    return " ".join([failure.format_message(), *failure.lines])
