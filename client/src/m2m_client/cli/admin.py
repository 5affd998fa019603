"""`m2m apis|apps|grants|secrets|keys|audit`: the admin API (docs/admin-contract.md)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import click

from m2m_client.admin_http import admin_path
from m2m_client.cli import output
from m2m_client.cli.common import (
    State,
    confirm,
    if_match_option,
    list_options,
    output_options,
    parse_json_object,
    pass_state,
    secret_warning,
    yes_option,
)

# --- helpers ----------------------------------------------------------------------------


def show(state: State, item: Any) -> None:
    if state.structured:
        state.emit(item)
    else:
        output.details(item)


def show_list(
    state: State,
    path: str,
    columns: Sequence[output.Column],
    limit: int | None,
    all_pages: bool,
    next_cursor: str | None,
) -> None:
    client = state.admin()
    if all_pages:
        items = [i for page in client.pages(path, limit=limit, next_cursor=next_cursor)
                 for i in page["items"]]
        page: dict[str, Any] = {"items": items, "next": None}
    else:
        page = client.get(path, {"limit": limit, "next": next_cursor})
    if state.structured:
        state.emit(page)
        return
    output.table(page.get("items") or [], columns)
    if page.get("next"):
        click.echo(f"more: --next {page['next']} (or --all)", err=True)


def done(state: State, message: str) -> None:
    """Report a 204: nothing on stdout with --json, a line for humans."""
    if not state.structured:
        click.echo(message)


def scope_definitions(values: Sequence[str]) -> list[dict[str, str]]:
    """`value=description` (or just `value`) per --scope."""
    scopes = []
    for value in values:
        scope, sep, description = value.partition("=")
        if not scope:
            raise click.BadParameter(f"{value!r} names no scope", param_hint="--scope")
        scopes.append({"value": scope, "description": description} if sep else {"value": scope})
    return scopes


def require_changes(changes: dict[str, Any]) -> dict[str, Any]:
    if not changes:
        raise click.UsageError("nothing to update: give at least one field option")
    return changes


scope_option = click.option(
    "--scope", "--scopes", "scopes", multiple=True, metavar="VALUE[=DESCRIPTION]",
    help="A scope of the API, e.g. 'orders:read=Read orders' (repeat for each scope).",
)
lifetime_option = click.option(
    "--token-lifetime", type=click.IntRange(min=1), metavar="SECONDS",
    help="Lifetime of the tokens it gets, in seconds.",
)

dpop_option = click.option(
    "--dpop/--no-dpop", "dpop", default=None,
    help="--dpop: the app must send a DPoP proof with every token request "
         "(dpop_bound_access_tokens, RFC 9449 §5.2); --no-dpop: it may send none.",
)
CERTIFICATE_BOUND = "tls_client_certificate_bound_access_tokens"
certificate_bound_option = click.option(
    "--certificate-bound/--no-certificate-bound", "certificate_bound", default=None,
    help="--certificate-bound: the app must present its TLS client certificate with "
         "every token request (tls_client_certificate_bound_access_tokens, RFC 8705 "
         "§3.4; docs/mtls.md); --no-certificate-bound: it may present none.",
)
sender_constrained_option = click.option(
    "--require-sender-constrained/--allow-bearer", "sender_constrained", default=None,
    help="--require-sender-constrained: tokens for this API must be bound to a key (a DPoP "
         "proof or a client certificate); --allow-bearer: bearer tokens too.",
)


def flag_body(name: str, value: bool | None) -> dict[str, Any]:
    """A boolean field of a request body, when its option was given."""
    return {} if value is None else {name: value}


def reuse_options(command: Any) -> Any:
    command = click.option("--no-token-reuse", is_flag=True,
                           help="Sign a new token for every request.")(command)
    return click.option(
        "--token-reuse", type=click.FloatRange(0, 1, min_open=True, max_open=True),
        metavar="FRACTION",
        help="Hand out an issued token again while this fraction of its lifetime is left "
             "(default 0.5).",
    )(command)


def reuse_body(token_reuse: float | None, no_token_reuse: bool) -> dict[str, Any]:
    if no_token_reuse and token_reuse is not None:
        raise click.UsageError("--token-reuse and --no-token-reuse exclude each other")
    if no_token_reuse:
        return {"token_reuse": None}
    return {} if token_reuse is None else {"token_reuse": token_reuse}


# --- apis -------------------------------------------------------------------------------


@click.group()
def apis() -> None:
    """APIs (resource servers): identifier (the audience), scopes, token lifetime."""


@apis.command("create")
@click.option("--name", required=True, help="Display name.")
@click.option("--identifier", required=True, help="The audience clients ask for (a URI).")
@scope_option
@lifetime_option
@reuse_options
@sender_constrained_option
@output_options
@pass_state
def apis_create(
    state: State, name: str, identifier: str, scopes: tuple[str, ...],
    token_lifetime: int | None, token_reuse: float | None, no_token_reuse: bool,
    sender_constrained: bool | None,
) -> None:
    """Register an API."""
    body: dict[str, Any] = {"name": name, "identifier": identifier,
                            **reuse_body(token_reuse, no_token_reuse),
                            **flag_body("sender_constrained_tokens_required",
                                        sender_constrained)}
    if scopes:
        body["scopes"] = scope_definitions(scopes)
    if token_lifetime is not None:
        body["token_lifetime"] = token_lifetime
    show(state, state.admin().post(admin_path("apis"), body))


@apis.command("list")
@list_options
@pass_state
def apis_list(state: State, limit: int | None, all_pages: bool, next_cursor: str | None) -> None:
    """List APIs."""
    show_list(state, admin_path("apis"), output.API_COLUMNS, limit, all_pages, next_cursor)


@apis.command("get")
@click.argument("api_id")
@output_options
@pass_state
def apis_get(state: State, api_id: str) -> None:
    """Show one API."""
    show(state, state.admin().get(admin_path("apis", api_id)))


@apis.command("apps")
@click.argument("api_id")
@list_options
@pass_state
def apis_apps(
    state: State, api_id: str, limit: int | None, all_pages: bool, next_cursor: str | None
) -> None:
    """List the apps authorized for an API, with their scopes (its grants)."""
    path = admin_path("apis", api_id, "grants")
    show_list(state, path, output.API_GRANT_COLUMNS, limit, all_pages, next_cursor)


@apis.command("update")
@click.argument("api_id")
@click.option("--name", help="New display name.")
@scope_option
@click.option("--clear-scopes", is_flag=True, help="Remove every scope.")
@lifetime_option
@reuse_options
@sender_constrained_option
@if_match_option
@output_options
@pass_state
def apis_update(
    state: State,
    api_id: str,
    name: str | None,
    scopes: tuple[str, ...],
    clear_scopes: bool,
    token_lifetime: int | None,
    token_reuse: float | None,
    no_token_reuse: bool,
    sender_constrained: bool | None,
    if_match: int | None,
) -> None:
    """Change an API; --scope replaces the whole list (the identifier never changes)."""
    if scopes and clear_scopes:
        raise click.UsageError("--scope and --clear-scopes exclude each other")
    changes: dict[str, Any] = {
        **reuse_body(token_reuse, no_token_reuse),
        **flag_body("sender_constrained_tokens_required", sender_constrained),
    }
    if name is not None:
        changes["name"] = name
    if scopes or clear_scopes:
        changes["scopes"] = scope_definitions(scopes)
    if token_lifetime is not None:
        changes["token_lifetime"] = token_lifetime
    item = state.admin().patch(admin_path("apis", api_id), require_changes(changes),
                               if_match=if_match)
    show(state, item)


@apis.command("delete")
@click.argument("api_id")
@if_match_option
@yes_option
@output_options
@pass_state
def apis_delete(state: State, api_id: str, if_match: int | None, yes: bool) -> None:
    """Delete an API."""
    confirm(f"Delete the API {api_id}?", yes)
    state.admin().delete(admin_path("apis", api_id), if_match=if_match)
    done(state, f"deleted API {api_id}")


# --- apps -------------------------------------------------------------------------------


@click.group()
def apps() -> None:
    """Apps (clients): credentials, claims, permissions, blocking, token revocation."""


def _app_fields(
    description: str | None,
    claims: str | None,
    token_lifetime: int | None,
    permissions: tuple[str, ...],
) -> dict[str, Any]:
    body: dict[str, Any] = {}
    if description is not None:
        body["description"] = description
    if claims is not None:
        body["claims"] = parse_json_object(claims, "--claims")
    if token_lifetime is not None:
        body["token_lifetime"] = token_lifetime
    if permissions:
        body["permissions"] = list(permissions)
    return body


description_option = click.option("--description", help="What the app is.")
claims_option = click.option(
    "--claims", metavar="JSON", help="Extra claims in its tokens, a JSON object."
)
permission_option = click.option(
    "--permission", "permissions", multiple=True, metavar="NAME",
    help="A permission, e.g. 'introspect' (repeat for each).",
)


def quota_options(command: Any) -> Any:
    """--quota-per-hour/--quota-per-day [--quota-monitor] set the whole quota; --no-quota
    removes it (on create: no quota even if the stage has a default)."""
    for option in reversed([
        click.option("--quota-per-hour", type=click.IntRange(min=1), metavar="N",
                     help="At most N freshly signed tokens per UTC hour (reused ones are free)."),
        click.option("--quota-per-day", type=click.IntRange(min=1), metavar="N",
                     help="At most N freshly signed tokens per UTC day."),
        click.option("--quota-monitor", is_flag=True,
                     help="Do not refuse over the quota, only log a warning (monitor mode)."),
        click.option("--no-quota", is_flag=True, help="No quota."),
    ]):
        command = option(command)
    return command


def quota_body(
    per_hour: int | None, per_day: int | None, monitor: bool, no_quota: bool
) -> dict[str, Any]:
    """The ``quota`` member of a create/update body, or nothing."""
    if no_quota:
        if per_hour is not None or per_day is not None or monitor:
            raise click.UsageError("--no-quota excludes the other --quota options")
        return {"quota": None}
    if per_hour is None and per_day is None:
        if monitor:
            raise click.UsageError("--quota-monitor needs --quota-per-hour or --quota-per-day")
        return {}
    quota: dict[str, Any] = {"enforce": not monitor}
    if per_hour is not None:
        quota["per_hour"] = per_hour
    if per_day is not None:
        quota["per_day"] = per_day
    return {"quota": quota}


@apps.command("create")
@click.option("--name", required=True, help="Display name.")
@description_option
@claims_option
@lifetime_option
@permission_option
@quota_options
@dpop_option
@click.option("--secret/--no-secret", "with_secret", default=True, show_default=True,
              help="--no-secret: no client secret; the app authenticates with a key "
                   "(m2m apps keys add) or another assertion method.")
@certificate_bound_option
@output_options
@pass_state
def apps_create(
    state: State,
    name: str,
    description: str | None,
    claims: str | None,
    token_lifetime: int | None,
    permissions: tuple[str, ...],
    quota_per_hour: int | None,
    quota_per_day: int | None,
    quota_monitor: bool,
    no_quota: bool,
    dpop: bool | None,
    with_secret: bool,
    certificate_bound: bool | None,
) -> None:
    """Register an app; prints its client secret, once (none with --no-secret)."""
    body = {"name": name, **_app_fields(description, claims, token_lifetime, permissions),
            **quota_body(quota_per_hour, quota_per_day, quota_monitor, no_quota),
            **flag_body("dpop_bound_access_tokens", dpop),
            **flag_body(CERTIFICATE_BOUND, certificate_bound)}
    if not with_secret:
        body["secret"] = False
    item = state.admin().post(admin_path("apps"), body)
    show(state, item)
    if with_secret:
        secret_warning()


@apps.command("list")
@list_options
@pass_state
def apps_list(state: State, limit: int | None, all_pages: bool, next_cursor: str | None) -> None:
    """List apps."""
    show_list(state, admin_path("apps"), output.APP_COLUMNS, limit, all_pages, next_cursor)


@apps.command("get")
@click.argument("client_id")
@output_options
@pass_state
def apps_get(state: State, client_id: str) -> None:
    """Show one app and its secrets' metadata (never the secrets)."""
    show(state, state.admin().get(admin_path("apps", client_id)))


