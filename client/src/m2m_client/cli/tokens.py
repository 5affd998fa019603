"""`m2m token` (get a token as an app) and `m2m decode` (read and verify one)."""

from __future__ import annotations

import json
import sys
import time
from datetime import UTC, datetime
from typing import Any

import click
import jwt

from m2m_client.cli import output
from m2m_client.cli.common import (
    EXIT_API,
    EXIT_USAGE,
    Failure,
    State,
    output_options,
    pass_state,
)
from m2m_client.discovery import WELL_KNOWN_SUFFIX
from m2m_client.errors import BearerTokenError, KeySetError
from m2m_client.fetch import FetchError, RequestsFetcher
from m2m_client.token_client import TokenClient
from m2m_client.verifier import Verifier

_TIME_CLAIMS = ("exp", "iat", "nbf")


def _read_stdin_value(value: str, what: str) -> str:
    """`-` means: read the value from stdin (keeps it out of shell history and `ps`)."""
    if value != "-":
        return value
    read = sys.stdin.readline().strip()
    if not read:
        raise click.BadParameter(f"no {what} on stdin")
    return read


@click.command()
@click.option("--client-id", envvar="M2M_CLIENT_ID", required=True, help="[env: M2M_CLIENT_ID]")
@click.option(
    "--client-secret", envvar="M2M_CLIENT_SECRET", required=True, metavar="SECRET|-",
    help="The client secret, or '-' to read it from stdin. [env: M2M_CLIENT_SECRET]",
)
@click.option("--audience", required=True, help="The API identifier to get a token for.")
@click.option("--scope", "scopes", multiple=True,
              help="A scope to ask for (repeat; default: every granted scope).")
@click.option("--auth-method", type=click.Choice(["basic", "post"]), default="basic",
              show_default=True, help="client_secret_basic or client_secret_post.")
@click.option("--token-url", help="Default: ENDPOINT/oauth/token.")
@output_options
@pass_state
def token(
    state: State,
    client_id: str,
    client_secret: str,
    audience: str,
    scopes: tuple[str, ...],
    auth_method: str,
    token_url: str | None,
) -> None:
    """Get an access token as an app (client credentials grant), for debugging.

    Prints the token response, the token included: treat the output as a secret.
    """
    url = token_url or state.require_endpoint().rstrip("/") + "/oauth/token"
    secret = _read_stdin_value(client_secret, "client secret")
    client = TokenClient(
        url, client_id, secret, audience, list(scopes) or None,
        auth_method="client_secret_post" if auth_method == "post" else "client_secret_basic",
        timeout=state.timeout,
    )
    with client:
        issued = client.token()
    response = {
        "access_token": issued.value,
        "token_type": issued.token_type,
        "expires_in": round(issued.expires_at - issued.obtained_at),
        "scope": issued.scope,
    }
    if state.structured:
        state.emit(response)
    else:
        output.details(response)


def _segments(raw: str) -> tuple[dict[str, Any], dict[str, Any]]:
    header = jwt.get_unverified_header(raw)
    claims = jwt.decode(raw, options={"verify_signature": False})
    if not isinstance(claims, dict):
        raise jwt.DecodeError("the payload is not a JSON object")
    return dict(header), claims


