"""Validation of admin input: each rule in one place, errors as RFC 9457 field lists."""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any

from ..errors import FieldError, ValidationFailed
from ..oauth.claims import REGISTERED_CLAIMS, is_json_value
from ..oauth.scopes import is_scope_token
from ..tokens.lifetime import MAX_TOKEN_LIFETIME, MIN_TOKEN_LIFETIME

if TYPE_CHECKING:
    from ..store.records import ScopeDefinition

MAX_NAME = 200
MAX_DESCRIPTION = 1000
MAX_IDENTIFIER = 256
MAX_SCOPES = 100
MAX_CLAIMS_BYTES = 2048
PERMISSIONS = frozenset({"introspect"})


class Errors:
    """Collects field errors and raises them together."""

    def __init__(self) -> None:
        self.items: list[FieldError] = []

    def add(self, field: str, message: str) -> None:
        self.items.append(FieldError(field, message))

    def raise_if_any(self, detail: str = "The request has invalid fields.") -> None:
        if self.items:
            raise ValidationFailed(detail, self.items)


def _members(path: str, value: Any) -> Iterator[tuple[str, Any]]:
    """(path, child) for the members of a JSON container, in document order."""
    if isinstance(value, dict):
        for key, item in value.items():
            yield (f"{path}.{_printable(key)}" if path else _printable(key)), item
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield f"{path}[{i}]", item


def _printable(text: str) -> str:
    """``text`` with any surrogate shown as a ``\\udXXX`` escape (safe to echo back)."""
    return text.encode("utf-8", "backslashreplace").decode("utf-8")


def is_text(value: str) -> bool:
    """True if ``value`` is Unicode text: no surrogate code point, so it encodes as
    UTF-8 (RFC 8259 §8.1, RFC 7493 §2.1). A JSON ``\\ud800`` escape and raw invalid
    UTF-8 read with ``surrogateescape`` both fail this."""
    if value.isascii():
        return True
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def invalid_text(document: Any) -> list[FieldError]:
    """Every string of a JSON document, member names included, that is not Unicode
    text; fields named by their path (``claims.team.lead``, ``scopes[0].description``).
    Iterative, so any depth ``json.loads`` produced is safe."""
    errors: list[FieldError] = []
    pending: list[tuple[str, Any]] = [("", document)]
    while pending:
        path, value = pending.pop()
        if isinstance(value, str):
            if not is_text(value):
                errors.append(FieldError(path or "body", "must be valid Unicode text "
                                         "(no unpaired surrogates or invalid UTF-8)"))
            continue
        if isinstance(value, dict):
            for key in value:
                if not is_text(key):
                    where = f"{path}.{_printable(key)}" if path else _printable(key)
                    errors.append(FieldError(where, "member names must be valid Unicode "
                                             "text (no unpaired surrogates or invalid UTF-8)"))
        pending.extend(reversed(list(_members(path, value))))
    return errors


def name(errors: Errors, field: str, value: Any, *, required: bool = True) -> str:
    if not isinstance(value, str) or not value.strip():
        errors.add(field, "must be a non-empty string")
        return ""
    if len(value) > MAX_NAME:
        errors.add(field, f"must be at most {MAX_NAME} characters")
    return value.strip()


def description(errors: Errors, field: str, value: Any) -> str:
    if value is None:
        return ""
    if not isinstance(value, str) or len(value) > MAX_DESCRIPTION:
        errors.add(field, f"must be a string of at most {MAX_DESCRIPTION} characters")
        return ""
    return value


def identifier(errors: Errors, field: str, value: Any) -> str:
    """An API identifier: the exact ``audience``/``resource`` value clients send."""
    ok = (
        isinstance(value, str)
        and 0 < len(value) <= MAX_IDENTIFIER
        and all(0x21 <= ord(c) <= 0x7E for c in value)
        and "#" not in value
    )
    if not ok:
        errors.add(
            field,
            f"must be 1-{MAX_IDENTIFIER} printable ASCII characters without spaces or '#' "
            "(an absolute URI is recommended, RFC 8707 §2)",
        )
        return ""
    return str(value)


