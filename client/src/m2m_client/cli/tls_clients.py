"""`m2m apps tls-clients add|list|remove`: the certificates an app authenticates with
over mutual TLS (RFC 8705 §2; docs/mtls.md): one expected subject name for
`tls_client_auth`, or certificates (thumbprints, a PEM file, a JWKS with `x5c`) for
`self_signed_tls_client_auth`."""

from __future__ import annotations

import json
from collections.abc import Mapping
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

SUBJECT_OPTIONS = {
    "subject_dn": "tls_client_auth_subject_dn",
    "san_dns": "tls_client_auth_san_dns",
    "san_uri": "tls_client_auth_san_uri",
    "san_ip": "tls_client_auth_san_ip",
    "san_email": "tls_client_auth_san_email",
}


def _rule(item: Mapping[str, Any]) -> str:
    for field in (*SUBJECT_OPTIONS.values(), "x5t#S256"):
        if field in item:
            value = item[field]
            return f"{field}={' '.join(value) if isinstance(value, list) else value}"
    return ""


COLUMNS: list[output.Column] = [
    ("ID", output.field("id")),
    ("METHOD", output.field("method")),
    ("MATCHES", _rule),
    ("EXPIRES", output.field("expires_at")),
    ("CREATED", output.field("created_at")),
]


def _path(client_id: str, *rest: str) -> str:
    return admin_path("apps", client_id, "tls-clients", *rest)


def _read(path: Path, what: str) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise click.BadParameter(f"cannot read the {what}: {exc}") from None


@click.group("tls-clients")
def tls_clients() -> None:
    """Certificates that authenticate as an app over mutual TLS (RFC 8705)."""


@tls_clients.command("add")
@click.argument("client_id")
@click.option("--subject-dn", metavar="DN", help="tls_client_auth: the expected subject DN "
              "(RFC 4514, e.g. 'CN=orders-worker,O=Example Corp,C=DE').")
@click.option("--san-dns", metavar="NAME", help="tls_client_auth: an expected DNS name SAN.")
@click.option("--san-uri", metavar="URI", help="tls_client_auth: an expected URI SAN.")
@click.option("--san-ip", metavar="ADDRESS", help="tls_client_auth: an expected IP SAN.")
@click.option("--san-email", metavar="ADDRESS", help="tls_client_auth: an expected e-mail SAN.")
@click.option("--certificate", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="self_signed_tls_client_auth: a PEM certificate file (stored as its "
                   "thumbprint; the private key never leaves the client).")
@click.option("--thumbprint", "thumbprints", multiple=True, metavar="X5T#S256",
              help="self_signed_tls_client_auth: a certificate's SHA-256 thumbprint (repeat).")
@click.option("--jwks", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="self_signed_tls_client_auth: a JWK Set file whose keys carry x5c.")
@if_match_option
@output_options
@pass_state
def add(state: State, client_id: str, subject_dn: str | None, san_dns: str | None,
        san_uri: str | None, san_ip: str | None, san_email: str | None,
        certificate: Path | None, thumbprints: tuple[str, ...], jwks: Path | None,
        if_match: int | None) -> None:
    """Let a client certificate authenticate as the app: exactly one rule."""
    names = {"subject_dn": subject_dn, "san_dns": san_dns, "san_uri": san_uri,
             "san_ip": san_ip, "san_email": san_email}
    body: dict[str, Any] = {SUBJECT_OPTIONS[k]: v for k, v in names.items() if v is not None}
    if certificate is not None:
        body["certificate"] = _read(certificate, "certificate")
    if thumbprints:
        body["x5t#S256"] = list(thumbprints)
    if jwks is not None:
        try:
            body["jwks"] = json.loads(_read(jwks, "JWK Set"))
        except ValueError as exc:
            raise click.BadParameter(f"the JWK Set is not JSON: {exc}") from None
    if len(body) != 1:
        raise click.UsageError("give exactly one of --subject-dn, --san-dns, --san-uri, "
                               "--san-ip, --san-email, --certificate, --thumbprint, --jwks")
    created = state.admin().request("POST", _path(client_id), body, if_match=if_match)
    if state.structured:
        state.emit(created)
    else:
        output.details(created)


@tls_clients.command("list")
@click.argument("client_id")
@list_options
@pass_state
def list_(state: State, client_id: str, limit: int | None, all_pages: bool,
          next_cursor: str | None) -> None:
    """List the certificate rules of the app."""
    show_list(state, _path(client_id), COLUMNS, limit, all_pages, next_cursor)


@tls_clients.command("remove")
@click.argument("client_id")
@click.argument("credential_id", metavar="ID")
@if_match_option
@yes_option
@output_options
@pass_state
def remove(state: State, client_id: str, credential_id: str, if_match: int | None,
           yes: bool) -> None:
    """Stop a certificate rule (the id `add` or `list` printed) authenticating as the app."""
    confirm(f"Stop {credential_id} authenticating as app {client_id}?", yes)
    state.admin().delete(_path(client_id, credential_id), if_match=if_match)
    if not state.structured:
        click.echo(f"removed TLS client certificate rule {credential_id} from app {client_id}")
