"""`m2m decode --no-verify` shows any token's claims without a server, whatever the
numbers in its time claims (a token to debug is untrusted input)."""

from __future__ import annotations

import json

import jwt
import pytest
from click.testing import CliRunner
from m2m_localserver import offline_aws

from m2m_client.cli import cli


def _unsigned(claims: dict[str, object]) -> str:
    return jwt.encode(claims, key="k" * 32, algorithm="HS256")


@pytest.mark.parametrize("exp", [10**400, -(10**309), 1e300, -1e300])
def test_decode_shows_a_time_claim_no_date_can_hold_as_its_number(
    monkeypatch: pytest.MonkeyPatch, exp: object
) -> None:
    offline_aws(monkeypatch)
    token = _unsigned({"sub": "svc", "exp": exp, "iat": 1_700_000_000})

    result = CliRunner().invoke(cli, ["decode", token, "--no-verify"], catch_exceptions=False)

    assert result.exit_code == 0, result.output
    assert f"  exp: {exp}  (not a representable date)" in result.stdout
    assert "  iat: 1700000000  (2023-11-14T22:13:20Z," in result.stdout


def test_decode_as_json_keeps_a_huge_time_claim_exact(monkeypatch: pytest.MonkeyPatch) -> None:
    offline_aws(monkeypatch)
    token = _unsigned({"sub": "svc", "exp": 10**400})

    result = CliRunner().invoke(cli, ["decode", token, "--no-verify", "--json"],
                                catch_exceptions=False)

    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["claims"]["exp"] == 10**400
