"""The AWS region the deploy tools use: ``AWS_REGION``, then ``AWS_DEFAULT_REGION``,
then the ``region`` of the profile (``AWS_PROFILE``).

The pinned botocore resolves only ``AWS_DEFAULT_REGION`` and profiles; the README,
the AWS CLI v2 and Lambda itself use ``AWS_REGION``, so the tools read it first,
themselves, and hand botocore the result.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

REGION_VARIABLES = ("AWS_REGION", "AWS_DEFAULT_REGION")


def environment_region(environ: Mapping[str, str] | None = None) -> str | None:
    """The region the environment names, ``AWS_REGION`` first; None if neither is set."""
    env = os.environ if environ is None else environ
    for name in REGION_VARIABLES:
        value = (env.get(name) or "").strip()
        if value:
            return value
    return None


def resolve_region(session: Any, environ: Mapping[str, str] | None = None) -> str | None:
    """The region for ``session`` (a botocore session), set on it so that every
    client it builds uses the same one; None if nothing names a region."""
    region = environment_region(environ) or session.get_config_variable("region")
    if region:
        session.set_config_variable("region", region)
    return str(region) if region else None
