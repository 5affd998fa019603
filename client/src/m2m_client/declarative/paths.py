"""Paths into the declarative file, as every problem report names them."""

from __future__ import annotations

import json


def child(path: str, key: str | int) -> str:
    """`path.key`, `path[3]`, or `path["https://..."]` for keys that are not plain names."""
    if isinstance(key, int):
        return f"{path}[{key}]"
    plain = key.replace("_", "").replace("-", "").isalnum()
    if plain:
        return f"{path}.{key}" if path else key
    return f"{path}[{json.dumps(key)}]"