@apps.command("update")
@click.argument("client_id")
@click.option("--name", help="New display name.")
@description_option
@claims_option
@lifetime_option
@permission_option
@click.option("--clear-permissions", is_flag=True, help="Remove every permission.")
@quota_options
@dpop_option
@certificate_bound_option
@if_match_option
@output_options
@pass_state
def apps_update(
    state: State,
    client_id: str,
    name: str | None,
    description: str | None,
    claims: str | None,
    token_lifetime: int | None,
    permissions: tuple[str, ...],
    clear_permissions: bool,
    quota_per_hour: int | None,
    quota_per_day: int | None,
    quota_monitor: bool,
    no_quota: bool,
    dpop: bool | None,
    certificate_bound: bool | None,
    if_match: int | None,
) -> None:
    """Change an app; --claims, --permission and the --quota options replace the current
    values."""
    if permissions and clear_permissions:
        raise click.UsageError("--permission and --clear-permissions exclude each other")
    changes = {**_app_fields(description, claims, token_lifetime, permissions),
               **quota_body(quota_per_hour, quota_per_day, quota_monitor, no_quota),
               **flag_body("dpop_bound_access_tokens", dpop),
               **flag_body(CERTIFICATE_BOUND, certificate_bound)}
    if name is not None:
        changes["name"] = name
    if clear_permissions:
        changes["permissions"] = []
    item = state.admin().patch(admin_path("apps", client_id), require_changes(changes),
                               if_match=if_match)
    show(state, item)