def _when(value: object, now: float) -> str:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return output.text(value)
    try:  # an untrusted token's number may be no date (10**400, 1e300, NaN)
        stamp = datetime.fromtimestamp(value, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        delta = int(value - now)
    except (OverflowError, ValueError, OSError):
        return f"{value}  (not a representable date)"
    relative = f"in {delta} s" if delta >= 0 else f"{-delta} s ago"
    return f"{int(value)}  ({stamp}, {relative})"


def _discover(state: State, issuer: str | None, jwks_url: str | None) -> tuple[str, str | None]:
    """The issuer and JWKS URL to verify with: given, or from the server's metadata."""
    if issuer:
        return issuer, jwks_url
    endpoint = state.require_endpoint().rstrip("/")
    location = endpoint + WELL_KNOWN_SUFFIX
    try:
        response = RequestsFetcher(timeout=state.timeout)(location)
        document = json.loads(response.body) if response.status == 200 else None
    except (FetchError, ValueError) as exc:
        raise KeySetError(f"the server's metadata is unavailable: {exc}") from exc
    if not isinstance(document, dict) or not isinstance(document.get("issuer"), str):
        raise KeySetError(f"{location} is not authorization server metadata")
    found = document.get("jwks_uri")
    return document["issuer"], jwks_url or (found if isinstance(found, str) else None)


@click.command()
@click.argument("raw_token", metavar="TOKEN")
@click.option("--audience", help="The audience to require (default: the token's own aud).")
@click.option("--issuer", help="The issuer to require (default: from ENDPOINT's metadata).")
@click.option("--jwks-url", help="Default: the metadata's jwks_uri.")
@click.option("--scope", "scopes", multiple=True, help="A scope to require (repeat).")
@click.option("--no-verify", is_flag=True, help="Only decode; do not verify.")
@output_options
@pass_state
def decode(
    state: State,
    raw_token: str,
    audience: str | None,
    issuer: str | None,
    jwks_url: str | None,
    scopes: tuple[str, ...],
    no_verify: bool,
) -> None:
    """Show a token's header and claims and verify it against the server's JWKS.

    TOKEN may be '-' to read it from stdin. Exits 1 when the token is invalid. The token
    itself is never printed.
    """
    raw = _read_stdin_value(raw_token, "token")
    try:
        header, claims = _segments(raw)
    except jwt.PyJWTError:
        _report(state, None, None, {"valid": False, "error": "the token is malformed"})
        raise click.exceptions.Exit(EXIT_API) from None
    verification: dict[str, Any] | None = None
    if not no_verify:
        verification = _verify(state, raw, claims, audience, issuer, jwks_url, scopes)
    _report(state, header, claims, verification)
    if verification is not None and not verification["valid"]:
        raise click.exceptions.Exit(EXIT_API)


def _verify(
    state: State,
    raw: str,
    claims: dict[str, Any],
    audience: str | None,
    issuer: str | None,
    jwks_url: str | None,
    scopes: tuple[str, ...],
) -> dict[str, Any]:
    if audience is None:
        aud = claims.get("aud")
        audience = aud if isinstance(aud, str) else (
            aud[0] if isinstance(aud, list) and aud and isinstance(aud[0], str) else None
        )
    if not audience:
        raise Failure("the token names no audience: pass --audience", EXIT_USAGE)
    expected_issuer, jwks = _discover(state, issuer, jwks_url)
    try:
        verifier = Verifier(expected_issuer, audience, jwks_url=jwks)
    except ValueError as exc:
        raise Failure(str(exc), EXIT_USAGE) from None
    result: dict[str, Any] = {"issuer": expected_issuer, "audience": audience, "jwks_url": jwks}
    try:
        verifier.verify(raw, required_scopes=scopes)
    except BearerTokenError as exc:
        return {"valid": False, "error": exc.description or exc.error, **result}
    return {"valid": True, "error": None, **result}


def _report(
    state: State,
    header: dict[str, Any] | None,
    claims: dict[str, Any] | None,
    verification: dict[str, Any] | None,
) -> None:
    if state.structured:
        state.emit({"header": header, "claims": claims, "verification": verification})
        return
    now = time.time()
    if header is not None:
        click.echo("header:")
        for key, value in header.items():
            click.echo(f"  {key}: {output.text(value)}")
    if claims is not None:
        click.echo("claims:")
        for key, value in claims.items():
            shown = _when(value, now) if key in _TIME_CLAIMS else output.text(value)
            click.echo(f"  {key}: {shown}")
    if verification is None:
        click.echo("verification: skipped (--no-verify)")
    elif verification["valid"]:
        click.echo(f"verification: valid (issuer {verification['issuer']}, "
                   f"audience {verification['audience']})")
    else:
        click.echo(f"verification: INVALID: {verification['error']}")
