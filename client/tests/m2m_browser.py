"""Headless Chromium on the console, shared by the browser tests and
client/scripts/console_screenshots.py: Debian's /usr/bin/chromium driven by Playwright
for Python (Playwright's own browser download is never used), the console URL from the
local server's banner, and axe-core for accessibility checks.

axe-core comes from npm, pinned by client/tests/axe/package-lock.json and installed
with `make axe` (`npm ci` into client/tests/axe/node_modules; `.ci/run` does it).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

CHROMIUM = Path("/usr/bin/chromium")
# Without the networking flags Chromium tries to reach the internet (and fails noisily).
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--no-first-run", "--disable-sync", "--disable-quic",
]
AXE_DIR = Path(__file__).resolve().parent / "axe"
AXE_SCRIPT = AXE_DIR / "node_modules" / "axe-core" / "axe.min.js"
WIDE = {"width": 1280, "height": 800}
NARROW = {"width": 390, "height": 844}


def console_url(banner: str) -> str:
    """The console URL (with this run's token) that `make local` printed."""
    found = re.search(r"Console\s+(http://127\.0\.0\.1:\d+/\?token=\S+)", banner)
    if not found:
        raise AssertionError(f"no console URL in the banner:\n{banner}")
    return found[1]


def axe_source() -> str | None:
    """axe-core's script: AXE_CORE_JS, `make axe`'s copy, or a global npm install."""
    candidates = [Path(os.environ["AXE_CORE_JS"])] if os.environ.get("AXE_CORE_JS") else []
    candidates.append(AXE_SCRIPT)
    npm = shutil.which("npm")
    if npm:
        found = subprocess.run([npm, "root", "-g"], capture_output=True, text=True,  # noqa: S603
                               timeout=30, check=False)
        if found.returncode == 0 and found.stdout.strip():
            candidates.append(Path(found.stdout.strip()) / "axe-core" / "axe.min.js")
    for candidate in candidates:
        if candidate.is_file():
            return candidate.read_text(encoding="utf-8")
    return None


def serious_violations(page: Any, source: str) -> list[str]:
    """axe-core's serious and critical violations on the page as it is now."""
    page.add_script_tag(content=source)
    result = page.evaluate("axe.run(document, {resultTypes: ['violations']})")
    return [f"{v['id']}: {v['help']} ({', '.join(n['target'][0] for n in v['nodes'][:3])})"
            for v in result["violations"] if v["impact"] in ("serious", "critical")]


@dataclass
class Console:
    """One browser page on the console, signed in with the printed URL's token."""

    url: str
    page: Any
    problems: list[str] = field(default_factory=list)

    @property
    def origin(self) -> str:
        return self.url.split("/?")[0]

    def go(self, hash_: str) -> None:
        """Show a page and wait until it has loaded (never acting on the previous one)."""
        if self.page.evaluate("location.hash") == hash_:
            self.page.reload()
        else:
            self.page.evaluate("document.querySelector('main h1')?.setAttribute('data-old', '')")
            self.page.goto(f"{self.origin}/{hash_}")
        self.page.wait_for_selector("main h1:not([data-old])")
        # (no wait_for_function: it evaluates strings, which the console's CSP forbids)
        self.page.get_by_text("Loading…").wait_for(state="hidden")
        self.page.get_by_text("Checking…").first.wait_for(state="hidden")


@contextmanager
def chromium(playwright: Any) -> Iterator[Any]:
    browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True,
                                         args=CHROMIUM_ARGS)
    try:
        yield browser
    finally:
        browser.close()


def open_console(browser: Any, url: str, *, bypass_csp: bool = False,
                 viewport: dict[str, int] | None = None) -> Console:
    """A new context and page signed in to the console; CSP reports and page errors are
    collected in `problems`."""
    context = browser.new_context(viewport=viewport or WIDE, bypass_csp=bypass_csp)
    origin = url.split("/?")[0]
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=origin)
    page = context.new_page()
    page.set_default_timeout(15_000)
    console = Console(url, page)
    page.on("pageerror", lambda err: console.problems.append(f"page error: {err}"))
    page.on("console", lambda msg: console.problems.append(msg.text)
            if msg.type == "error" and "Content Security Policy" in msg.text else None)
    page.goto(url)  # the printed URL: sets the cookie, drops the token
    if page.url != origin + "/":
        raise AssertionError(f"the token URL did not redirect to {origin}/: {page.url}")
    return console
