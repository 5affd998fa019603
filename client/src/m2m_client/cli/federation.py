"""`m2m issuers ...` and `m2m apps federate|federated-identities|unfederate`: federated
workload identity (m2m-auth docs/federation.md)."""

from __future__ import annotations

from typing import Any

import click

from m2m_client.admin_http import admin_path
from m2m_client.cli import output
from m2m_client.cli.admin import apps, done, show, show_list
from m2m_client.cli.common import (
    State,
    confirm,
    if_match_option,
    list_options,
    output_options,
    pass_state,
    yes_option,
)

PRESETS = ("oidc", "aws-outbound", "kubernetes", "eks", "github-actions", "spiffe")
ISSUER_COLUMNS: list[output.Column] = [
    ("ID", output.field("id")),
    ("KIND", output.field("kind")),
    ("ISSUER", output.field("issuer")),
    ("SINGLE_USE_JTI", output.field("single_use_jti")),
    ("MAX_LIFETIME", output.field("max_token_lifetime")),
    ("NAME", output.field("name")),
]
KEY_SET_COLUMNS: list[output.Column] = [
    ("KID", output.field("kid")),
    ("KTY", output.field("kty")),
    ("ALG", output.field("alg")),
    ("USE", output.field("use")),
]
IDENTITY_COLUMNS: list[output.Column] = [
    ("ID", output.field("id")),
    ("ISSUER", output.field("issuer")),
    ("SUBJECT", lambda i: i.get("subject") or f"pattern {i.get('subject_pattern')}"),
    ("REQUIRED_CLAIMS", lambda i: " ".join(f"{k}={v}" for k, v in
                                           sorted((i.get("required_claims") or {}).items()))),
    ("AUDIENCE", lambda i: i.get("audience") or "(our issuer)"),
]


@click.group()
def issuers() -> None:
    """Trusted issuers of workload tokens (AWS, Kubernetes/EKS, GitHub Actions, SPIFFE)."""


@issuers.command("add")
@click.option("--preset", type=click.Choice(PRESETS), default="oidc", show_default=True,
              help="Defaults for a common issuer.")
@click.option("--issuer", metavar="URL",
              help="The issuer URL its tokens carry in iss (not for github-actions, spiffe). "
                   "EKS: aws eks describe-cluster --name NAME "
                   "--query cluster.identity.oidc.issuer --output text")
@click.option("--name", help="A name for people.")
@click.option("--jwks-uri", metavar="URL",
              help="The issuer's key set; default: discovered from its OpenID configuration.")
@click.option("--trust-domain", help="spiffe: the SPIFFE trust domain.")
@click.option("--bundle-endpoint", metavar="URL", help="spiffe: the bundle endpoint URL.")
@click.option("--max-token-lifetime", type=click.IntRange(60, 86400), metavar="SECONDS",
              help="Refuse tokens living longer (default 3600).")
@click.option("--single-use-jti/--reusable-jti", default=None,
              help="Accept each token once (default: on for aws-outbound, github-actions "
                   "and oidc; off for kubernetes/eks and spiffe).")
@output_options
@pass_state
def issuers_add(state: State, preset: str, issuer: str | None, name: str | None,
                jwks_uri: str | None, trust_domain: str | None, bundle_endpoint: str | None,
                max_token_lifetime: int | None, single_use_jti: bool | None) -> None:
    """Trust an issuer's workload tokens."""
    fields: dict[str, Any] = {
        "preset": preset, "issuer": issuer, "name": name, "jwks_uri": jwks_uri,
        "trust_domain": trust_domain, "bundle_endpoint": bundle_endpoint,
        "max_token_lifetime": max_token_lifetime, "single_use_jti": single_use_jti,
    }
    body = {k: v for k, v in fields.items() if v is not None}
    show(state, state.admin().post(admin_path("issuers"), body))


@issuers.command("list")
@list_options
@pass_state
def issuers_list(state: State, limit: int | None, all_pages: bool,
                 next_cursor: str | None) -> None:
    """List trusted issuers."""
    show_list(state, admin_path("issuers"), ISSUER_COLUMNS, limit, all_pages, next_cursor)


