"""Audit records: who changed what. Written in the same transaction as the change,
and logged as one structured line after it commits. Never a secret or a hash."""

from __future__ import annotations

import json
import logging
import secrets
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ..store.records import AuditRecord

log = logging.getLogger(__name__)

REDACTED = "[redacted]"
_SENSITIVE = ("secret", "hash", "password", "token")
_ALLOWED = {"secret_id", "revoke_tokens", "revoked_before", "token_lifetime", "token_reuse",
            "dpop_bound_access_tokens", "sender_constrained_tokens_required",
            "tls_client_certificate_bound_access_tokens"}


@dataclass(frozen=True)
class Actor:
    """The caller of an admin change: an IAM ARN, ``local`` in local mode."""

    principal: str
    request_id: str | None = None


SYSTEM = Actor("system")


def redact(changes: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in changes.items():
        sensitive = key not in _ALLOWED and any(word in key.lower() for word in _SENSITIVE)
        if sensitive:
            out[key] = REDACTED
        elif isinstance(value, Mapping):
            out[key] = redact(value)
        else:
            out[key] = value
    return out


def new_record(
    actor: Actor, action: str, target: str, changes: Mapping[str, Any], now: int
) -> AuditRecord:
    from ..store.records import AuditRecord  # not at cold start

    # time-ordered ids keep records of the same second newest-first too
    audit_id = f"{time.time_ns():016x}{secrets.token_hex(4)}"
    return AuditRecord(
        audit_id=audit_id, time=now, actor=actor.principal, action=action, target=target,
        changes=redact(changes), request_id=actor.request_id,
    )


def log_record(record: AuditRecord) -> None:
    log.info(
        "audit %s",
        json.dumps(
            {
                "id": record.audit_id, "time": record.time, "actor": record.actor,
                "action": record.action, "target": record.target,
                "changes": record.changes, "request_id": record.request_id,
            },
            separators=(",", ":"), sort_keys=True, default=str,
        ),
    )
