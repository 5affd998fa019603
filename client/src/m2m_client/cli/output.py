"""Human output: aligned tables for lists, `key: value` lines for one item."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import click

Column = tuple[str, Callable[[Mapping[str, Any]], object]]


def text(value: object) -> str:
    """One value as table or detail text: `-` for null or empty, lists comma-joined."""
    if value is None or value == "" or value == [] or value == {}:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return ", ".join(value)
    if isinstance(value, dict | list):
        return json.dumps(value, separators=(",", ":"), ensure_ascii=False)
    return "".join(ch for ch in str(value) if ch.isprintable())


def field(name: str) -> Callable[[Mapping[str, Any]], object]:
    return lambda item: item.get(name)


def table(items: Sequence[Mapping[str, Any]], columns: Sequence[Column]) -> None:
    """An aligned table with a header row; `(none)` for an empty list."""
    if not items:
        click.echo("(none)")
        return
    rows = [[header for header, _ in columns]]
    rows += [[text(get(item)) for _, get in columns] for item in items]
    widths = [max(len(row[i]) for row in rows) for i in range(len(columns))]
    for row in rows:
        cells = [cell.ljust(width) for cell, width in zip(row[:-1], widths, strict=False)]
        click.echo("  ".join([*cells, row[-1]]).rstrip())


def details(item: Mapping[str, Any]) -> None:
    """`key: value` per field; a list of objects (scopes, secrets) one per indented line."""
    width = max((len(key) for key in item), default=0) + 1
    for key, value in item.items():
        if isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
            click.echo(f"{key}:")
            for entry in value:
                click.echo(f"  - {_entry(entry)}")
        else:
            click.echo(f"{(key + ':').ljust(width)} {text(value)}")


def _entry(entry: Mapping[str, Any]) -> str:
    if set(entry) <= {"value", "description"} and "value" in entry:  # a scope definition
        description = entry.get("description")
        return text(entry["value"]) + (f"  {text(description)}" if description else "")
    return "  ".join(f"{key}={text(value)}" for key, value in entry.items())


def quota_text(quota: Mapping[str, Any] | None) -> str:
    """`100/hour, 1000/day (monitor)`, or `none`."""
    if not quota:
        return "none"
    limits = [f"{quota[k]}/{unit}" for k, unit in (("per_hour", "hour"), ("per_day", "day"))
              if quota.get(k) is not None]
    return ", ".join(limits) + ("" if quota.get("enforce", True) else " (monitor)")


# Columns of each list.
API_COLUMNS: list[Column] = [
    ("ID", field("id")),
    ("IDENTIFIER", field("identifier")),
    ("NAME", field("name")),
    ("SCOPES", lambda i: " ".join(s.get("value", "") for s in i.get("scopes") or [])),
    ("LIFETIME", field("token_lifetime")),
    ("VERSION", field("version")),
]
APP_COLUMNS: list[Column] = [
    ("CLIENT_ID", field("client_id")),
    ("NAME", field("name")),
    ("ENABLED", field("enabled")),
    ("PERMISSIONS", field("permissions")),
    ("LIFETIME", field("token_lifetime")),
    ("REVOKED_BEFORE", field("revoked_before")),
    ("QUOTA", lambda i: quota_text(i.get("quota")) if i.get("quota") else None),
    ("LAST_USED", field("last_used")),
    ("VERSION", field("version")),
]
API_GRANT_COLUMNS: list[Column] = [
    ("CLIENT_ID", field("client_id")),
    ("SCOPES", lambda i: " ".join(i.get("scopes") or [])),
    ("VERSION", field("version")),
]
GRANT_COLUMNS: list[Column] = [
    ("API_ID", field("api_id")),
    ("AUDIENCE", field("audience")),
    ("SCOPES", lambda i: " ".join(i.get("scopes") or [])),
    ("VERSION", field("version")),
]
KEY_COLUMNS: list[Column] = [
    ("KID", field("kid")),
    ("ALG", field("alg")),
    ("STATE", field("state")),
    ("CREATED", field("created_at")),
    ("ACTIVATED", field("activated_at")),
    ("DEACTIVATED", field("deactivated_at")),
    ("KMS_KEY", field("kms_key_arn")),
]
AUDIT_COLUMNS: list[Column] = [
    ("TIME", field("time")),
    ("ACTOR", field("actor")),
    ("ACTION", field("action")),
    ("TARGET", field("target")),
]
USAGE_DAY_COLUMNS: list[Column] = [
    ("DAY (UTC)", lambda i: str(i.get("start", ""))[:10]),
    ("FRESH_TOKENS", lambda i: str(i.get("count", 0))),
]
USAGE_HOUR_COLUMNS: list[Column] = [
    ("HOUR (UTC)", lambda i: str(i.get("start", ""))[:13].replace("T", " ") + ":00"),
    ("FRESH_TOKENS", lambda i: str(i.get("count", 0))),
]
