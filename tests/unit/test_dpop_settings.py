"""DPoP settings (docs/dpop.md): a proof window and server nonces, off by default."""

from __future__ import annotations

import pytest

from chalicelib.config import ConfigurationError
from tests.conftest import make_settings


def test_defaults_are_a_60_second_window_and_no_nonces() -> None:
    settings = make_settings()

    assert (settings.dpop_proof_window, settings.dpop_nonces, settings.dpop_nonce_step) == (
        60, False, 300)


@pytest.mark.parametrize("value", ["1", "true", "on", "TRUE"])
def test_nonces_are_turned_on_by_a_true_value(value: str) -> None:
    assert make_settings(DPOP_NONCES=value).dpop_nonces is True


@pytest.mark.parametrize(
    "overrides",
    [{"DPOP_NONCES": "yes please"}, {"DPOP_PROOF_WINDOW": "4"}, {"DPOP_PROOF_WINDOW": "301"},
     {"DPOP_NONCE_STEP": "10"}, {"DPOP_NONCE_STEP": "soon"}],
)
def test_refuses_values_it_cannot_run_with(overrides: dict[str, str]) -> None:
    with pytest.raises(ConfigurationError):
        make_settings(**overrides)
