"""The web console in headless Chromium against the local server (`make local`, which
serves the console through the same proxy as `m2m console`): create an API, create an app
and copy its secret, grant one scope with the checkboxes, get a token in "Try it" that
verifies against the JWKS, block the app and see the next token request fail, and find
each change in the audit page. Also: a stale edit offers a reload, a refused rotation
shows its reason, the pages fit a narrow window, and no page breaks its CSP.

Needs Debian's `chromium` (/usr/bin/chromium; `.ci/run` installs it) and Playwright for
Python (requirements-dev.txt; its own browser download is never used). Skipped when either
is missing. With M2M_CONSOLE_SCREENSHOTS=docs the screenshots go to docs/console-*.png
(how the README's were made); otherwise to the test's temporary directory.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests
from m2m_localserver import PROJECT, LocalServer, local_server, offline_aws

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--no-first-run", "--disable-sync", "--disable-quic",
]
AUDIENCE = "https://api.example.com/inventory"

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's chromium (/usr/bin/chromium)"),
]


@dataclass
class Session:
    server: LocalServer
    console_url: str
    page: Any
    problems: list[str]
    shots: Path

    @property
    def origin(self) -> str:
        return self.console_url.split("/?")[0]

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

    def shot(self, name: str) -> None:
        self.page.screenshot(path=str(self.shots / f"console-{name}.png"))

    def admin(self, path: str) -> Any:
        answer = requests.get(self.server.base + "/admin" + path, timeout=10)
        answer.raise_for_status()
        return answer.json()


@pytest.fixture(scope="module")
def browser_session(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Session]:
    sync_api = pytest.importorskip("playwright.sync_api")
    shots = (PROJECT / "docs" if os.environ.get("M2M_CONSOLE_SCREENSHOTS") == "docs"
             else tmp_path_factory.mktemp("screenshots"))
    with pytest.MonkeyPatch.context() as mp:
        offline_aws(mp)
        mp.setenv("CONSOLE_PORT", "0")
        with local_server(tmp_path_factory.mktemp("console")) as server:
            found = re.search(r"Console\s+(http://127\.0\.0\.1:\d+/\?token=\S+)", server.banner)
            assert found, server.banner
            with sync_api.sync_playwright() as playwright:
                browser = playwright.chromium.launch(
                    executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
                context = browser.new_context(viewport={"width": 1280, "height": 800})
                origin = found[1].split("/?")[0]
                context.grant_permissions(["clipboard-read", "clipboard-write"], origin=origin)
                page = context.new_page()
                page.set_default_timeout(15_000)
                problems: list[str] = []
                page.on("pageerror", lambda err: problems.append(f"page error: {err}"))
                page.on("console", lambda msg: problems.append(msg.text)
                        if msg.type == "error" and "Content Security Policy" in msg.text
                        else None)
                page.goto(found[1])  # the printed URL: sets the cookie, drops the token
                assert page.url == origin + "/"
                try:
                    yield Session(server, found[1], page, problems, shots)
                finally:
                    browser.close()


def test_console_flow_from_api_to_blocked_app_with_audit(browser_session: Session) -> None:
    from playwright.sync_api import expect

    s, page = browser_session, browser_session.page

    # GIVEN the APIs page, WHEN an API with two scopes is created
    s.go("#/apis")
    form = page.locator("form", has=page.get_by_role("heading", name="Create an API"))
    form.get_by_label("Name", exact=True).fill("Inventory API")
    form.get_by_label("Identifier (audience)").fill(AUDIENCE)
    form.get_by_label("Scope 1", exact=True).fill("inventory:read")
    form.get_by_label("Description of scope 1").fill("Read stock levels")
    form.get_by_role("button", name="Add scope").click()
    form.get_by_label("Scope 2", exact=True).fill("inventory:write")
    form.get_by_label("Description of scope 2").fill("Change stock levels")
    form.get_by_role("button", name="Create API").click()
    # THEN its page opens, and the list shows it
    page.get_by_role("heading", name="Inventory API").wait_for()
    s.go("#/apis")
    assert page.get_by_role("cell", name=AUDIENCE).is_visible()
    s.shot("apis")

    # WHEN an app is created, THEN its secret is shown once, with a copy button
    s.go("#/apps")
    form = page.locator("form", has=page.get_by_role("heading", name="Create an app"))
    form.get_by_label("Name", exact=True).fill("console-e2e")
    form.get_by_label("Description").fill("Created in the browser test")
    form.get_by_role("button", name="Create app").click()
    secret_box = page.get_by_test_id("new-secret")
    secret_box.wait_for()
    secret = secret_box.input_value()
    client_id = page.get_by_test_id("new-client-id").inner_text()
    assert secret.startswith("m2msec_")
    assert page.locator("main").get_by_text("shown only once").is_visible()
    page.get_by_role("button", name="Copy secret").click()
    page.get_by_text("Copied").wait_for()
    assert page.evaluate("navigator.clipboard.readText()") == secret
    s.shot("apps")

    # WHEN Inventory API is authorized and one scope checked with the checkboxes
    page.get_by_role("link", name="Open console-e2e").click()
    page.get_by_role("heading", name="console-e2e").wait_for()
    grant = page.locator(f'.grant[data-api="{AUDIENCE}"]')
    grant.get_by_role("switch", name="Authorized").check()
    grant.get_by_role("checkbox", name="inventory:read").check()
    grant.get_by_role("button", name="Update scopes of Inventory API").click()
    page.locator("main").get_by_text("Scopes of Inventory API updated").wait_for()
    # THEN the admin API has exactly that grant
    grants = s.admin(f"/apps/{client_id}/grants")["items"]
    assert [(g["audience"], g["scopes"]) for g in grants] == [(AUDIENCE, ["inventory:read"])]
    s.shot("app")

    # WHEN Try it gets a token with the secret created in this tab
    s.go("#/try")
    page.get_by_label("App", exact=True).select_option(client_id)
    page.get_by_label("API (audience)").select_option(AUDIENCE)
    page.get_by_role("button", name="Use the secret created in this tab").click()
    page.get_by_role("button", name="Get token").click()
    # THEN it verifies against the JWKS, with the granted scope
    result = page.get_by_test_id("verify-result")
    result.wait_for()
    assert result.get_attribute("data-verified") == "true", result.inner_text()
    claims = page.get_by_test_id("jwt-claims").inner_text()
    assert '"scope": "inventory:read"' in claims and f'"aud": "{AUDIENCE}"' in claims
    assert '"alg": "RS256"' in page.get_by_test_id("jwt-header").inner_text()
    s.shot("try")

    # WHEN the app is blocked
    s.go(f"#/apps/{client_id}")
    page.get_by_role("button", name="Block app").click()
    page.get_by_role("alertdialog").get_by_role("button", name="Block").click()
    page.locator("main").get_by_text("App blocked.").wait_for()
    assert page.get_by_text("Blocked", exact=True).is_visible()
    # THEN the next token request fails
    s.go("#/try")
    page.get_by_label("App", exact=True).select_option(client_id)
    page.get_by_label("API (audience)").select_option(AUDIENCE)
    page.get_by_label("Client secret").fill(secret)
    page.get_by_role("button", name="Get token").click()
    refused = page.get_by_test_id("token-error")
    refused.wait_for()
    assert "HTTP 401" in refused.inner_text() or "HTTP 400" in refused.inner_text()

    # THEN the audit page shows each change, newest first, filterable by target
    s.go("#/audit")
    rows = page.locator("tbody tr")
    actions = [rows.nth(i).locator("td").nth(2).inner_text() for i in range(4)]
    assert actions == ["app.block", "grant.set", "app.create", "api.create"], actions
    assert page.get_by_role("cell", name=re.compile(r"enabled: false")).count() == 1
    page.get_by_label("Target contains").fill(client_id)
    page.get_by_role("button", name="Filter").click()
    expect(page.locator("tbody tr")).to_have_count(3)
    page.get_by_label("Target contains").fill("api/")
    page.get_by_role("button", name="Filter").click()
    page.get_by_role("cell", name=re.compile("name: Inventory API")).wait_for()
    s.go("#/audit")
    s.shot("audit")
    assert s.problems == []


def test_a_stale_edit_offers_a_reload(browser_session: Session) -> None:
    s, page = browser_session, browser_session.page
    api = next(a for a in s.admin("/apis?limit=200")["items"] if a["identifier"] == AUDIENCE)
    s.go(f"#/apis/{api['id']}")
    # GIVEN someone else changes the API after the page loaded
    requests.patch(f"{s.server.base}/admin/apis/{api['id']}", json={"name": "Renamed"},
                   timeout=10).raise_for_status()
    # WHEN this page saves, THEN it says so and offers the current version
    page.get_by_label("Name", exact=True).fill("My name")
    page.get_by_role("button", name="Save changes").click()
    page.get_by_text("Someone else changed this item").wait_for()
    page.get_by_role("button", name="Reload the current version").click()
    page.get_by_role("heading", name="Renamed").wait_for()


def test_field_errors_appear_next_to_their_field(browser_session: Session) -> None:
    s, page = browser_session, browser_session.page
    s.go("#/apis")
    form = page.locator("form", has=page.get_by_role("heading", name="Create an API"))
    form.get_by_label("Name", exact=True).fill("Duplicate")
    form.get_by_label("Identifier (audience)").fill(AUDIENCE)
    form.get_by_role("button", name="Create API").click()
    identifier = form.get_by_label("Identifier (audience)")
    page.wait_for_selector('[aria-invalid="true"]')
    assert identifier.get_attribute("aria-invalid") == "true"
    assert "onflict" in form.locator(".field-error").first.inner_text()


def test_a_refused_rotation_shows_the_reason(browser_session: Session) -> None:
    s, page = browser_session, browser_session.page
    s.go("#/keys")
    assert page.get_by_text("current", exact=True).first.is_visible()
    page.get_by_role("button", name="Rotate now").click()
    reason = page.locator(".field-error")
    reason.wait_for()
    assert "no next key" in reason.inner_text()
    # WHEN a KMS key is registered, THEN it is listed as the next key
    arn = s.server.create_kms_key()
    page.get_by_label("KMS key id or ARN").fill(arn)
    page.get_by_role("button", name="Register key").click()
    page.locator("main").get_by_text("Key registered as next.").wait_for()
    assert page.get_by_role("row", name=re.compile("^next")).get_by_text(arn).is_visible()
    s.shot("keys")


def test_pages_fit_a_narrow_window_and_work_from_the_keyboard(browser_session: Session) -> None:
    s, page = browser_session, browser_session.page
    page.set_viewport_size({"width": 390, "height": 800})
    try:
        for hash_ in ("#/apis", "#/apps", "#/keys", "#/audit", "#/try"):
            s.go(hash_)
            overflow = page.evaluate(
                "document.documentElement.scrollWidth - document.documentElement.clientWidth")
            assert overflow <= 1, (hash_, overflow)
        # every form control has a label
        unlabelled = page.evaluate("""[...document.querySelectorAll('input, select, textarea')]
            .filter((el) => !el.labels.length && !el.getAttribute('aria-label')).length""")
        assert unlabelled == 0
        # keyboard: the first Tab reaches the skip link, then the navigation
        page.reload()
        page.wait_for_selector("main h1")
        page.keyboard.press("Tab")
        assert page.evaluate("document.activeElement.textContent") == "Skip to content"
        page.keyboard.press("Tab")
        page.keyboard.press("Tab")
        assert page.evaluate("document.activeElement.textContent") == "Apps"
        page.keyboard.press("Enter")
        page.get_by_role("heading", name="Apps").wait_for()
    finally:
        page.set_viewport_size({"width": 1280, "height": 800})
    assert s.problems == []


def _axe_source() -> str | None:
    """axe-core (npm) if installed: AXE_CORE_JS, or the global npm root. Not vendored."""
    candidates = [os.environ.get("AXE_CORE_JS", "")]
    npm = shutil.which("npm")
    if npm:
        found = subprocess.run([npm, "root", "-g"], capture_output=True, text=True,  # noqa: S603
                               timeout=30, check=False)
        candidates.append(str(Path(found.stdout.strip()) / "axe-core" / "axe.min.js"))
    for candidate in candidates:
        if candidate and Path(candidate).is_file():
            return Path(candidate).read_text()
    return None


def test_pages_have_no_serious_accessibility_violations(browser_session: Session) -> None:
    source = _axe_source()
    if source is None:
        pytest.skip("axe-core is not installed (npm install axe-core; AXE_CORE_JS=path)")
    s = browser_session
    # axe is injected, so this context lets it in; the CSP itself is tested elsewhere.
    context = s.page.context.browser.new_context(bypass_csp=True,
                                                 viewport={"width": 1280, "height": 800})
    try:
        page = context.new_page()
        page.goto(s.console_url)
        other = Session(s.server, s.console_url, page, [], s.shots)
        client_id = s.admin("/apps?limit=1")["items"][0]["client_id"]
        found: dict[str, list[str]] = {}
        for hash_ in ("#/apis", "#/apps", f"#/apps/{client_id}", "#/keys", "#/audit", "#/try"):
            other.go(hash_)
            page.add_script_tag(content=source)
            result = page.evaluate("axe.run(document, {resultTypes: ['violations']})")
            serious = [f"{v['id']}: {v['help']}" for v in result["violations"]
                       if v["impact"] in ("serious", "critical")]
            if serious:
                found[hash_] = serious
        assert found == {}
    finally:
        context.close()


def test_app_settings_save_claims_and_quota_with_errors_beside_their_fields(
    browser_session: Session,
) -> None:
    s, page = browser_session, browser_session.page
    app = next(a for a in s.admin("/apps?limit=200")["items"] if a["name"] == "console-e2e")
    s.go(f"#/apps/{app['client_id']}")
    settings = page.locator("form", has=page.get_by_role("heading", name="Settings"))
    # WHEN the claims are not JSON, THEN the error sits beside the claims field
    settings.get_by_label("Custom claims (JSON object)").fill("{team: billing")
    settings.get_by_role("button", name="Save settings").click()
    assert settings.get_by_label("Custom claims (JSON object)").get_attribute(
        "aria-invalid") == "true"
    # WHEN the server refuses a quota, THEN its field error sits beside that field
    settings.get_by_label("Custom claims (JSON object)").fill('{"team": "billing"}')
    settings.get_by_label("Per hour").fill("0")
    settings.get_by_role("button", name="Save settings").click()
    per_hour = settings.get_by_label("Per hour")
    page.wait_for_selector('[data-field="quota.per_hour"][aria-invalid="true"]')
    assert per_hour.locator("xpath=..").locator(".field-error").is_visible()
    # WHEN the values are valid, THEN they are saved and the usage panel shows the quota
    per_hour.fill("100")
    settings.get_by_role("button", name="Save settings").click()
    page.locator("main").get_by_text("Settings saved.").wait_for()
    saved = s.admin(f"/apps/{app['client_id']}")
    assert saved["claims"] == {"team": "billing"}
    assert saved["quota"]["per_hour"] == 100
    assert "quota 100 per hour" in page.get_by_test_id("usage-summary").inner_text()


def test_an_api_is_deleted_after_confirmation(browser_session: Session) -> None:
    s, page = browser_session, browser_session.page
    created = requests.post(f"{s.server.base}/admin/apis", timeout=10, json={
        "name": "Short-lived API", "identifier": "https://api.example.com/short"}).json()
    s.go(f"#/apis/{created['id']}")
    page.get_by_role("button", name="Delete API").click()
    dialog = page.get_by_role("alertdialog")
    dialog.get_by_role("button", name="Cancel").click()
    assert s.admin(f"/apis/{created['id']}")["name"] == "Short-lived API"
    page.get_by_role("button", name="Delete API").click()
    page.get_by_role("alertdialog").get_by_role("button", name="Delete").click()
    page.get_by_role("heading", name="APIs", exact=True).wait_for()
    gone = requests.get(f"{s.server.base}/admin/apis/{created['id']}", timeout=10)
    assert gone.status_code == 404


def test_the_browser_check_verifies_rs256_and_es256_and_refuses_forgeries(
    browser_session: Session,
) -> None:
    """jwt.js (WebCrypto) on tokens made here with PyJWT: both algorithms verify; a
    changed claim, another key, an unknown kid and alg=none do not."""
    import json

    import jwt
    from cryptography.hazmat.primitives.asymmetric import ec, rsa

    s, page = browser_session, browser_session.page
    s.go("#/try")
    rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    ec_key = ec.generate_private_key(ec.SECP256R1())
    other = ec.generate_private_key(ec.SECP256R1())
    keys = []
    for kid, key, alg in (("r1", rsa_key, "RS256"), ("e1", ec_key, "ES256")):
        jwk = json.loads(jwt.get_algorithm_by_name(alg).to_jwk(key.public_key()))
        keys.append({**jwk, "kid": kid, "alg": alg, "use": "sig"})
    claims = {"sub": "x", "scope": "a"}

    def check(token: str) -> Any:
        return page.evaluate(
            "([t, jwks]) => import('/js/jwt.js').then((m) => m.verify(t, jwks))",
            [token, {"keys": keys}])

    rs = jwt.encode(claims, rsa_key, "RS256", headers={"kid": "r1"})
    es = jwt.encode(claims, ec_key, "ES256", headers={"kid": "e1"})
    assert check(rs)["ok"] is True
    assert check(es)["ok"] is True
    head, _, sig = es.split(".")
    forged_body = jwt.encode({**claims, "scope": "admin"}, ec_key, "ES256",
                             headers={"kid": "e1"}).split(".")[1]
    assert check(f"{head}.{forged_body}.{sig}")["ok"] is False
    assert check(jwt.encode(claims, other, "ES256", headers={"kid": "e1"}))["ok"] is False
    assert "no key" in check(jwt.encode(claims, ec_key, "ES256", headers={"kid": "zz"}))["reason"]
    unsigned = jwt.encode(claims, None, "none", headers={"kid": "r1"})
    assert check(unsigned)["ok"] is False
    # an ES256 token presented with the RSA key's kid is refused, not verified
    assert check(jwt.encode(claims, ec_key, "ES256", headers={"kid": "r1"}))["ok"] is False


def test_the_audit_page_pages_through_records_newest_first(browser_session: Session) -> None:
    s, page = browser_session, browser_session.page
    created = requests.post(f"{s.server.base}/admin/apis", timeout=10, json={
        "name": "Paged 0", "identifier": "https://api.example.com/paged"}).json()
    for n in range(1, 27):  # 26 more records: more than one console page (25)
        requests.patch(f"{s.server.base}/admin/apis/{created['id']}", timeout=10,
                       json={"name": f"Paged {n}"}).raise_for_status()
    s.go("#/audit")
    rows = page.locator("tbody tr")
    assert rows.count() == 25
    assert "name: Paged 26" in rows.first.inner_text()  # newest first
    page.get_by_role("button", name="Older").click()
    page.get_by_text("Page 2").wait_for()
    assert "name: Paged 1\n" in rows.first.inner_text() + "\n"
    page.get_by_role("button", name="Newer").click()
    page.get_by_text("Page 1").wait_for()
    assert "name: Paged 26" in rows.first.inner_text()
    page.get_by_label("Actor contains").fill("nobody")
    page.get_by_role("button", name="Filter").click()
    page.get_by_role("cell", name="Nothing yet.").wait_for()


def test_exchange_policies_and_workload_identities_are_managed_on_the_app_page(
    browser_session: Session,
) -> None:
    s, page = browser_session, browser_session.page
    base = s.server.base + "/admin"
    target = requests.post(f"{base}/apis", timeout=10, json={
        "name": "Stock", "identifier": "https://api.example.com/stock",
        "scopes": [{"value": "stock:read", "description": "Read"}]}).json()
    source = requests.post(f"{base}/apis", timeout=10, json={
        "name": "Shop", "identifier": "https://api.example.com/shop"}).json()
    caller = requests.post(f"{base}/apps", timeout=10, json={"name": "Shop service"}).json()
    issuer = requests.post(f"{base}/issuers", timeout=10, json={
        "preset": "oidc", "issuer": "http://127.0.0.1:9", "jwks_uri": "http://127.0.0.1:9/jwks",
    }).json()
    s.go(f"#/apps/{caller['client_id']}")

    # GIVEN the exchange form, WHEN a policy is saved, THEN the server has it and it is listed
    panel = page.get_by_test_id("exchange-policies")
    form = panel.get_by_role("form", name="Set an exchange policy")
    form.get_by_label("Target API").select_option(target["id"])
    form.get_by_label("Scopes of the target").fill("stock:read")
    form.get_by_label("Shop", exact=True).check()
    form.get_by_label("Longest act chain").fill("2")
    form.get_by_role("button", name="Save policy").click()
    page.locator("main").get_by_text("Exchange policy saved.").wait_for()
    [policy] = s.admin(f"/apps/{caller['client_id']}/exchange-policies")["items"]
    assert (policy["target_api_id"], policy["scopes"], policy["source_apis"],
            policy["max_act_depth"]) == (target["id"], ["stock:read"], [source["id"]], 2)
    assert "stock:read" in page.get_by_test_id("exchange-policies").inner_text()

    # WHEN a scope of another API is asked for, THEN the server's refusal is shown
    form = page.get_by_test_id("exchange-policies").get_by_role("form")
    form.get_by_label("Scopes of the target").fill("shop:write")
    form.get_by_role("button", name="Save policy").click()
    form.get_by_role("alert").wait_for()

    # a workload identity with a pattern and a required claim
    identities = page.get_by_test_id("workload-identities")
    identities.get_by_label("Issuer").fill(issuer["issuer"])
    identities.get_by_label("Subject", exact=True).fill("system:serviceaccount:shop:*")
    identities.get_by_label("Subject is a pattern").check()
    identities.get_by_label("Required claims").fill("/kubernetes.io/namespace=shop")
    identities.get_by_role("button", name="Add identity").click()
    page.locator("main").get_by_text("Workload identity added.").wait_for()
    [identity] = s.admin(f"/apps/{caller['client_id']}/federated-identities")["items"]
    assert identity["subject_pattern"] == "system:serviceaccount:shop:*"
    assert identity["required_claims"] == {"/kubernetes.io/namespace": "shop"}
    s.shot("exchange")

    # removing the policy asks first, then removes it at once
    remove = f"Remove the exchange policy for {target['identifier']}"
    page.get_by_role("button", name=remove).click()
    page.get_by_role("alertdialog").get_by_role("button", name="Remove").click()
    page.locator("main").get_by_text("Exchange policy removed.").wait_for()
    assert s.admin(f"/apps/{caller['client_id']}/exchange-policies")["items"] == []
    assert not s.problems
