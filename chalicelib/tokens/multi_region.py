"""KMS multi-Region keys: one key id (``mrk-...``) and one key material in every
region of a stage, so one ``kid``; each region signs with its own replica."""

from __future__ import annotations

import re

_KEY_ARN = re.compile(r"^arn:(aws[a-z-]*):kms:([a-z0-9-]+):(\d{12}):key/(mrk-[0-9a-f-]{32,36})$")


def is_multi_region_key(key_id: str) -> bool:
    """An ARN or id of a multi-Region key (its id starts with ``mrk-``)."""
    return key_id.rsplit("/", 1)[-1].startswith("mrk-")


def in_region(key_id: str, region: str) -> str:
    """The ARN of the same multi-Region key in ``region`` (same key id, the
    region's ARN); any other key id or ARN unchanged."""
    match = _KEY_ARN.match(key_id)
    if match is None:
        return key_id
    partition, _, account, key = match.groups()
    return f"arn:{partition}:kms:{region}:{account}:key/{key}"
