// The console's router: one page per location hash (#/apis, #/apps/ID, ...).

import { apisPage, apiPage } from "./pages/apis.js";
import { appsPage } from "./pages/apps.js";
import { appPage } from "./pages/app.js";
import { keysPage } from "./pages/keys.js";
import { auditPage } from "./pages/audit.js";
import { tryPage } from "./pages/try.js";
import { h, page } from "./ui.js";

const ROUTES = [
  [/^#\/apis$/, () => apisPage(), "apis"],
  [/^#\/apis\/([^/]+)$/, (m) => apiPage(decodeURIComponent(m[1])), "apis"],
  [/^#\/apps$/, () => appsPage(), "apps"],
  [/^#\/apps\/([^/]+)$/, (m) => appPage(decodeURIComponent(m[1])), "apps"],
  [/^#\/keys$/, () => keysPage(), "keys"],
  [/^#\/audit$/, () => auditPage(), "audit"],
  [/^#\/try$/, () => tryPage(), "try"],
];

async function show() {
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

window.addEventListener("hashchange", () => { show().then(() => document.getElementById("main").focus()); });
show();
