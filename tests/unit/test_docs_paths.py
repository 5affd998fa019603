"""Every repository path the README and the docs name exists: a moved or deleted file
must take its documentation along (the layout change of chalicelib/ moved many)."""

from __future__ import annotations

import re
from pathlib import Path

PROJECT = Path(__file__).resolve().parents[2]
PAGES = [PROJECT / "README.md", *sorted((PROJECT / "docs").rglob("*.md"))]
TOP = ("app.py", "chalicelib/", "infra/", "tests/", "client/", "bench/", "examples/", "docs/")
# `chalicelib/store/{dynamo,inmemory}/x.py` and `.local/demo-$PORT.env` name patterns.
PATH = re.compile(r"`((?:" + "|".join(re.escape(t) for t in TOP) + r")[\w./{},-]*)`")


def _expand(path: str) -> list[str]:
    match = re.search(r"\{([^}]*)\}", path)
    if not match:
        return [path]
    return [
        expanded
        for choice in match[1].split(",")
        for expanded in _expand(path[: match.start()] + choice + path[match.end():])
    ]


def named_paths(text: str) -> set[str]:
    return {p for m in PATH.finditer(text) for p in _expand(m[1].rstrip("/.,"))}


def test_every_repository_path_the_docs_name_exists() -> None:
    missing = {
        f"{page.relative_to(PROJECT)}: {path}"
        for page in PAGES
        for path in named_paths(page.read_text(encoding="utf-8"))
        if not (PROJECT / path).exists() and "<" not in path
    }
    assert missing == set()


def test_named_paths_finds_paths_and_expands_braces() -> None:
    text = "see `chalicelib/store/{dynamo,inmemory}/apps.py` and `infra/local.py`, not `foo/x`"
    assert named_paths(text) == {
        "chalicelib/store/dynamo/apps.py", "chalicelib/store/inmemory/apps.py", "infra/local.py",
    }
