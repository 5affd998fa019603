"""The API reference page is generated from the OpenAPI document and kept current."""

from __future__ import annotations

import json
import re

from infra.api_reference import OPENAPI, PAGE, render

DOCUMENT = json.loads(OPENAPI.read_text(encoding="utf-8"))


def test_committed_reference_page_is_what_the_openapi_document_renders() -> None:
    assert PAGE.read_text(encoding="utf-8") == render(DOCUMENT), (
        "docs/admin-api-reference.md is stale: run `make api-reference`"
    )


def test_every_operation_and_schema_has_its_own_heading() -> None:
    page = render(DOCUMENT)
    operations = [
        (method.upper(), path)
        for path, item in DOCUMENT["paths"].items()
        for method in item
        if method != "parameters"
    ]
    for method, path in operations:
        assert f"### `{method} {path}`" in page
    for name in DOCUMENT["components"]["schemas"]:
        assert f"### {name} {{ #schema-{name.lower()} }}" in page


def test_every_schema_reference_links_to_a_heading_of_the_page() -> None:
    page = render(DOCUMENT)
    anchors = set(re.findall(r"\{ #([a-z0-9-]+) \}", page))
    links = set(re.findall(r"\]\(#([a-z0-9-]+)\)", page))
    assert links and links <= anchors


def test_table_cells_never_break_on_a_pipe_in_a_description() -> None:
    document = {
        "openapi": "3.1.0", "info": {"title": "t", "version": "1"}, "paths": {},
        "components": {"schemas": {"S": {"type": "object", "properties": {
            "a": {"type": "string", "description": "one | two\nthree"}}}}},
    }
    row = next(line for line in render(document).splitlines() if line.startswith("| `a`"))
    assert row == "| `a` | string |  | one \\| two three |"
