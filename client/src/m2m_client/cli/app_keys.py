"""`m2m apps keys add|list|remove`: an app's public keys for private_key_jwt (RFC 7523 §2.2).

The server never sees the private key: `add` sends a public JWK (RFC 7517) read from a
file and refuses, before any request, a file that holds private members.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from m2m_client.admin_http import admin_path
from m2m_client.cli import output
from m2m_client.cli.admin import show_list
from m2m_client.cli.common import (
    State,
    confirm,
    if_match_option,
    list_options,
    output_options,
    pass_state,
    yes_option,
)

PRIVATE_MEMBERS = frozenset({"d", "p", "q", "dp", "dq", "qi", "oth", "k"})
CLIENT_KEY_COLUMNS: list[output.Column] = [
    ("KID", output.field("kid")),
    ("ALG", output.field("alg")),
    ("KTY", lambda i: (i.get("jwk") or {}).get("kty", "")),
    ("CREATED", output.field("created_at")),
    ("VERSION", output.field("version")),
]


def read_public_jwk(path: Path, kid: str | None) -> dict[str, Any]:
    """The public JWK in `path` (a JWK, or a JWK Set holding exactly one key)."""
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise click.BadParameter(
            f"cannot read a JSON JWK: {exc}", param_hint="--jwk-file"
        ) from None
    if isinstance(document, dict) and isinstance(document.get("keys"), list):
        if len(document["keys"]) != 1:
            raise click.BadParameter("the JWK Set must hold exactly one key",
                                     param_hint="--jwk-file")
        document = document["keys"][0]
    if not isinstance(document, dict):
        raise click.BadParameter("the file must hold a JWK object", param_hint="--jwk-file")
    if PRIVATE_MEMBERS & set(document):
        raise click.BadParameter(
            "the file holds a PRIVATE key; export the public key only (keep the private "
            "key where the client runs)", param_hint="--jwk-file")
    if kid is not None:
        document = {**document, "kid": kid}
    return document


@click.group("keys")
def app_keys() -> None:
    """Public keys of an app for private_key_jwt (at most 5; rotate by adding first)."""


@app_keys.command("add")
@click.argument("client_id")
@click.option("--jwk-file", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              required=True, help="The public JWK (JSON), e.g. pub.json.")
@click.option("--kid", help="Key id to register it under (default: the JWK's kid).")
@output_options
@pass_state
def keys_add(state: State, client_id: str, jwk_file: Path, kid: str | None) -> None:
    """Register a public key the app signs its client assertions with."""
    jwk = read_public_jwk(jwk_file, kid)
    item = state.admin().post(admin_path("apps", client_id, "keys"), {"jwk": jwk})
    if state.structured:
        state.emit(item)
    else:
        output.details(item)


@app_keys.command("list")
@click.argument("client_id")
@list_options
@pass_state
def keys_list(
    state: State, client_id: str, limit: int | None, all_pages: bool, next_cursor: str | None
) -> None:
    """List the app's public keys, oldest first."""
    show_list(state, admin_path("apps", client_id, "keys"), CLIENT_KEY_COLUMNS, limit,
              all_pages, next_cursor)


@app_keys.command("remove")
@click.argument("client_id")
@click.argument("kid")
@if_match_option
@yes_option
@output_options
@pass_state
def keys_remove(state: State, client_id: str, kid: str, if_match: int | None, yes: bool) -> None:
    """Remove a public key: assertions signed with it are refused from then on."""
    confirm(f"Remove the key {kid} of app {client_id}?", yes)
    state.admin().delete(admin_path("apps", client_id, "keys", kid), if_match=if_match)
    if not state.structured:
        click.echo(f"removed key {kid} of app {client_id}")