def integer(value: Any) -> int | None:
    """A JSON integer, as JSON Schema defines it: ``3600`` and ``3600.0`` alike
    (never a boolean); None for anything else."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return None


def token_lifetime(errors: Errors, field: str, value: Any) -> int | None:
    if value is None:
        return None
    number = integer(value)
    if number is None or not MIN_TOKEN_LIFETIME <= number <= MAX_TOKEN_LIFETIME:
        errors.add(field, f"must be an integer from {MIN_TOKEN_LIFETIME} to {MAX_TOKEN_LIFETIME}")
        return None
    return number


def scope_definitions(errors: Errors, field: str, value: Any) -> tuple[ScopeDefinition, ...]:
    from ..store.records import ScopeDefinition  # not at cold start

    if not isinstance(value, list) or len(value) > MAX_SCOPES:
        errors.add(field, f"must be a list of at most {MAX_SCOPES} scopes")
        return ()
    out: list[ScopeDefinition] = []
    seen: set[str] = set()
    for i, entry in enumerate(value):
        if isinstance(entry, str):
            entry = {"value": entry}
        if not isinstance(entry, dict) or set(entry) - {"value", "description"}:
            errors.add(f"{field}[{i}]", "must be an object with 'value' and 'description'")
            continue
        scope = entry.get("value")
        if not isinstance(scope, str) or not is_scope_token(scope):
            errors.add(f"{field}[{i}].value", "must be a scope-token (RFC 6749 §3.3)")
            continue
        if scope in seen:
            errors.add(f"{field}[{i}].value", "is a duplicate")
            continue
        seen.add(scope)
        out.append(ScopeDefinition(scope, description(errors, f"{field}[{i}].description",
                                                        entry.get("description"))))
    return tuple(out)


def scope_values(errors: Errors, field: str, value: Any) -> tuple[str, ...]:
    if not isinstance(value, list) or not value or not all(isinstance(v, str) for v in value):
        errors.add(field, "must be a non-empty list of scope strings")
        return ()
    return tuple(dict.fromkeys(value))


def claims(errors: Errors, field: str, value: Any) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        errors.add(field, "must be an object")
        return {}
    valid = True
    for key in value:
        if not isinstance(key, str) or not key:
            errors.add(f"{field}.{key}", "claim names must be non-empty strings")
        elif key in REGISTERED_CLAIMS:
            errors.add(f"{field}.{key}", "is a registered claim the server sets")
        elif not is_json_value(value[key]):
            errors.add(f"{field}.{key}", "must be a plain JSON value")
        else:
            continue
        valid = False
    if valid and len(json.dumps(value, separators=(",", ":"))) > MAX_CLAIMS_BYTES:
        errors.add(field, f"must serialize to at most {MAX_CLAIMS_BYTES} bytes")
    return dict(value) if valid else {}


def permissions(errors: Errors, field: str, value: Any) -> frozenset[str]:
    if value is None:
        return frozenset()
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        errors.add(field, "must be a list of strings")
        return frozenset()
    unknown = set(value) - PERMISSIONS
    if unknown:
        errors.add(field, f"unknown permissions {sorted(unknown)}; known: {sorted(PERMISSIONS)}")
    return frozenset(value) & PERMISSIONS


def expires_in(errors: Errors, field: str, value: Any) -> int | None:
    if value is None:
        return None
    number = integer(value)
    if number is None or not 60 <= number <= 315_360_000:
        errors.add(field, "must be an integer number of seconds from 60 to 315360000")
        return None
    return number


def require_mapping(value: Any) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise ValidationFailed("The request body must be a JSON object.")
    return value


def only_fields(
    body: Mapping[str, Any], allowed: set[str], required: frozenset[str] = frozenset()
) -> None:
    """Unknown fields and missing required fields are validation errors."""
    errors = Errors()
    for name in sorted(set(body) - allowed):
        errors.add(name, "is not a known field")
    for name in sorted(required - set(body)):
        errors.add(name, "is required")
    errors.raise_if_any()


def enabled(errors: Errors, field: str, value: Any) -> bool:
    if not isinstance(value, bool):
        errors.add(field, "must be true or false")
        return True
    return value


def flag(errors: Errors, field: str, value: Any) -> bool:
    """A setting that is off unless set to ``true``."""
    if not isinstance(value, bool):
        errors.add(field, "must be true or false")
        return False
    return value
