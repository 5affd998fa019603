"""Every docs page's runnable blocks, in order, as written, each page against its own
fresh local server (the convention of ``tests/e2e/runnable_docs.py``; writers' notes in
docs/contributing.md)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.e2e.local_process import PROJECT
from tests.e2e.runnable_docs import checkout_state, run_page, runnable_blocks, stray_markers

pytestmark = pytest.mark.e2e

DOCS = PROJECT / "docs"
PAGES = sorted(DOCS.rglob("*.md"))
RUNNABLE = [page for page in PAGES if runnable_blocks(page.read_text())]
# Pages whose recipes are meant to run locally; losing one's markers must fail a test.
EXPECTED_RUNNABLE = {
    "admin-api.md", "cli.md", "client-secrets.md", "concepts.md", "declarative.md", "dpop.md",
    "getting-started.md", "private-key-jwt.md",
}


def _name(page: Path) -> str:
    return str(page.relative_to(DOCS))


def test_every_marker_is_followed_by_a_block_the_harness_runs() -> None:
    stray = {_name(page): n for page in PAGES if (n := stray_markers(page.read_text()))}
    assert stray == {}


def test_the_recipe_pages_have_runnable_blocks() -> None:
    runnable = {_name(page) for page in RUNNABLE}
    assert runnable >= EXPECTED_RUNNABLE


@pytest.mark.parametrize("page", RUNNABLE, ids=_name)
def test_page_blocks_run_in_order_as_written(page: Path, tmp_path: Path) -> None:
    before = checkout_state()

    run = run_page(runnable_blocks(page.read_text()), tmp_path)

    assert run.returncode == 0, f"{_name(page)}:\n{run.stdout}\n{run.stderr}"
    assert not run.demo_env.exists()  # removed when the server stopped
    assert checkout_state() == before, "the page left files in the checkout"