@apps.command("delete")
@click.argument("client_id")
@if_match_option
@yes_option
@output_options
@pass_state
def apps_delete(state: State, client_id: str, if_match: int | None, yes: bool) -> None:
    """Delete an app, its secrets and grants."""
    confirm(f"Delete the app {client_id}?", yes)
    state.admin().delete(admin_path("apps", client_id), if_match=if_match)
    done(state, f"deleted app {client_id}")


def _set_enabled(state: State, client_id: str, enabled: bool, if_match: int | None) -> None:
    item = state.admin().patch(admin_path("apps", client_id), {"enabled": enabled},
                               if_match=if_match)
    show(state, item)


@apps.command("block")
@click.argument("client_id")
@if_match_option
@output_options
@pass_state
def apps_block(state: State, client_id: str, if_match: int | None) -> None:
    """Block an app: it gets no more tokens (invalid_client)."""
    _set_enabled(state, client_id, False, if_match)


@apps.command("unblock")
@click.argument("client_id")
@if_match_option
@output_options
@pass_state
def apps_unblock(state: State, client_id: str, if_match: int | None) -> None:
    """Unblock an app."""
    _set_enabled(state, client_id, True, if_match)


@apps.command("revoke-tokens")
@click.argument("client_id")
@output_options
@pass_state
def apps_revoke_tokens(state: State, client_id: str) -> None:
    """Revoke every token the app holds now (introspection reports them inactive)."""
    show(state, state.admin().post(admin_path("apps", client_id, "revoke-tokens")))


