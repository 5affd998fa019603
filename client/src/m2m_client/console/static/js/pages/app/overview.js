// The app at a glance: status (block, revoke its tokens), dates, and how it authenticates.
import { api } from "../../api.js";
import { h, facts, when, showError, confirmInline } from "../../ui.js";
import { KINDS } from "./credentials.js";

export async function render(ctx) {
  const { app, path } = ctx;
  const [counts, grants, policies] = await Promise.all([
    Promise.all(KINDS.map(async (kind) => [kind, (await kind.load(ctx)).length])),
    api.all(`${path}/grants`),
    api.all(`${path}/exchange-policies`),
  ]);

  const status = h("section", { class: "panel", "aria-labelledby": "status-title" }, h("h2", { id: "status-title" }, "Status"));
  const block = h("button", { type: "button", class: app.enabled ? "danger" : "primary" }, app.enabled ? "Block app" : "Unblock app");
  block.addEventListener("click", async () => {
    if (app.enabled && !(await confirmInline(block, `Block ${app.name}? Its token requests fail until it is unblocked.`, "Block"))) return;
    try {
      await api.patch(path, { enabled: !app.enabled }, app.version);
      await ctx.done(app.enabled ? "App blocked." : "App unblocked.");
    } catch (err) { showError(status, err, { reload: ctx.reload }); }
  });
  const revoke = h("button", { type: "button" }, "Revoke all tokens");
  revoke.addEventListener("click", async () => {
    if (!(await confirmInline(revoke, "Revoke every token issued to this app so far? (Introspection reports them inactive.)", "Revoke all"))) return;
    try {
      await api.post(`${path}/revoke-tokens`);
      await ctx.done("All tokens issued so far are revoked.");
    } catch (err) { showError(status, err, { reload: ctx.reload }); }
  });
  status.append(
    h("p", {}, app.enabled ? "Token requests are served." : "Token requests are refused (invalid_client)."),
    h("div", { class: "actions" }, block, revoke));

  const methods = counts.filter(([, n]) => n > 0);
  const how = h("section", { class: "panel", "aria-labelledby": "how-title" }, h("h2", { id: "how-title" }, "How it authenticates"),
    methods.length
      ? h("ul", { class: "kinds" }, methods.map(([kind, n]) => h("li", {}, h("strong", {}, `${n} ${n === 1 ? kind.one : kind.many}`), h("span", { class: "muted" }, ` — ${kind.method}`))))
      : h("p", { class: "alert warn" }, "No credential yet: this app cannot get a token."),
    h("p", {}, h("a", { href: `#/apps/${encodeURIComponent(app.client_id)}/credentials` }, "Manage credentials")));

  const summary = h("section", { class: "panel", "aria-labelledby": "summary-title" }, h("h2", { id: "summary-title" }, "Details"),
    facts([
      ["Created", when(app.created_at)],
      ["Updated", when(app.updated_at)],
      ["Last used", when(app.last_used, { relative: true, none: "never" })],
      ["Tokens revoked before", when(app.revoked_before, { none: "never revoked" })],
      ["Authorized APIs", h("a", { href: `#/apps/${encodeURIComponent(app.client_id)}/apis` }, String(grants.length))],
      ["Token exchange policies", h("a", { href: `#/apps/${encodeURIComponent(app.client_id)}/exchange` }, String(policies.length))],
      ["Permissions", app.permissions.length ? app.permissions.join(", ") : h("span", { class: "muted" }, "none")],
      ["Version", String(app.version)],
    ]));
  return [status, how, summary];
}
