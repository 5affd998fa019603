"""`m2m exchange-policies set|list|remove`: which tokens an app may exchange for tokens of
another API (RFC 8693 token exchange; m2m-auth docs/token-exchange.md)."""

from __future__ import annotations

from typing import Any

import click

from m2m_client.admin_http import admin_path
from m2m_client.cli import output
from m2m_client.cli.admin import done, show, show_list
from m2m_client.cli.common import (
    State,
    confirm,
    if_match_option,
    list_options,
    output_options,
    pass_state,
    yes_option,
)

POLICY_COLUMNS: list[output.Column] = [
    ("TARGET_API", output.field("target_api_id")),
    ("TARGET", output.field("target_audience")),
    ("SCOPES", lambda p: " ".join(p["scopes"])),
    ("SOURCES", lambda p: " ".join([*p["source_audiences"], *p["source_issuers"]])),
    ("MODE", lambda p: "+".join(m for m in ("delegation", "impersonation") if p[m])),
    ("MAX_ACT_DEPTH", output.field("max_act_depth")),
]


@click.group("exchange-policies")
def exchange_policies() -> None:
    """Token exchange: which tokens an app (the caller) may exchange for another API."""


@exchange_policies.command("set")
@click.argument("client_id")
@click.argument("target_api_id")
@click.option("--source-api", "source_apis", multiple=True, metavar="API_ID",
              help="Access tokens of this API may be exchanged (repeat for each).")
@click.option("--source-issuer", "source_issuers", multiple=True, metavar="ISSUER",
              help="Workload JWTs of this trusted issuer may be exchanged (repeat for each).")
@click.option("--scope", "--scopes", "scopes", multiple=True, required=True, metavar="SCOPE",
              help="A scope of the target API the exchanged token may carry (repeat).")
@click.option("--delegation/--no-delegation", default=True, show_default=True,
              help="The exchanged token names the caller in an act claim.")
@click.option("--impersonation/--no-impersonation", default=False, show_default=True,
              help="Without actor_token, the exchanged token carries no new act claim.")
@click.option("--max-act-depth", type=click.IntRange(1, 5), default=1, show_default=True,
              help="The longest act chain an exchanged token may carry.")
@if_match_option
@output_options
@pass_state
def exchange_policies_set(
    state: State, client_id: str, target_api_id: str, source_apis: tuple[str, ...],
    source_issuers: tuple[str, ...], scopes: tuple[str, ...], delegation: bool,
    impersonation: bool, max_act_depth: int, if_match: int | None,
) -> None:
    """Let the app exchange tokens for tokens of TARGET_API_ID (replaces its policy)."""
    body: dict[str, Any] = {
        "source_apis": list(source_apis), "source_issuers": list(source_issuers),
        "scopes": list(scopes), "delegation": delegation, "impersonation": impersonation,
        "max_act_depth": max_act_depth,
    }
    path = admin_path("apps", client_id, "exchange-policies", target_api_id)
    show(state, state.admin().put(path, body, if_match=if_match))


@exchange_policies.command("list")
@click.argument("client_id")
@list_options
@pass_state
def exchange_policies_list(state: State, client_id: str, limit: int | None, all_pages: bool,
                           next_cursor: str | None) -> None:
    """List an app's exchange policies."""
    path = admin_path("apps", client_id, "exchange-policies")
    show_list(state, path, POLICY_COLUMNS, limit, all_pages, next_cursor)


@exchange_policies.command("remove")
@click.argument("client_id")
@click.argument("target_api_id")
@if_match_option
@yes_option
@output_options
@pass_state
def exchange_policies_remove(state: State, client_id: str, target_api_id: str,
                             if_match: int | None, yes: bool) -> None:
    """Stop the app exchanging tokens for TARGET_API_ID (at once)."""
    confirm(f"Remove the exchange policy of app {client_id} for API {target_api_id}?", yes)
    path = admin_path("apps", client_id, "exchange-policies", target_api_id)
    state.admin().delete(path, if_match=if_match)
    done(state, f"removed the exchange policy of app {client_id} for API {target_api_id}")
