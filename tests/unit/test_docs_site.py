"""The docs site is a CI check: `make lint` (which `make test` runs) builds it strictly."""

from __future__ import annotations

from pathlib import Path

PROJECT = Path(__file__).resolve().parents[2]


def _recipe(target: str) -> list[str]:
    makefile = (PROJECT / "Makefile").read_text()
    return makefile.split(f"\n{target}:", 1)[1].split("\n\n", 1)[0].splitlines()


def test_make_test_runs_lint_which_builds_the_docs_strictly() -> None:
    assert "lint" in _recipe("test")[0].split()  # the target's prerequisites
    build = [line for line in _recipe("lint") if "mkdocs build" in line]
    assert build and "--strict" in build[0]
    # mkdocs 1.6 drops warnings under --quiet before --strict counts them: a broken link
    # would then pass.
    assert "--quiet" not in build[0] and " -q" not in build[0]


def test_make_unit_runs_the_unit_tests() -> None:
    assert any("pytest tests/unit" in line for line in _recipe("unit"))


def test_mkdocs_and_its_theme_are_pinned_dev_tools_not_lambda_dependencies() -> None:
    dev = (PROJECT / "requirements-dev.txt").read_text().splitlines()
    runtime = (PROJECT / "requirements.txt").read_text()
    for name in ("mkdocs", "mkdocs-material"):
        assert any(line.startswith(f"{name}==") for line in dev)
        assert name not in runtime
