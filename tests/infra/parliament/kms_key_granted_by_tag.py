"""A parliament private auditor: an identity policy's Allow of a KMS action on every key
(``*`` or ``key/*``) that a resource-tag condition narrows grants whatever key carries
the tag, and whoever may tag a key then chooses what it grants (docs/deploy.md).
Findings: ``KMS_KEY_GRANTED_BY_TAG`` (tests/infra/parliament/config_override.yaml)."""

from __future__ import annotations

from typing import Any

ISSUE = "KMS_KEY_GRANTED_BY_TAG"


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _on_every_key(resource: str) -> bool:
    return resource == "*" or (resource.startswith("arn:") and resource.endswith(":key/*"))


def audit(policy: Any) -> None:
    """Parliament calls this with each policy it analyses."""
    for statement in policy.statements:
        body = statement.stmt()  # the jsoncfg node as plain Python values
        # A statement with a Principal is a key policy's: its "*" is that one key.
        if body.get("Effect") != "Allow" or "Principal" in body:
            continue
        actions = [str(a) for a in _as_list(body.get("Action", []))]
        if not any(a.lower().startswith("kms:") for a in actions):
            continue
        if not any(_on_every_key(str(r)) for r in _as_list(body.get("Resource", []))):
            continue
        keys = [key for block in body.get("Condition", {}).values() for key in block]
        tags = [key for key in keys if key.lower().startswith("aws:resourcetag/")]
        if tags:
            policy.add_finding(ISSUE, detail={"sid": body.get("Sid"), "actions": actions,
                                              "condition_keys": tags})