@apps.command("usage")
@click.argument("client_id")
@output_options
@pass_state
def apps_usage(state: State, client_id: str) -> None:
    """Freshly signed tokens per UTC day (last 30) and hour (last 48); reused tokens are
    free and not counted."""
    usage = state.admin().get(admin_path("apps", client_id, "usage"))
    if state.structured:
        state.emit(usage)
        return
    click.echo(f"quota: {output.quota_text(usage.get('quota'))}")
    click.echo("")
    output.table(usage.get("daily") or [], output.USAGE_DAY_COLUMNS)
    click.echo("")
    output.table(usage.get("hourly") or [], output.USAGE_HOUR_COLUMNS)


# --- grants -----------------------------------------------------------------------------


@click.group()
def grants() -> None:
    """Grants: which scopes of which API an app may get."""


@grants.command("set")
@click.argument("client_id")
@click.argument("api_id")
@click.option("--scope", "--scopes", "scopes", multiple=True, required=True, metavar="SCOPE",
              help="A granted scope of the API (repeat for each).")
@if_match_option
@output_options
@pass_state
def grants_set(
    state: State, client_id: str, api_id: str, scopes: tuple[str, ...], if_match: int | None
) -> None:
    """Grant an app these scopes of an API (replaces an existing grant)."""
    path = admin_path("apps", client_id, "grants", api_id)
    show(state, state.admin().put(path, {"scopes": list(scopes)}, if_match=if_match))


