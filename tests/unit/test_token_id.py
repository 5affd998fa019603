"""Token ids carry the app's revocation generation (issue 8 §1.2)."""

from __future__ import annotations

from typing import Any

import pytest

from chalicelib.oauth.claims import fits_signing_limit, worst_case_signing_input_size
from chalicelib.oauth.token_id import (
    MAX_JTI_LENGTH,
    generation_of,
    new_jti,
    revoked_by_admin,
)
from chalicelib.store.records import App

T = 1_800_000_000


def claims(jti: str, iat: int = T) -> dict[str, Any]:
    return {"jti": jti, "iat": iat}


def test_new_jti_records_the_generation_and_stays_within_the_size_budget() -> None:
    jti = new_jti(10**19)
    assert generation_of(jti) == 10**19
    assert len(jti) <= MAX_JTI_LENGTH
    assert new_jti(3) != new_jti(3)


@pytest.mark.parametrize("jti", ["Abc-_xyz", "abc.", "abc.-1", "abc.1e3", "abc.١", "a." + "9" * 21])
def test_jtis_without_a_generation_have_none(jti: str) -> None:
    assert generation_of(jti) is None


def test_tokens_of_an_older_generation_are_revoked_whatever_their_iat() -> None:
    app = App(client_id="c", name="n", revoked_before=T, revocation_generation=2)
    assert revoked_by_admin(app, claims(new_jti(1), iat=T + 100))
    assert not revoked_by_admin(app, claims(new_jti(2), iat=T))
    assert not revoked_by_admin(app, claims(new_jti(3), iat=T - 100))


def test_tokens_issued_before_generations_fall_back_to_the_iat_rule() -> None:
    app = App(client_id="c", name="n", revoked_before=T, revocation_generation=1)
    legacy = "A" * 22
    assert revoked_by_admin(app, claims(legacy, iat=T))
    assert not revoked_by_admin(app, claims(legacy, iat=T + 1))
    assert not revoked_by_admin(App(client_id="c", name="n"), claims(legacy))


def test_signing_budget_counts_the_longest_jti() -> None:
    base = worst_case_signing_input_size({}, "https://a.example", ("s",), "c")
    assert base > MAX_JTI_LENGTH
    assert fits_signing_limit({}, "https://a.example", ("s",), "c")
