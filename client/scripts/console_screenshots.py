"""Regenerate the console's screenshots (docs/console-*.png): `make screenshots`.

Starts the local server the way `make local` does (embedded moto, nothing leaves the
machine), fills it through the admin API with a few APIs and apps (a secret, a public
key, an AWS role, a workload identity of a loopback issuer), gets some tokens so the
usage chart has bars, then drives Debian's chromium (/usr/bin/chromium) headless with
Playwright for Python (never `playwright install`) and writes one PNG per screen.

    python client/scripts/console_screenshots.py [--out docs]
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import tempfile
from pathlib import Path
from typing import Any

import pytest
import requests

TESTS = Path(__file__).resolve().parents[1] / "tests"
sys.path.insert(0, str(TESTS))

from m2m_browser import (  # noqa: E402 - the shared browser helpers of client/tests
    CHROMIUM,
    NARROW,
    WIDE,
    Console,
    chromium,
    console_url,
    open_console,
)
from m2m_issuer import LoopbackIssuer, loopback_issuer  # noqa: E402
from m2m_localserver import (  # noqa: E402
    DEMO_AUDIENCE,
    PROJECT,
    LocalServer,
    local_server,
    offline_aws,
)


class Admin:
    """The local server's admin API (unsigned: local mode has no IAM)."""

    def __init__(self, server: LocalServer) -> None:
        self.base = server.base

    def __call__(self, method: str, path: str, body: Any = None) -> Any:
        answer = requests.request(method, f"{self.base}/admin{path}", json=body, timeout=10)
        answer.raise_for_status()
        return answer.json() if answer.content else None

    def token(self, client_id: str, secret: str, audience: str) -> None:
        requests.post(f"{self.base}/oauth/token", timeout=10, data={
            "grant_type": "client_credentials", "client_id": client_id,
            "client_secret": secret, "audience": audience}).raise_for_status()


def _public_jwk(kid: str) -> dict[str, Any]:
    import jwt
    from cryptography.hazmat.primitives.asymmetric import ec

    public = ec.generate_private_key(ec.SECP256R1()).public_key()
    return {**json.loads(jwt.get_algorithm_by_name("ES256").to_jwk(public)), "kid": kid}


def seed(admin: Admin, issuer: LoopbackIssuer) -> dict[str, str]:
    """What the screenshots show; the ids they need."""
    billing = admin("POST", "/apis", {
        "name": "Billing API", "identifier": "https://billing.example.com",
        "scopes": [{"value": "invoices:read", "description": "Read invoices"},
                   {"value": "invoices:write", "description": "Issue invoices"}],
        "token_reuse": None})
    worker = admin("POST", "/apps", {"name": "billing-worker", "description": "Nightly invoicing",
                                     "quota": {"per_hour": 40, "per_day": 500}})
    admin("PUT", f"/apps/{worker['client_id']}/grants/{billing['id']}",
          {"scopes": ["invoices:read", "invoices:write"]})
    admin("POST", f"/apps/{worker['client_id']}/secrets", {"expires_in": 30 * 86400})
    admin("POST", f"/apps/{worker['client_id']}/keys", {"jwk": _public_jwk("worker-2026-11")})
    admin("POST", f"/apps/{worker['client_id']}/aws-principals",
          {"arn": "arn:aws:iam::123456789012:role/billing-worker"})
    admin("POST", "/issuers", {"preset": "eks", "issuer": issuer.issuer,
                               "name": "EKS cluster prod-eu"})
    admin("POST", f"/apps/{worker['client_id']}/federated-identities", {
        "issuer": issuer.issuer, "subject": "system:serviceaccount:billing:invoicer"})
    reporting = admin("POST", "/apps", {"name": "reporting-lambda", "secret": False,
                                        "description": "Monthly reports (its IAM role)"})
    admin("PUT", f"/apps/{reporting['client_id']}/grants/{billing['id']}",
          {"scopes": ["invoices:read"]})
    admin("POST", f"/apps/{reporting['client_id']}/aws-principals",
          {"arn": "arn:aws:iam::123456789012:role/reporting-lambda"})
    for _ in range(17):  # fresh tokens this hour (the API reuses none)
        admin.token(worker["client_id"], worker["client_secret"], billing["identifier"])
    admin("POST", "/apps", {"name": "resource-server", "permissions": ["introspect"],
                            "description": "Introspects tokens"})
    return {"worker": worker["client_id"], "billing": billing["id"]}


def shoot(console: Console, hash_: str, path: Path, full_page: bool = False) -> None:
    console.go(hash_)
    console.page.mouse.move(0, 0)
    console.page.screenshot(path=str(path), full_page=full_page)
    print(f"wrote {path.relative_to(PROJECT) if path.is_relative_to(PROJECT) else path}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=PROJECT / "docs",
                        help="Directory for console-*.png (default: docs/).")
    out = parser.parse_args().out.resolve()
    if not CHROMIUM.exists():
        print(f"needs Debian's chromium at {CHROMIUM} (apt-get install chromium)",
              file=sys.stderr)
        return 2
    from playwright.sync_api import sync_playwright

    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as logs, pytest.MonkeyPatch.context() as mp:
        offline_aws(mp)
        mp.setenv("CONSOLE_PORT", "0")
        with local_server(Path(logs)) as server, loopback_issuer() as issuer, \
                sync_playwright() as playwright, chromium(playwright) as browser:
            ids = seed(Admin(server), issuer)
            worker = ids["worker"]
            console = open_console(browser, console_url(server.banner), viewport=WIDE)
            for name, hash_, full in [
                ("apis", "#/apis", False),
                ("api", f"#/apis/{ids['billing']}", False),
                ("apps", "#/apps", False),
                ("app", f"#/apps/{worker}", False),
                ("credentials", f"#/apps/{worker}/credentials", True),
                ("grants", f"#/apps/{worker}/apis", False),
                ("settings", f"#/apps/{worker}/settings", False),
                ("usage", f"#/apps/{worker}/usage", False),
                ("issuers", "#/issuers", False),
                ("keys", "#/keys", False),
                ("audit", "#/audit", False),
            ]:
                shoot(console, hash_, out / f"console-{name}.png", full)
            # Try it: the demo app of `make local`, with the secret its banner printed
            client_id = re.search(r"client_id\s+(\S+)", server.banner)
            secret = re.search(r"client_secret\s+(\S+)", server.banner)
            if client_id and secret:
                console.go("#/try")
                page = console.page
                page.get_by_label("App", exact=True).select_option(client_id[1])
                page.get_by_label("API (audience)").select_option(DEMO_AUDIENCE)
                page.get_by_label("Client secret").fill(secret[1])
                page.get_by_role("button", name="Get token").click()
                page.get_by_test_id("verify-result").wait_for()
                page.screenshot(path=str(out / "console-try.png"))
                print("wrote console-try.png")
            narrow = open_console(browser, console.url, viewport=NARROW)
            shoot(narrow, f"#/apps/{worker}", out / "console-narrow.png", True)
            if console.problems or narrow.problems:
                print("page problems:", console.problems + narrow.problems, file=sys.stderr)
                return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