@issuers.command("get")
@click.argument("issuer_id")
@output_options
@pass_state
def issuers_get(state: State, issuer_id: str) -> None:
    """Show a trusted issuer."""
    show(state, state.admin().get(admin_path("issuers", issuer_id)))


@issuers.command("keys")
@click.argument("issuer_id")
@output_options
@pass_state
def issuers_keys(state: State, issuer_id: str) -> None:
    """Show the issuer's key set as the server fetches it (fetched now if stale)."""
    status = state.admin().get(admin_path("issuers", issuer_id, "keys"))
    if state.structured:
        state.emit(status)
        return
    output.details({k: v for k, v in status.items() if k != "keys"})
    click.echo("")
    output.table(status.get("keys") or [], KEY_SET_COLUMNS)


@issuers.command("delete")
@click.argument("issuer_id")
@if_match_option
@yes_option
@output_options
@pass_state
def issuers_delete(state: State, issuer_id: str, if_match: int | None, yes: bool) -> None:
    """Stop trusting an issuer: its tokens are refused at once."""
    confirm(f"Stop trusting the issuer {issuer_id}?", yes)
    state.admin().delete(admin_path("issuers", issuer_id), if_match=if_match)
    done(state, f"deleted issuer {issuer_id}")


@apps.command("federate")
@click.argument("client_id")
@click.option("--issuer", required=True, metavar="ISSUER",
              help="A trusted issuer's identifier (spiffe: spiffe://<trust domain>).")
@click.option("--subject",
              help="The token's exact sub, e.g. system:serviceaccount:NS:NAME, "
                   "repo:ORG/REPO:ref:refs/heads/main, an IAM role ARN, a SPIFFE ID.")
@click.option("--subject-pattern", metavar="PATTERN",
              help="Instead of --subject: a sub pattern, each * matching characters other "
                   "than ':' (e.g. system:serviceaccount:billing:*).")
@click.option("--require-claim", "required", multiple=True, metavar="NAME=VALUE",
              help="A claim the token must carry with exactly this value; NAME is a claim "
                   "or a JSON Pointer such as /kubernetes.io/namespace (repeat).")
@click.option("--audience", help="The aud the token must contain (default: our issuer).")
@output_options
@pass_state
def apps_federate(state: State, client_id: str, issuer: str, subject: str | None,
                  subject_pattern: str | None, required: tuple[str, ...],
                  audience: str | None) -> None:
    """Let the app authenticate, or get tokens by the jwt-bearer grant, with a workload
    token instead of a secret."""
    if (subject is None) == (subject_pattern is None):
        raise click.UsageError("give one of --subject and --subject-pattern")
    body: dict[str, Any] = {"issuer": issuer}
    if subject is not None:
        body["subject"] = subject
    else:
        body["subject_pattern"] = subject_pattern
    if required:
        claims = {}
        for item in required:
            name, sep, value = item.partition("=")
            if not sep or not name:
                raise click.UsageError(f"--require-claim takes NAME=VALUE, not {item!r}")
            claims[name] = value
        body["required_claims"] = claims
    if audience is not None:
        body["audience"] = audience
    show(state, state.admin().post(admin_path("apps", client_id, "federated-identities"), body))


@apps.command("federated-identities")
@click.argument("client_id")
@list_options
@pass_state
def apps_federated_identities(state: State, client_id: str, limit: int | None,
                              all_pages: bool, next_cursor: str | None) -> None:
    """List the workload identities an app accepts."""
    path = admin_path("apps", client_id, "federated-identities")
    show_list(state, path, IDENTITY_COLUMNS, limit, all_pages, next_cursor)


@apps.command("unfederate")
@click.argument("client_id")
@click.argument("identity_id")
@if_match_option
@yes_option
@output_options
@pass_state
def apps_unfederate(state: State, client_id: str, identity_id: str, if_match: int | None,
                    yes: bool) -> None:
    """Stop accepting a workload identity (if-match: the app's version)."""
    confirm(f"Remove the federated identity {identity_id} of app {client_id}?", yes)
    path = admin_path("apps", client_id, "federated-identities", identity_id)
    state.admin().delete(path, if_match=if_match)
    done(state, f"removed federated identity {identity_id}")
