"""The web console in headless Chromium against the local server (`make local`, which
serves the console through the same proxy as `m2m console`).

The first flow: create an API, create an app and copy its secret, grant one scope with
the checkboxes, get a token in "Try it" that verifies against the JWKS, block the app and
see the next token request fail, and find each change in the audit page. Then each
screen of the admin API: an app's tabs (overview, credentials with every kind of
credential and its add/remove flow (TLS client certificates too), APIs, settings with
permissions, usage chart, audit),
a secretless app, trusted issuers with their key sets, an API's authorized apps, dates
formatted everywhere, the apps list without a request per app; a stale edit offers a
reload, a refused rotation shows its reason, every page fits 390 px, and no page breaks
its CSP or has a serious or critical axe-core violation.

Needs Debian's `chromium` (/usr/bin/chromium; `.ci/run` installs it) and Playwright for
Python (requirements-dev.txt; its own browser download is never used); skipped when
either is missing. axe-core: `make axe` (see m2m_browser.py); required when
M2M_REQUIRE_AXE=1 (`.ci/run` sets it), skipped otherwise. The README's screenshots come
from client/scripts/console_screenshots.py.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests
from m2m_browser import (
    CHROMIUM,
    NARROW,
    WIDE,
    Console,
    axe_source,
    chromium,
    console_url,
    open_console,
    serious_violations,
)
from m2m_issuer import LoopbackIssuer, loopback_issuer
from m2m_localserver import LocalServer, local_server, offline_aws
from m2m_testkit import self_signed_certificate

AUDIENCE = "https://api.example.com/inventory"
ROLE_ARN = "arn:aws:iam::123456789012:role/billing-worker"
SUBJECT = "system:serviceaccount:billing:invoicer"
EPOCH = re.compile(r"\b1[6-9]\d{8}\b")  # a raw epoch second (2020s)

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's chromium (/usr/bin/chromium)"),
]


@dataclass
class Session:
    server: LocalServer
    console: Console
    browser: Any
    issuer: LoopbackIssuer
    shots: Path

    @property
    def page(self) -> Any:
        return self.console.page

    @property
    def problems(self) -> list[str]:
        return self.console.problems

    def go(self, hash_: str) -> None:
        self.console.go(hash_)

    def shot(self, name: str) -> None:
        self.page.screenshot(path=str(self.shots / f"console-{name}.png"))

    def admin(self, path: str) -> Any:
        answer = requests.get(self.server.base + "/admin" + path, timeout=10)
        answer.raise_for_status()
        return answer.json()

    def send(self, method: str, path: str, body: Any = None) -> Any:
        answer = requests.request(method, self.server.base + "/admin" + path, json=body,
                                  timeout=10)
        answer.raise_for_status()
        return answer.json() if answer.content else None

    def token(self, client_id: str, secret: str, audience: str) -> requests.Response:
        return requests.post(self.server.base + "/oauth/token", timeout=10, data={
            "grant_type": "client_credentials", "client_id": client_id,
            "client_secret": secret, "audience": audience})


@pytest.fixture(scope="module")
def browser_session(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Session]:
    sync_api = pytest.importorskip("playwright.sync_api")
    shots = tmp_path_factory.mktemp("screenshots")
    with pytest.MonkeyPatch.context() as mp:
        offline_aws(mp)
        mp.setenv("CONSOLE_PORT", "0")
        with local_server(tmp_path_factory.mktemp("console")) as server, \
                loopback_issuer() as issuer, sync_api.sync_playwright() as playwright, \
                chromium(playwright) as browser:
            console = open_console(browser, console_url(server.banner))
            yield Session(server, console, browser, issuer, shots)


def _app_named(s: Session, name: str) -> dict[str, Any]:
    return next(a for a in s.admin("/apps?limit=200")["items"] if a["name"] == name)


def _public_jwk(kid: str) -> dict[str, Any]:
    import jwt
    from cryptography.hazmat.primitives.asymmetric import ec

    key = ec.generate_private_key(ec.SECP256R1())
    return {**json.loads(jwt.get_algorithm_by_name("ES256").to_jwk(key.public_key())),
            "kid": kid}


# --- the first flow ---------------------------------------------------------------------


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

    # WHEN Inventory API is authorized and one scope checked, on the app's APIs tab
    page.get_by_role("link", name="Open console-e2e").click()
    page.get_by_role("heading", name="console-e2e").wait_for()
    tab = page.get_by_role("navigation", name="Sections of console-e2e")
    assert tab.get_by_role("link", name="APIs").get_attribute("aria-current") == "page"
    grant = page.locator(f'.grant[data-api="{AUDIENCE}"]')
    grant.get_by_role("switch", name="Authorized").check()
    grant.get_by_role("checkbox", name="inventory:read").check()
    grant.get_by_role("button", name="Update scopes of Inventory API").click()
    page.locator("main").get_by_text("Scopes of Inventory API updated").wait_for()
    # THEN the admin API has exactly that grant
    grants = s.admin(f"/apps/{client_id}/grants")["items"]
    assert [(g["audience"], g["scopes"]) for g in grants] == [(AUDIENCE, ["inventory:read"])]

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
    times = page.get_by_test_id("token-times").inner_text()
    assert re.fullmatch(r"issued \(iat\) .+ UTC, expires \(exp\) .+ UTC", times), times

    # WHEN the app is blocked on its overview
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
    assert s.problems == []


# --- an app's tabs ----------------------------------------------------------------------


def test_the_app_page_has_a_tab_per_section_and_each_is_its_own_location(
    browser_session: Session,
) -> None:
    s, page = browser_session, browser_session.page
    app = _app_named(s, "console-e2e")
    s.go(f"#/apps/{app['client_id']}")
    tabs = page.get_by_role("navigation", name="Sections of console-e2e")
    names = tabs.get_by_role("link").all_inner_texts()
    assert names == ["Overview", "Credentials", "APIs", "Token exchange", "Settings", "Usage",
                     "Audit"]
    headings = {"Credentials": "Client secrets", "APIs": "Authorized APIs",
                "Token exchange": "Token exchange policies",
                "Settings": "Settings", "Usage": "Usage", "Audit": "Changes to this app",
                "Overview": "Status"}
    for name, heading in headings.items():
        tabs.get_by_role("link", name=name).click()
        page.get_by_role("heading", name=heading, exact=True).wait_for()
        page.get_by_text("Loading…").wait_for(state="hidden")
        assert tabs.get_by_role("link", name=name).get_attribute("aria-current") == "page"
    # the back button returns to the previous tab
    page.go_back()
    page.get_by_role("heading", name="Changes to this app").wait_for()
    assert s.problems == []


def test_a_secretless_app_gets_a_public_key_and_an_aws_principal_then_loses_them(
    browser_session: Session,
) -> None:
    s, page = browser_session, browser_session.page
    # WHEN an app is created without a secret
    s.go("#/apps")
    form = page.locator("form", has=page.get_by_role("heading", name="Create an app"))
    form.get_by_label("Name", exact=True).fill("keyed-worker")
    form.get_by_label("Create a client secret").uncheck()
    form.get_by_role("button", name="Create app").click()
    # THEN its Credentials tab opens, saying it has no credential yet
    page.get_by_role("heading", name="keyed-worker").wait_for()
    page.locator("main").get_by_text("created without a secret").wait_for()
    page.get_by_text("no credential yet").wait_for()
    client_id = page.get_by_test_id("client-id").inner_text()
    assert s.admin(f"/apps/{client_id}")["secrets"] == []
    assert page.get_by_test_id("new-secret").count() == 0

    keys = page.locator('section[data-kind="keys"]')
    # WHEN a private JWK is pasted, THEN the page refuses it and sends nothing
    private = {"kty": "EC", "crv": "P-256", "x": "x", "y": "y", "d": "secret", "kid": "k"}
    keys.get_by_label("Public JWK (JSON)").fill(json.dumps(private))
    keys.get_by_role("button", name="Add key").click()
    keys.locator(".field-error", has_text="this is a PRIVATE key").wait_for()
    assert keys.get_by_label("Public JWK (JSON)").get_attribute("aria-invalid") == "true"
    assert s.admin(f"/apps/{client_id}/keys")["items"] == []
    # WHEN a public JWK is pasted with a kid, THEN it is registered under that kid
    keys.get_by_label("Public JWK (JSON)").fill(json.dumps(_public_jwk("ignored")))
    keys.get_by_label("Key id (kid)").fill("worker-key-1")
    keys.get_by_role("button", name="Add key").click()
    page.locator("main").get_by_text("Key worker-key-1 added.").wait_for()
    assert [k["kid"] for k in s.admin(f"/apps/{client_id}/keys")["items"]] == ["worker-key-1"]
    assert page.locator('section[data-kind="keys"]').get_by_role(
        "cell", name="worker-key-1", exact=True).is_visible()

    # WHEN an invalid ARN is added, THEN the server's error sits beside the field
    principals = page.locator('section[data-kind="aws-principals"]')
    principals.get_by_label("IAM role or user ARN").fill("arn:aws:s3:::bucket")
    principals.get_by_role("button", name="Add principal").click()
    page.wait_for_selector('[data-field="arn"][aria-invalid="true"]')
    # WHEN a role ARN is added, THEN it is listed with what it matches
    principals.get_by_label("IAM role or user ARN").fill(ROLE_ARN)
    principals.get_by_role("button", name="Add principal").click()
    page.locator("main").get_by_text("AWS principal added.").wait_for()
    principals = page.locator('section[data-kind="aws-principals"]')
    assert principals.get_by_role("cell", name=ROLE_ARN, exact=True).first.is_visible()
    assert [p["arn"] for p in s.admin(f"/apps/{client_id}/aws-principals")["items"]] == [ROLE_ARN]

    # THEN the overview says how it authenticates
    s.go(f"#/apps/{client_id}")
    how = page.locator("section", has=page.get_by_role("heading", name="How it authenticates"))
    assert "1 public key" in how.inner_text() and "1 AWS principal" in how.inner_text()

    # WHEN both are removed after confirming, THEN the app has neither
    s.go(f"#/apps/{client_id}/credentials")
    page.get_by_role("button", name="Remove key worker-key-1").click()
    page.get_by_role("alertdialog").get_by_role("button", name="Remove").click()
    page.locator("main").get_by_text("Key removed.").wait_for()
    page.get_by_role("button", name=f"Remove AWS principal {ROLE_ARN}").click()
    page.get_by_role("alertdialog").get_by_role("button", name="Remove").click()
    page.locator("main").get_by_text("AWS principal removed.").wait_for()
    assert s.admin(f"/apps/{client_id}/keys")["items"] == []
    assert s.admin(f"/apps/{client_id}/aws-principals")["items"] == []
    assert s.problems == []


def test_an_app_gets_tls_client_certificates_by_name_and_by_certificate_then_loses_them(
    browser_session: Session,
) -> None:
    s, page = browser_session, browser_session.page
    client_id = s.send("POST", "/apps", {"name": "mtls-worker", "secret": False})["client_id"]
    s.go(f"#/apps/{client_id}/credentials")
    section = page.locator('section[data-kind="tls-clients"]')
    section.get_by_role("heading", name="TLS client certificates").wait_for()
    # WHEN a subject DN the server cannot read is added, THEN its error sits beside the value
    section.get_by_label("Match by").select_option("tls_client_auth_subject_dn")
    section.get_by_label("Value").fill("not a distinguished name")
    section.get_by_role("button", name="Add certificate").click()
    page.wait_for_selector('[data-field="tls_client_auth_subject_dn"][aria-invalid="true"]')
    assert "RFC 4514" in section.locator(".field-error").inner_text()
    # WHEN a valid DN is added, THEN it is the app's tls_client_auth rule
    section.get_by_label("Value").fill("CN=mtls-worker,O=Example Corp")
    section.get_by_role("button", name="Add certificate").click()
    page.locator("main").get_by_text("TLS client certificate added.").wait_for()
    # WHEN a JWK Set with a private member is pasted, THEN nothing is sent
    section = page.locator('section[data-kind="tls-clients"]')
    section.get_by_label("Match by").select_option("jwks")
    section.get_by_label("Value").fill(json.dumps({"keys": [{"kty": "EC", "d": "secret"}]}))
    section.get_by_role("button", name="Add certificate").click()
    section.locator(".field-error", has_text="PRIVATE key").wait_for()
    assert len(s.admin(f"/apps/{client_id}/tls-clients")["items"]) == 1
    # WHEN a PEM certificate is pasted, THEN it is registered (and shown) as its thumbprint
    pem, _ = self_signed_certificate("mtls-worker-self-signed")
    section.get_by_label("Match by").select_option("certificate")
    section.get_by_label("Value").fill(pem)
    section.get_by_role("button", name="Add certificate").click()
    page.locator("main").get_by_text("TLS client certificate added.").wait_for()
    listed = sorted(s.admin(f"/apps/{client_id}/tls-clients")["items"],
                    key=lambda t: t["method"])
    assert [t["method"] for t in listed] == ["self_signed_tls_client_auth", "tls_client_auth"]
    assert listed[1]["tls_client_auth_subject_dn"] == "CN=mtls-worker,O=Example Corp"
    section = page.locator('section[data-kind="tls-clients"]')
    section.get_by_text(listed[0]["x5t#S256"][0]).wait_for()
    assert not EPOCH.search(section.inner_text())  # dates are formatted
    # THEN the overview counts them
    s.go(f"#/apps/{client_id}")
    how = page.locator("section", has=page.get_by_role("heading", name="How it authenticates"))
    how.get_by_text("2 TLS client certificates").wait_for()
    # WHEN both are removed after confirming, THEN the app has none
    s.go(f"#/apps/{client_id}/credentials")
    for rule in listed:
        page.get_by_role("button", name=f"Remove certificate rule {rule['id']}").click()
        page.get_by_role("alertdialog").get_by_role("button", name="Remove").click()
        page.locator("main").get_by_text("TLS client certificate removed.").wait_for()
    assert s.admin(f"/apps/{client_id}/tls-clients")["items"] == []
    assert s.problems == []


def test_secrets_are_added_with_an_expiry_shown_once_and_revoked(
    browser_session: Session,
) -> None:
    s, page = browser_session, browser_session.page
    app = s.send("POST", "/apps", {"name": "rotating"})
    old_secret = app["secret_id"]
    s.go(f"#/apps/{app['client_id']}/credentials")
    secrets = page.locator('section[data-kind="secrets"]')
    # the section lists this app's secret: never the previous page's, still being replaced
    secrets.get_by_role("row", name=re.compile(old_secret)).wait_for()
    secrets.get_by_label("Expires in (seconds)").fill("86400")
    secrets.get_by_role("button", name="Add a secret").click()
    new_secret = page.get_by_test_id("new-secret")
    new_secret.wait_for()
    assert new_secret.input_value().startswith("m2msec_")
    listed = s.admin(f"/apps/{app['client_id']}")["secrets"]
    [added] = [x for x in listed if x["secret_id"] != old_secret]
    assert len(listed) == 2 and added["expires_at"] is not None
    # the expiry is a formatted date, never an RFC 3339 string or an epoch
    row = page.get_by_role("row", name=re.compile(added["secret_id"]))
    expires = row.locator('td[data-label="Expires"]').inner_text()
    assert re.fullmatch(r"\d{2} \w{3} \d{4}, \d{2}:\d{2} UTC", expires), expires
    page.get_by_role("button", name=f"Revoke secret {old_secret}").click()
    page.get_by_role("alertdialog").get_by_role("button", name="Revoke").click()
    page.locator("main").get_by_text("Secret revoked.").wait_for()
    assert [x["secret_id"] for x in s.admin(f"/apps/{app['client_id']}")["secrets"]] == [
        added["secret_id"]]


def test_an_action_finishing_after_the_user_moved_on_never_draws_over_the_new_page(
    browser_session: Session,
) -> None:
    # a secret added on app A while the user opens app B: A's redraw (after the POST)
    # must not replace B's page, nor show A's new secret on it
    s, page = browser_session, browser_session.page
    a = s.send("POST", "/apps", {"name": "left behind"})
    b = s.send("POST", "/apps", {"name": "moved on to"})
    s.go(f"#/apps/{a['client_id']}/credentials")
    page.evaluate("""(hash) => {
        document.querySelector('section[data-kind="secrets"] form').requestSubmit();
        location.hash = hash;
    }""", f"#/apps/{b['client_id']}/credentials")
    page.get_by_role("heading", level=1, name="moved on to").wait_for()
    # A's secret was created (the request was sent), and its redraw came and went
    deadline = 50
    while len(s.admin(f"/apps/{a['client_id']}")["secrets"]) < 2 and deadline:
        page.wait_for_timeout(100)
        deadline -= 1
    page.wait_for_timeout(500)

    assert page.locator("main h1").inner_text() == "moved on to"
    secrets = page.locator('section[data-kind="secrets"]')
    secrets.get_by_role("row", name=re.compile(b["secret_id"])).wait_for()
    assert page.get_by_test_id("new-secret").count() == 0
    assert s.problems == []


def test_trusted_issuers_show_their_key_set_and_apps_accept_a_federated_identity(
    browser_session: Session,
) -> None:
    s, page = browser_session, browser_session.page
    issuer = s.issuer.issuer
    # WHEN a Kubernetes issuer is trusted with its preset
    s.go("#/issuers")
    form = page.locator("form", has=page.get_by_role("heading", name="Trust an issuer"))
    form.get_by_label("Preset").select_option("kubernetes")
    assert form.get_by_label("Accept each token once (jti)").input_value() == ""
    assert "Preset default (off)" in form.get_by_label("Accept each token once (jti)").inner_text()
    form.get_by_label("Name (optional)").fill("Test cluster")
    form.get_by_label("Issuer URL").fill(issuer)
    form.get_by_role("button", name="Trust issuer").click()
    page.locator("main").get_by_text(f"Trusted Test cluster ({issuer}).").wait_for()
    # THEN its key set is fetched and its key ids shown
    [record] = [i for i in s.admin("/issuers")["items"] if i["issuer"] == issuer]
    cell = page.get_by_test_id(f"key-set-{record['id']}")
    cell.locator('[data-state="ok"]').wait_for()
    for kid in s.issuer.kids:
        assert cell.get_by_text(kid).is_visible()
    assert s.issuer.jwks_uri in cell.inner_text()
    # WHEN the spiffe preset is chosen, THEN its own fields replace the issuer URL
    form.get_by_label("Preset").select_option("spiffe")
    assert form.get_by_label("Trust domain").is_visible()
    assert form.get_by_label("Issuer URL").count() == 0
    # WHEN the same issuer is trusted again, THEN the conflict is shown
    form.get_by_label("Preset").select_option("kubernetes")
    form.get_by_label("Issuer URL").fill(issuer)
    form.get_by_role("button", name="Trust issuer").click()
    form.get_by_text("Conflict").first.wait_for()

    # WHEN an app accepts a workload of that issuer
    app = s.send("POST", "/apps", {"name": "federated-worker", "secret": False})
    s.go(f"#/apps/{app['client_id']}/credentials")
    identities = page.locator('section[data-kind="federated"]')
    identities.get_by_label("Trusted issuer").select_option(issuer)
    assert "system:serviceaccount" in identities.inner_text()  # the subject's shape
    identities.get_by_label("Subject (sub)").fill("not-a-service-account")
    identities.get_by_role("button", name="Add identity").click()
    page.wait_for_selector('[data-field="subject"][aria-invalid="true"]')
    identities.get_by_label("Subject (sub)").fill(SUBJECT)
    identities.get_by_role("button", name="Add identity").click()
    page.locator("main").get_by_text("Federated identity added.").wait_for()
    [identity] = s.admin(f"/apps/{app['client_id']}/federated-identities")["items"]
    assert (identity["issuer"], identity["subject"]) == (issuer, SUBJECT)
    # THEN it can be removed again
    page.get_by_role("button", name=f"Remove federated identity {SUBJECT}").click()
    page.get_by_role("alertdialog").get_by_role("button", name="Remove").click()
    page.locator("main").get_by_text("Federated identity removed.").wait_for()
    assert s.admin(f"/apps/{app['client_id']}/federated-identities")["items"] == []

    # WHEN the issuer is deleted after confirming, THEN it is gone
    s.go("#/issuers")
    page.get_by_role("button", name="Delete issuer Test cluster").click()
    page.get_by_role("alertdialog").get_by_role("button", name="Delete").click()
    page.locator("main").get_by_text("Test cluster is no longer trusted.").wait_for()
    assert [i for i in s.admin("/issuers")["items"] if i["issuer"] == issuer] == []
    assert s.problems == []


def test_app_settings_save_only_what_changed_with_errors_beside_their_fields(
    browser_session: Session,
) -> None:
    s, page = browser_session, browser_session.page
    app = _app_named(s, "console-e2e")
    s.go(f"#/apps/{app['client_id']}/settings")
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
    # WHEN the values are valid and the introspect permission is checked
    per_hour.fill("100")
    settings.get_by_role("checkbox", name="introspect").check()
    settings.get_by_role("button", name="Save settings").click()
    page.locator("main").get_by_text("Settings saved.").wait_for()
    # THEN exactly those changes are saved (the audit record lists only them)
    saved = s.admin(f"/apps/{app['client_id']}")
    assert saved["claims"] == {"team": "billing"}
    assert saved["quota"]["per_hour"] == 100
    assert saved["permissions"] == ["introspect"]
    [record] = [r for r in s.admin("/audit?limit=5")["items"] if r["action"] == "app.update"][:1]
    assert set(record["changes"]) == {"claims", "permissions", "quota"}
    # WHEN nothing changed, THEN nothing is sent
    settings = page.locator("form", has=page.get_by_role("heading", name="Settings"))
    settings.get_by_role("button", name="Save settings").click()
    settings.get_by_text("Nothing changed.").wait_for()
    assert s.admin(f"/apps/{app['client_id']}")["version"] == saved["version"]
    # THEN the usage tab draws the quota
    s.go(f"#/apps/{app['client_id']}/usage")
    assert "quota 100 per hour" in page.get_by_test_id("usage-summary").inner_text()


def test_the_usage_chart_has_axes_values_and_the_numbers(browser_session: Session) -> None:
    s, page = browser_session, browser_session.page
    # GIVEN an app that got 3 fresh tokens this hour (reuse off: every one is signed)
    created = s.send("POST", "/apis", {"name": "Usage API", "identifier": "https://usage.example",
                                       "scopes": [{"value": "u:read"}], "token_reuse": None})
    app = s.send("POST", "/apps", {"name": "busy", "quota": {"per_hour": 10}})
    s.send("PUT", f"/apps/{app['client_id']}/grants/{created['id']}", {"scopes": ["u:read"]})
    for _ in range(3):
        assert s.token(app["client_id"], app["client_secret"], "https://usage.example").ok
    s.go(f"#/apps/{app['client_id']}/usage")
    hourly = page.locator("figure").first
    chart = hourly.get_by_role("img")
    label = chart.get_attribute("aria-label")
    assert "3 fresh tokens in 48 hours" in label and "quota 10 per hour" in label
    texts = chart.locator("text").all_text_contents()
    assert {"0", "tokens", "hour (UTC)", "quota 10"} <= set(texts)  # axes, quota
    assert "3" in texts  # the value above the current hour's bar
    assert any(re.fullmatch(r"\d{2}:00", t) for t in texts)  # x axis: hours
    hourly.get_by_text("The numbers").click()
    [row] = hourly.locator("tbody tr").all()
    assert row.locator("td").nth(1).inner_text() == "3"
    assert "UTC" in row.locator("td").first.inner_text()


def test_the_app_audit_tab_shows_only_this_apps_changes_with_formatted_dates(
    browser_session: Session,
) -> None:
    s, page = browser_session, browser_session.page
    app = s.send("POST", "/apps", {"name": "audited"})
    other = s.send("POST", "/apps", {"name": "not audited here"})
    s.send("POST", f"/apps/{app['client_id']}/secrets", {"expires_in": 3600})
    s.send("POST", f"/apps/{app['client_id']}/revoke-tokens", {})
    s.send("PATCH", f"/apps/{other['client_id']}", {"description": "changed"})
    s.go(f"#/apps/{app['client_id']}/audit")
    rows = page.locator("tbody tr")
    actions = [rows.nth(i).locator("td").nth(2).inner_text() for i in range(rows.count())]
    assert actions == ["app.revoke_tokens", "secret.create", "app.create"], actions
    text = page.locator("main table").inner_text()
    # revoked_before and expires_at are epochs in the audit record: shown as dates
    assert "revoked_before" in text and "expires_at" in text
    assert not EPOCH.search(text), text
    assert len(re.findall(r"\d{2} \w{3} \d{4}, \d{2}:\d{2} UTC", text)) >= 5
    s.go("#/audit")
    assert not EPOCH.search(page.locator("main table").inner_text())


# --- lists and the API page -------------------------------------------------------------


def test_the_apps_list_shows_last_use_without_a_request_per_app(
    browser_session: Session,
) -> None:
    s, page = browser_session, browser_session.page
    app = s.send("POST", "/apps", {"name": "recently used"})
    s.send("POST", "/apps", {"name": "never used"})
    demo = next(a for a in s.admin("/apis")["items"] if "demo" in a["name"])
    s.send("PUT", f"/apps/{app['client_id']}/grants/{demo['id']}", {"scopes": ["orders:read"]})
    assert s.token(app["client_id"], app["client_secret"], demo["identifier"]).ok
    seen: list[str] = []

    def record(request: Any) -> None:
        seen.append(request.url)

    page.on("request", record)
    try:
        s.go("#/apps")
    finally:
        page.remove_listener("request", record)
    admin_calls = [u for u in seen if "/admin/" in u]
    assert admin_calls and all(re.search(r"/admin/apps\?", u) for u in admin_calls), admin_calls
    row = page.get_by_role("row", name=re.compile("recently used"))
    assert re.search(r"UTC \((just now|\d+ min ago)\)", row.inner_text()), row.inner_text()
    never = page.get_by_role("row", name=re.compile("never used"))
    assert "never" in never.inner_text()


def test_the_api_page_lists_the_apps_authorized_for_it(browser_session: Session) -> None:
    s, page = browser_session, browser_session.page
    api = next(a for a in s.admin("/apis")["items"] if a["identifier"] == AUDIENCE)
    s.go(f"#/apis/{api['id']}")
    authorized = page.locator("section", has=page.get_by_role(
        "heading", name=re.compile("Authorized apps")))
    assert "Authorized apps (1)" in authorized.inner_text()
    row = authorized.get_by_role("row", name=re.compile("console-e2e"))
    assert "inventory:read" in row.inner_text() and "Blocked" in row.inner_text()
    row.get_by_role("link", name="console-e2e").click()
    page.get_by_role("heading", name="Authorized APIs").wait_for()


# --- the earlier screens ----------------------------------------------------------------


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
    requests.patch(f"{s.server.base}/admin/apis/{api['id']}", json={"name": "Inventory API"},
                   timeout=10).raise_for_status()


def test_a_stale_app_settings_edit_offers_a_reload(browser_session: Session) -> None:
    s, page = browser_session, browser_session.page
    app = s.send("POST", "/apps", {"name": "contended"})
    s.go(f"#/apps/{app['client_id']}/settings")
    s.send("PATCH", f"/apps/{app['client_id']}", {"description": "changed elsewhere"})
    page.get_by_label("Name", exact=True).fill("contended, renamed")
    page.get_by_role("button", name="Save settings").click()
    page.get_by_text("Someone else changed this item").wait_for()
    page.get_by_role("button", name="Reload the current version").click()
    page.get_by_text("changed elsewhere").first.wait_for()


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


def _every_page(s: Session) -> list[str]:
    """Every page and tab, with content: an app with a grant, an API, an issuer."""
    apps = [a for a in s.admin("/apps?limit=200")["items"] if a["name"] == "console-e2e"]
    apis = s.admin("/apis?limit=200")["items"]
    api = next((a for a in apis if a["identifier"] == AUDIENCE), None) or s.send(
        "POST", "/apis", {"name": "Inventory API", "identifier": AUDIENCE,
                          "scopes": [{"value": "inventory:read"}]})
    if not apps:
        apps = [s.send("POST", "/apps", {"name": "console-e2e"})]
        s.send("PUT", f"/apps/{apps[0]['client_id']}/grants/{api['id']}",
               {"scopes": ["inventory:read"]})
    app, api = apps[0]["client_id"], api["id"]
    if not any(i["issuer"] == s.issuer.issuer for i in s.admin("/issuers")["items"]):
        s.send("POST", "/issuers", {"preset": "kubernetes", "issuer": s.issuer.issuer})
    tabs = ["", "/credentials", "/apis", "/exchange", "/settings", "/usage", "/audit"]
    return ["#/apis", f"#/apis/{api}", "#/apps", *[f"#/apps/{app}{t}" for t in tabs],
            "#/issuers", "#/keys", "#/audit", "#/try"]


def test_every_page_fits_390_px_and_works_from_the_keyboard(browser_session: Session) -> None:
    s, page = browser_session, browser_session.page
    page.set_viewport_size(NARROW)
    try:
        for hash_ in _every_page(s):
            s.go(hash_)
            overflow = page.evaluate(
                "document.documentElement.scrollWidth - document.documentElement.clientWidth")
            assert overflow <= 1, (hash_, overflow)
            # every tab of an app stays on screen (they wrap, none is scrolled away)
            for box in [t.bounding_box() for t in page.locator("nav.tabs a").all()]:
                assert box is not None and box["x"] + box["width"] <= NARROW["width"], hash_
            # every form control has a label
            unlabelled = page.evaluate("""[...document.querySelectorAll('input, select, textarea')]
                .filter((el) => !el.labels.length && !el.getAttribute('aria-label')).length""")
            assert unlabelled == 0, hash_
        # tables become labelled cards: each cell shows its column's name
        s.go("#/apps")
        first = page.locator("main tbody tr").first.locator("td").first
        assert first.get_attribute("data-label") == "Name"
        assert page.evaluate("""getComputedStyle(document.querySelector('main tbody td'),
            '::before').content""") == '"Name"'
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
        page.set_viewport_size(WIDE)
    assert s.problems == []


def test_pages_have_no_serious_accessibility_violations(browser_session: Session) -> None:
    source = axe_source()
    if source is None:
        if os.environ.get("M2M_REQUIRE_AXE") == "1":
            pytest.fail("axe-core is not installed: run `make axe` (npm ci in client/tests/axe)")
        pytest.skip("axe-core is not installed (make axe, or AXE_CORE_JS=path/axe.min.js)")
    s = browser_session
    found: dict[str, list[str]] = {}
    for viewport in (WIDE, NARROW):
        # axe is injected, so this context lets it in; the CSP itself is tested elsewhere.
        other = open_console(s.browser, s.console.url, bypass_csp=True, viewport=viewport)
        try:
            for hash_ in _every_page(s):
                other.go(hash_)
                serious = serious_violations(other.page, source)
                if serious:
                    found[f"{hash_} at {viewport['width']} px"] = serious
        finally:
            other.page.context.close()
    assert found == {}


def test_an_api_is_deleted_after_confirmation(browser_session: Session) -> None:
    s, page = browser_session, browser_session.page
    created = s.send("POST", "/apis", {"name": "Short-lived API",
                                       "identifier": "https://api.example.com/short"})
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


def test_an_app_is_deleted_from_its_settings_after_confirmation(
    browser_session: Session,
) -> None:
    s, page = browser_session, browser_session.page
    app = s.send("POST", "/apps", {"name": "short-lived app"})
    s.go(f"#/apps/{app['client_id']}/settings")
    page.get_by_role("button", name="Delete app").click()
    page.get_by_role("alertdialog").get_by_role("button", name="Delete").click()
    page.get_by_role("heading", name="Apps", exact=True).wait_for()
    gone = requests.get(f"{s.server.base}/admin/apps/{app['client_id']}", timeout=10)
    assert gone.status_code == 404


def test_the_browser_check_verifies_rs256_and_es256_and_refuses_forgeries(
    browser_session: Session,
) -> None:
    """jwt.js (WebCrypto) on tokens made here with PyJWT: both algorithms verify; a
    changed claim, another key, an unknown kid and alg=none do not."""
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
    created = s.send("POST", "/apis", {"name": "Paged 0",
                                       "identifier": "https://api.example.com/paged"})
    for n in range(1, 27):  # 26 more records: more than one console page (25)
        s.send("PATCH", f"/apis/{created['id']}", {"name": f"Paged {n}"})
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


def test_dpop_certificate_bound_and_sender_constrained_settings_are_saved(
    browser_session: Session,
) -> None:
    s, page = browser_session, browser_session.page
    app = next(a for a in s.admin("/apps?limit=200")["items"] if a["name"] == "console-e2e")
    # GIVEN the app page, WHEN "Require DPoP" is ticked and saved
    s.go(f"#/apps/{app['client_id']}/settings")
    settings = page.locator("form", has=page.get_by_role("heading", name="Settings"))
    assert not settings.get_by_label("Require DPoP").is_checked()
    settings.get_by_label("Require DPoP").check()
    settings.get_by_role("button", name="Save settings").click()
    page.locator("main").get_by_text("Settings saved.").wait_for()
    # THEN the app must use DPoP, and the page shows it ticked after the reload
    assert s.admin(f"/apps/{app['client_id']}")["dpop_bound_access_tokens"] is True
    assert page.locator("form", has=page.get_by_role("heading", name="Settings")).get_by_label(
        "Require DPoP").is_checked()
    # AND an API can require sender-constrained tokens from its page, and stop again
    api = s.admin("/apis?limit=200")["items"][0]
    for wanted in (True, False):
        s.go(f"#/apis/{api['id']}")
        box = page.get_by_label("Require sender-constrained tokens")
        assert box.is_checked() is (not wanted)
        box.set_checked(wanted)
        page.get_by_role("button", name="Save changes").click()
        page.locator("main").get_by_text("Saved.").first.wait_for()
        assert s.admin(f"/apis/{api['id']}")["sender_constrained_tokens_required"] is wanted
    s.go(f"#/apps/{app['client_id']}/settings")
    settings = page.locator("form", has=page.get_by_role("heading", name="Settings"))
    settings.get_by_label("Require DPoP").uncheck()
    settings.get_by_role("button", name="Save settings").click()
    page.locator("main").get_by_text("Settings saved.").wait_for()
    assert s.admin(f"/apps/{app['client_id']}")["dpop_bound_access_tokens"] is False
    # AND "Require certificate-bound tokens" (RFC 8705 §3.4) is saved the same way, on, off
    for wanted in (True, False):
        settings = page.locator("form", has=page.get_by_role("heading", name="Settings"))
        box = settings.get_by_label("Require certificate-bound tokens")
        assert box.is_checked() is (not wanted)
        box.set_checked(wanted)
        settings.get_by_role("button", name="Save settings").click()
        page.locator("main").get_by_text("Settings saved.").wait_for()
        assert s.admin(f"/apps/{app['client_id']}")[
            "tls_client_certificate_bound_access_tokens"] is wanted
        assert page.locator("form", has=page.get_by_role("heading", name="Settings")).get_by_label(
            "Require certificate-bound tokens").is_checked() is wanted
    assert not s.problems


def test_exchange_policies_are_set_edited_and_removed_on_their_own_tab(
    browser_session: Session,
) -> None:
    s, page = browser_session, browser_session.page
    target = s.send("POST", "/apis", {
        "name": "Stock", "identifier": "https://api.example.com/stock",
        "scopes": [{"value": "stock:read", "description": "Read"}, {"value": "stock:write"}]})
    source = s.send("POST", "/apis", {"name": "Shop", "identifier": "https://api.example.com/shop"})
    caller = s.send("POST", "/apps", {"name": "Shop service"})
    path = f"/apps/{caller['client_id']}/exchange-policies"

    # GIVEN the app's Token exchange tab, WHEN a policy is saved without a scope, THEN
    # nothing is sent and the scopes are marked
    s.go(f"#/apps/{caller['client_id']}/exchange")
    form = page.locator("form", has=page.get_by_role("heading", name="Set an exchange policy"))
    form.get_by_label("Target API").select_option(target["id"])
    form.get_by_label("Shop", exact=True).check()
    form.get_by_role("button", name="Save policy").click()
    page.wait_for_selector('[data-field="scopes"][aria-invalid="true"]')
    assert s.admin(path)["items"] == []
    # WHEN a scope, a source API and a depth are chosen, THEN the server has the policy
    form.get_by_label("stock:read").check()
    form.get_by_label("Longest act chain").fill("2")
    form.get_by_role("button", name="Save policy").click()
    page.locator("main").get_by_text("Exchange policy saved.").wait_for()
    [policy] = s.admin(path)["items"]
    assert (policy["target_api_id"], policy["scopes"], policy["source_apis"], policy["delegation"],
            policy["impersonation"], policy["max_act_depth"]) == (
        target["id"], ["stock:read"], [source["id"]], True, False, 2)
    listed = page.get_by_test_id("exchange-policies")
    assert "stock:read" in listed.inner_text() and "delegation" in listed.inner_text()

    # WHEN the target is chosen again, THEN its policy is loaded for editing; a depth
    # beyond the limit is refused beside its field
    form = page.locator("form", has=page.get_by_role("heading", name="Set an exchange policy"))
    form.get_by_label("Target API").select_option(target["id"])
    assert form.get_by_label("stock:read").is_checked()
    assert form.get_by_label("Longest act chain").input_value() == "2"
    form.get_by_label("Longest act chain").fill("9")
    form.get_by_role("button", name="Save policy").click()
    page.wait_for_selector('[data-field="max_act_depth"][aria-invalid="true"]')
    # AND someone else's change since the page loaded makes the edit a 412 with a reload
    s.send("PUT", f"{path}/{target['id']}", {"scopes": ["stock:read"],
                                             "source_apis": [source["id"]]})
    form.get_by_label("Longest act chain").fill("3")
    form.get_by_label("Impersonation").check()
    form.get_by_role("button", name="Save policy").click()
    form.get_by_role("button", name="Reload the current version").click()
    form = page.locator("form", has=page.get_by_role("heading", name="Set an exchange policy"))
    form.get_by_label("Target API").select_option(target["id"])
    form.get_by_label("Impersonation").check()
    form.get_by_role("button", name="Save policy").click()
    page.locator("main").get_by_text("Exchange policy saved.").wait_for()
    assert s.admin(path)["items"][0]["impersonation"] is True
    s.go(f"#/apps/{caller['client_id']}")
    count = page.locator("dl.facts a[href$='/exchange']")
    count.wait_for()
    assert count.inner_text() == "1"  # the overview counts the app's policies
    s.shot("exchange")

    # WHEN the policy is removed after confirming, THEN it is gone
    s.go(f"#/apps/{caller['client_id']}/exchange")
    page.get_by_role("button", name="Remove the exchange policy for Stock").click()
    page.get_by_role("alertdialog").get_by_role("button", name="Remove").click()
    page.locator("main").get_by_text("Exchange policy removed.").wait_for()
    assert s.admin(path)["items"] == []
    assert not s.problems


def test_claim_rules_with_a_subject_pattern_and_required_claims_are_added_as_credentials(
    browser_session: Session,
) -> None:
    s, page = browser_session, browser_session.page
    if not any(i["issuer"] == s.issuer.issuer for i in s.admin("/issuers")["items"]):
        s.send("POST", "/issuers", {"preset": "kubernetes", "issuer": s.issuer.issuer})
    app = s.send("POST", "/apps", {"name": "pattern-worker", "secret": False})
    s.go(f"#/apps/{app['client_id']}/credentials")
    identities = page.locator('section[data-kind="federated"]')
    identities.get_by_label("Trusted issuer").select_option(s.issuer.issuer)
    identities.get_by_label("Subject (sub)").fill("system:serviceaccount:shop:*")
    identities.get_by_label("Match subjects by pattern").check()
    # WHEN a required claim is not NAME=VALUE, THEN it is refused beside its field
    identities.get_by_label("Required claims (optional)").fill("namespace")
    identities.get_by_role("button", name="Add identity").click()
    page.wait_for_selector('[data-field="required_claims"][aria-invalid="true"]')
    assert s.admin(f"/apps/{app['client_id']}/federated-identities")["items"] == []
    # WHEN it is, THEN the rule is stored with its pattern and claims, and listed
    identities.get_by_label("Required claims (optional)").fill("/kubernetes.io/namespace=shop")
    identities.get_by_role("button", name="Add identity").click()
    page.locator("main").get_by_text("Federated identity added.").wait_for()
    [identity] = s.admin(f"/apps/{app['client_id']}/federated-identities")["items"]
    assert identity["subject_pattern"] == "system:serviceaccount:shop:*"
    assert identity.get("subject") is None
    assert identity["required_claims"] == {"/kubernetes.io/namespace": "shop"}
    shown = page.locator('section[data-kind="federated"]').inner_text()
    assert "pattern" in shown and "/kubernetes.io/namespace=shop" in shown
    # AND a pattern the server refuses (a * first) is marked on the subject field
    identities = page.locator('section[data-kind="federated"]')
    identities.get_by_label("Subject (sub)").fill("*:serviceaccount")
    identities.get_by_label("Match subjects by pattern").check()
    identities.get_by_role("button", name="Add identity").click()
    page.wait_for_selector('[data-field="subject"][aria-invalid="true"]')
    assert len(s.admin(f"/apps/{app['client_id']}/federated-identities")["items"]) == 1
    assert not s.problems
    assert not s.problems
