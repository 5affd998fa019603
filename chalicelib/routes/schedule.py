"""Scheduled events: the daily signing-key rotation (docs/deploy.md, "Signing keys")."""

from __future__ import annotations

from typing import Any

from chalice.app import Blueprint, Rate

from .. import runtime

schedule = Blueprint(__name__)


@schedule.schedule(Rate(1, unit=Rate.DAYS), name="rotate_signing_keys")
def rotate_signing_keys(event: Any) -> str:
    """Daily: create a next key ahead of time, promote it when the period is over."""
    services = runtime.services()
    if not services.settings.is_home:  # multi-region: the home region rotates for all
        return f"not the home region ({services.settings.home_region}): nothing to do"
    rotation = services.rotation
    if rotation is None:
        raise RuntimeError("key rotation needs the KMS key factory")
    return rotation.run()
