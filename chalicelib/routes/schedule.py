"""Scheduled events: the daily signing-key rotation (docs/deploy.md, "Signing keys")."""

from __future__ import annotations

import logging
from typing import Any

from chalice.app import Blueprint, Rate

from .. import runtime

log = logging.getLogger(__name__)

schedule = Blueprint(__name__)

EVENT_FIELDS = ("version", "id", "detail-type", "source", "account", "time", "region",
                "resources", "detail")
"""What Chalice reads of an EventBridge scheduled event before our code runs. AWS's own
sample event (``sam local generate-event cloudwatch scheduled-event``, the Lambda
console's template) has no ``version``: Chalice would raise ``KeyError`` on it."""


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


_chalice_handler: Any = rotate_signing_keys


def _scheduled_events_only(event: Any, context: Any) -> str:
    """The Lambda handler: Chalice's handler string names this module's
    ``rotate_signing_keys``, which is rebound to this function below. An event without
    the fields of a scheduled event is logged as such and does nothing, instead of
    failing inside Chalice with a KeyError."""
    missing = ([f for f in EVENT_FIELDS if f not in event] if isinstance(event, dict)
               else list(EVENT_FIELDS))
    if missing:
        log.error("rotate_signing_keys: not an EventBridge scheduled event (missing %s); "
                  "nothing done. A test event needs every field of docs/errors.md, "
                  "'Test events'", ", ".join(missing))
        return f"not a scheduled event: missing {', '.join(missing)}; nothing done"
    result: str = _chalice_handler(event, context)
    return result


rotate_signing_keys = _scheduled_events_only  # type: ignore[assignment]
