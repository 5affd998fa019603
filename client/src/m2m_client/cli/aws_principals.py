"""`m2m apps aws-principal add|list|remove`: the IAM roles and users an app authenticates
as with a signed sts:GetCallerIdentity (docs/aws-iam-auth.md)."""

from __future__ import annotations

from typing import Any

import click

from m2m_client.admin_http import admin_path
from m2m_client.cli import output
from m2m_client.cli.admin import show_list
from m2m_client.cli.common import (
    Failure,
    State,
    confirm,
    if_match_option,
    list_options,
    output_options,
    pass_state,
    yes_option,
)

COLUMNS: list[output.Column] = [
    ("ID", output.field("id")),
    ("ARN", output.field("arn")),
    ("CREATED", output.field("created_at")),
]


def _path(client_id: str, *rest: str) -> str:
    return admin_path("apps", client_id, "aws-principals", *rest)


def _show(state: State, item: Any) -> None:
    if state.structured:
        state.emit(item)
    else:
        output.details(item)


@click.group("aws-principal")
def aws_principal() -> None:
    """IAM roles and users that authenticate as an app, with no secret."""


@aws_principal.command("add")
@click.argument("client_id")
@click.argument("arn")
@if_match_option
@output_options
@pass_state
def add(state: State, client_id: str, arn: str, if_match: int | None) -> None:
    """Let the IAM role or user ARN authenticate as the app (`m2m_client.AwsIam`)."""
    created = state.admin().request("POST", _path(client_id), {"arn": arn}, if_match=if_match)
    _show(state, created)


@aws_principal.command("list")
@click.argument("client_id")
@list_options
@pass_state
def list_(
    state: State, client_id: str, limit: int | None, all_pages: bool, next_cursor: str | None
) -> None:
    """List the IAM roles and users that authenticate as the app."""
    show_list(state, _path(client_id), COLUMNS, limit, all_pages, next_cursor)


@aws_principal.command("remove")
@click.argument("client_id")
@click.argument("principal", metavar="ARN_OR_ID")
@if_match_option
@yes_option
@output_options
@pass_state
def remove(
    state: State, client_id: str, principal: str, if_match: int | None, yes: bool
) -> None:
    """Stop an IAM role or user (its ARN, or the id `add` printed) authenticating as the app."""
    principal_id = principal
    if not principal.startswith("awsp_"):
        items = [i for page in state.admin().pages(_path(client_id)) for i in page["items"]]
        matches = [i["id"] for i in items if principal in (i.get("arn"), i.get("principal"))]
        if not matches:
            raise Failure(f"app {client_id} lists no AWS principal {principal}")
        principal_id = matches[0]
    confirm(f"Stop {principal} authenticating as app {client_id}?", yes)
    state.admin().delete(_path(client_id, principal_id), if_match=if_match)
    if not state.structured:
        click.echo(f"removed AWS principal {principal_id} from app {client_id}")
