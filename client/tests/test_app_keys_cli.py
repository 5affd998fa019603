"""`m2m apps keys add` reads a public JWK file and refuses a private one before any request."""

from __future__ import annotations

import json
from pathlib import Path

import click
import pytest
from click.testing import CliRunner
from cryptography.hazmat.primitives.asymmetric import ec

from m2m_client import PrivateKeyJwt
from m2m_client.cli import cli
from m2m_client.cli.app_keys import read_public_jwk


@pytest.fixture
def pair() -> PrivateKeyJwt:
    return PrivateKeyJwt("a" * 26, ec.generate_private_key(ec.SECP256R1()), kid="k1")


def test_reads_a_public_jwk_or_a_jwk_set_of_one_key(tmp_path: Path, pair: PrivateKeyJwt) -> None:
    single, keyset = tmp_path / "pub.json", tmp_path / "jwks.json"
    single.write_text(json.dumps(pair.public_jwk()))
    keyset.write_text(json.dumps({"keys": [pair.public_jwk()]}))

    assert read_public_jwk(single, None) == pair.public_jwk()
    assert read_public_jwk(keyset, "renamed")["kid"] == "renamed"


def test_refuses_a_private_jwk_without_sending_anything(
    tmp_path: Path, pair: PrivateKeyJwt, monkeypatch: pytest.MonkeyPatch
) -> None:
    private = tmp_path / "private.json"
    private.write_text(json.dumps({**pair.public_jwk(), "d": "c2VjcmV0"}))
    monkeypatch.setenv("M2M_ENDPOINT", "http://127.0.0.1:9")  # nothing listens there

    with pytest.raises(click.BadParameter, match="PRIVATE"):
        read_public_jwk(private, None)
    result = CliRunner().invoke(
        cli, ["apps", "keys", "add", "a" * 26, "--jwk-file", str(private)]
    )
    assert result.exit_code == 2
    assert "PRIVATE" in result.stderr
    assert "c2VjcmV0" not in result.stdout + result.stderr


@pytest.mark.parametrize(
    "content", ["not json", "[1, 2]", json.dumps({"keys": []})],
    ids=["not-json", "not-object", "empty-set"],
)
def test_refuses_files_that_hold_no_single_jwk(tmp_path: Path, content: str) -> None:
    path = tmp_path / "bad.json"
    path.write_text(content)

    with pytest.raises(click.BadParameter):
        read_public_jwk(path, None)