@grants.command("list")
@click.argument("client_id")
@list_options
@pass_state
def grants_list(
    state: State, client_id: str, limit: int | None, all_pages: bool, next_cursor: str | None
) -> None:
    """List an app's grants."""
    path = admin_path("apps", client_id, "grants")
    show_list(state, path, output.GRANT_COLUMNS, limit, all_pages, next_cursor)


@grants.command("remove")
@click.argument("client_id")
@click.argument("api_id")
@if_match_option
@yes_option
@output_options
@pass_state
def grants_remove(
    state: State, client_id: str, api_id: str, if_match: int | None, yes: bool
) -> None:
    """Remove an app's grant to an API."""
    confirm(f"Remove the grant of API {api_id} to app {client_id}?", yes)
    state.admin().delete(admin_path("apps", client_id, "grants", api_id), if_match=if_match)
    done(state, f"removed the grant of API {api_id} to app {client_id}")


# --- secrets ----------------------------------------------------------------------------


@click.group()
def secrets() -> None:
    """Client secrets: add one (at most 3 active) and revoke old ones to rotate."""


@secrets.command("create")
@click.argument("client_id")
@click.option("--expires-in", type=click.IntRange(60, 315_360_000), metavar="SECONDS",
              help="Let the secret expire after this many seconds.")
@output_options
@pass_state
def secrets_create(state: State, client_id: str, expires_in: int | None) -> None:
    """Add a client secret; prints it, once."""
    body = {"expires_in": expires_in} if expires_in is not None else {}
    show(state, state.admin().post(admin_path("apps", client_id, "secrets"), body))
    secret_warning()


@secrets.command("revoke")
@click.argument("client_id")
@click.argument("secret_id")
@yes_option
@output_options
@pass_state
def secrets_revoke(state: State, client_id: str, secret_id: str, yes: bool) -> None:
    """Revoke a client secret at once."""
    confirm(f"Revoke the secret {secret_id} of app {client_id}?", yes)
    state.admin().delete(admin_path("apps", client_id, "secrets", secret_id))
    done(state, f"revoked secret {secret_id}")


# --- keys -------------------------------------------------------------------------------


@click.group()
def keys() -> None:
    """Signing keys: next -> current -> previous -> retired."""


@keys.command("list")
@list_options
@pass_state
def keys_list(state: State, limit: int | None, all_pages: bool, next_cursor: str | None) -> None:
    """List signing keys (next first)."""
    show_list(state, admin_path("keys"), output.KEY_COLUMNS, limit, all_pages, next_cursor)


@keys.command("add")
@click.argument("kms_key_id")
@click.option("--alg", type=click.Choice(["RS256", "ES256"]), default="RS256", show_default=True)
@output_options
@pass_state
def keys_add(state: State, kms_key_id: str, alg: str) -> None:
    """Register a KMS key (ARN, id or alias) as the next key: published, not signing yet."""
    show(state, state.admin().post(admin_path("keys"), {"kms_key_id": kms_key_id, "alg": alg}))


@keys.command("rotate")
@output_options
@pass_state
def keys_rotate(state: State) -> None:
    """Promote the next key: next -> current -> previous -> retired."""
    result = state.admin().post(admin_path("keys", "rotate"))
    if state.structured:
        state.emit(result)
    else:
        output.table(result.get("items") or [], output.KEY_COLUMNS)


# --- audit ------------------------------------------------------------------------------


@click.command()
@list_options
@pass_state
def audit(state: State, limit: int | None, all_pages: bool, next_cursor: str | None) -> None:
    """The audit log, newest first."""
    show_list(state, admin_path("audit"), output.AUDIT_COLUMNS, limit, all_pages, next_cursor)
