// The console's router: one page per location hash (#/apis, #/apps/ID, ...).

import { apisPage, apiPage } from "./pages/apis.js";
import { appsPage } from "./pages/apps.js";
import { appPage } from "./pages/app/index.js";
import { issuersPage } from "./pages/issuers.js";
import { keysPage } from "./pages/keys.js";
import { auditPage } from "./pages/audit.js";
import { tryPage } from "./pages/try.js";
import { h, page } from "./ui.js";
import { navigation } from "./state.js";

const ROUTES = [
  [/^#\/apis$/, () => apisPage(), "apis"],
  [/^#\/apis\/([^/]+)$/, (m) => apiPage(decodeURIComponent(m[1])), "apis"],
  [/^#\/apps$/, () => appsPage(), "apps"],
  [/^#\/apps\/([^/]+)(?:\/([a-z]+))?$/, (m) => appPage(decodeURIComponent(m[1]), m[2] || "overview"), "apps"],
  [/^#\/issuers$/, () => issuersPage(), "issuers"],
  [/^#\/keys$/, () => keysPage(), "keys"],
  [/^#\/audit$/, () => auditPage(), "audit"],
  [/^#\/try$/, () => tryPage(), "try"],
];

async function show() {
  navigation.count += 1;
  const hash = location.hash || "#/apis";
  for (const [pattern, render, nav] of ROUTES) {
    const match = hash.match(pattern);
    if (!match) continue;
    document.querySelectorAll("[data-nav]").forEach((a) => {
      if (a.dataset.nav === nav) a.setAttribute("aria-current", "page");
      else a.removeAttribute("aria-current");
    });
    try {
      await render(match);
    } catch (err) {
      page("Something went wrong", h("div", { class: "alert", role: "alert" }, String(err.message || err)),
        h("p", {}, h("a", { href: "#/apis" }, "Back to APIs")));
    }
    return;
  }
  page("Not found", h("p", {}, h("a", { href: "#/apis" }, "Back to APIs")));
}

// One page is drawn at a time: a navigation waits for the page being drawn, so a slow
// page can never overwrite the one navigated to after it. Navigations made while one
// waits collapse into one (it draws the location as it is then).
let drawing = Promise.resolve();
let waiting = false;
function navigate(focus) {
  if (waiting) return;
  waiting = true;
  drawing = drawing.then(() => { waiting = false; return show(); })
    .then(() => { if (focus) document.getElementById("main").focus(); });
}

window.addEventListener("hashchange", () => navigate(true));
navigate(false);
