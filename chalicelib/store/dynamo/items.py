"""Attribute-value primitives shared by every aggregate's marshalling."""

from __future__ import annotations

from typing import Any

Item = dict[str, Any]


def app_pk(client_id: str) -> str:
    return f"APP#{client_id}"


def _s(value: str) -> dict[str, str]:
    return {"S": value}


def _n(value: int) -> dict[str, str]:
    return {"N": str(int(value))}


def _opt_n(item: Item, name: str, value: int | None) -> None:
    if value is not None:
        item[name] = _n(value)


def _get_s(item: Item, name: str, default: str = "") -> str:
    return str(item[name]["S"]) if name in item else default


def _get_n(item: Item, name: str) -> int | None:
    return int(item[name]["N"]) if name in item else None


def _get_ss(item: Item, name: str) -> tuple[str, ...]:
    return tuple(v["S"] for v in item[name]["L"]) if name in item else ()


def _key(pk: str, sk: str) -> Item:
    return {"pk": _s(pk), "sk": _s(sk)}



def _put_fraction(item: Item, name: str, value: float | None) -> None:
    """A fraction that may be switched off: ``NULL`` is off, absent is the default.

    Stored as the shortest decimal that reads back as the same float, in a string:
    DynamoDB numbers stop at 1E-130, and any float strictly between 0 and 1 is valid."""
    item[name] = {"NULL": True} if value is None else {"S": repr(float(value))}


def _get_fraction(item: Item, name: str, default: float | None) -> float | None:
    if name not in item:
        return default
    if "NULL" in item[name]:
        return None
    value = item[name]
    return float(value["S"] if "S" in value else value["N"])


def _put_flag(item: Item, name: str, value: bool) -> None:
    """A flag that is off by default: stored only when on (items written before the
    flag existed read as off)."""
    if value:
        item[name] = {"BOOL": True}


def _get_flag(item: Item, name: str) -> bool:
    return bool(item.get(name, {}).get("BOOL", False))
