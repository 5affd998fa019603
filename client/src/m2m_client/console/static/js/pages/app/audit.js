// The Audit tab: the audit log's records about this app (its settings, grants, secrets,
// keys, principals and identities), newest first.
import { h } from "../../ui.js";
import { auditBrowser } from "../audit.js";

export async function render(ctx) {
  const browser = auditBrowser({ scope: `app/${ctx.clientId}` });
  await browser.show();
  return h("section", { class: "panel", "aria-labelledby": "app-audit-title" }, h("h2", { id: "app-audit-title" }, "Changes to this app"), browser.container);
}
