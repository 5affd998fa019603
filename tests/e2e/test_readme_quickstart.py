"""The README's quickstart, followed literally against a fresh local server.

The README's runnable blocks (``<!-- quickstart: server -->`` and ``<!-- quickstart -->``,
the convention of ``tests/e2e/runnable_docs.py``) run in order, as written: the first
server block is ``make local``, the second the example API, then the third terminal's
blocks in one bash session. The one change to the text: ports 8000 and 8001 become free
ports. ``tests/e2e/test_docs_runnable.py`` does the same for every page under docs/.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.e2e.local_process import PROJECT
from tests.e2e.runnable_docs import Block, run_page, runnable_blocks, stray_markers

pytestmark = pytest.mark.e2e

README = PROJECT / "README.md"


@pytest.fixture
def blocks() -> list[Block]:
    text = README.read_text()
    found = runnable_blocks(text)
    assert stray_markers(text) == 0
    assert [b.server for b in found[:2]] == [True, True], "the quickstart starts two servers"
    assert found[0].code.strip() == "make local"
    assert sum(not b.server for b in found) >= 1
    return found


def _recipe(target: str) -> list[str]:
    makefile = (PROJECT / "Makefile").read_text()
    return makefile.split(f"\n{target}:", 1)[1].split("\n\n", 1)[0].splitlines()[1:]


def test_makefile_local_target_runs_infra_local() -> None:
    assert any("-m infra.local" in line for line in _recipe("local"))


def test_first_make_says_what_it_installs_and_how_long_before_installing() -> None:
    recipe = _recipe("$(STAMP)")
    first_install = next(n for n, line in enumerate(recipe) if "pip install" in line)
    said = " ".join(line for line in recipe[:first_install] if line.strip().startswith("@echo"))
    assert "install" in said and "minutes" in said


def test_readme_quickstart_blocks_run_in_order_as_written(
    blocks: list[Block], tmp_path: Path
) -> None:
    run = run_page(blocks, tmp_path)

    assert not run.demo_env.exists()  # removed when the server stopped
    assert run.returncode == 0, f"{run.stdout}\n{run.stderr}"
    assert '{"orders":[]}' in run.stdout  # step 3: the example API answered
    assert "{'orders': []}" in run.stdout  # the client library's TokenClient, too
