"""Client identifiers, secrets and their stored hashes."""

from __future__ import annotations

import re

import pytest

from chalicelib.oauth.client_secret import (
    MAX_SECRET_LENGTH,
    SECRET_PREFIX,
    hash_secret,
    new_client_id,
    new_secret,
    verify_secret,
)


def test_secret_has_prefix_and_at_least_256_bits_of_base64url_entropy() -> None:
    secret = new_secret()

    assert secret.startswith(SECRET_PREFIX)
    body = secret.removeprefix(SECRET_PREFIX)
    assert re.fullmatch(r"[A-Za-z0-9_-]+", body)
    assert len(body) * 6 >= 256
    assert new_secret() != secret


def test_hash_is_versioned_and_does_not_contain_the_secret() -> None:
    secret = new_secret()

    stored = hash_secret(secret)

    version, salt, digest = stored.split("$")
    assert version == "v1"
    assert salt and digest
    assert secret.removeprefix(SECRET_PREFIX) not in stored


def test_hashing_the_same_secret_twice_gives_different_salted_hashes() -> None:
    secret = new_secret()

    first, second = hash_secret(secret), hash_secret(secret)

    assert first != second
    assert first.split("$")[1] != second.split("$")[1]
    assert verify_secret(first, secret) and verify_secret(second, secret)


def test_verify_accepts_the_secret_and_rejects_any_other() -> None:
    secret = new_secret()
    stored = hash_secret(secret)

    assert verify_secret(stored, secret) is True
    assert verify_secret(stored, secret + "x") is False
    assert verify_secret(stored, secret[:-1]) is False
    assert verify_secret(stored, new_secret()) is False
    assert verify_secret(stored, "") is False


@pytest.mark.parametrize(
    "mangle",
    [
        lambda h: "",
        lambda h: "garbage",
        lambda h: h.replace("v1$", "v2$", 1),
        lambda h: h + "$extra",
        lambda h: h.rsplit("$", 1)[0],
        lambda h: "v1$!!!notbase64$" + h.rsplit("$", 1)[1],
    ],
    ids=["empty", "no-separators", "unknown-version", "four-parts", "two-parts", "bad-salt"],
)
def test_malformed_or_unknown_version_hash_never_verifies(mangle: object) -> None:
    secret = new_secret()

    assert verify_secret(mangle(hash_secret(secret)), secret) is False  # type: ignore[operator]


def test_oversize_presented_secret_is_rejected_even_if_it_matches() -> None:
    long_secret = "s" * (MAX_SECRET_LENGTH + 1)
    at_limit = "s" * MAX_SECRET_LENGTH

    assert verify_secret(hash_secret(long_secret), long_secret) is False
    assert verify_secret(hash_secret(at_limit), at_limit) is True


def test_client_ids_are_26_lowercase_base32_characters() -> None:
    ids = {new_client_id() for _ in range(50)}

    assert len(ids) == 50
    for client_id in ids:
        assert re.fullmatch(r"[a-z2-7]{26}", client_id), client_id
