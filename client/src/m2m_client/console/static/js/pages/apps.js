import { api } from "../api.js";
import { recentSecrets } from "../state.js";
import { h, field, page, loading, table, showError, clearErrors, secretPanel, announce, fmtTime } from "../ui.js";

export function lastUse(app) {
  const used = (app.secrets || []).map((s) => s.last_used).filter(Boolean).sort();
  return used.length ? used[used.length - 1] : null;
}

export function statusBadge(app) {
  return app.enabled ? h("span", { class: "badge ok" }, "Active") : h("span", { class: "badge off" }, "Blocked");
}

export async function appsPage(created) {
  loading("Apps");
  const summaries = await api.all("/apps");
  // The list omits secrets; their last use comes from each app's own item.
  const details = await Promise.all(summaries.map((a) => api.get(`/apps/${api.seg(a.client_id)}`).catch(() => a)));
  const rows = details.map((a) => h("tr", {},
    h("td", {}, h("a", { href: `#/apps/${encodeURIComponent(a.client_id)}` }, a.name)),
    h("td", {}, h("code", {}, a.client_id)),
    h("td", {}, statusBadge(a)),
    h("td", {}, fmtTime(a.created_at)),
    h("td", {}, fmtTime(lastUse(a)))));
  const form = h("form", { class: "panel", "aria-labelledby": "create-app-title", novalidate: true },
    h("h2", { id: "create-app-title" }, "Create an app"),
    h("div", { class: "row" },
      field({ label: "Name", name: "name", required: true, placeholder: "billing-worker" }),
      field({ label: "Description", name: "description", placeholder: "Nightly billing job" })),
    h("div", { class: "actions" }, h("button", { type: "submit", class: "primary" }, "Create app")));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearErrors(form);
    const body = { name: form.elements.name.value.trim() };
    const description = form.elements.description.value.trim();
    if (description) body.description = description;
    try {
      const app = await api.post("/apps", body);
      if (app.client_secret) recentSecrets.set(app.client_id, app.client_secret);
      announce(`App ${app.name} created. Copy its secret now.`);
      await appsPage(app);
    } catch (err) {
      showError(form, err);
    }
  });
  const shown = created
    ? [secretPanel(`App “${created.name}” created`, created.client_id, created.client_secret || ""),
       h("p", {}, h("a", { href: `#/apps/${encodeURIComponent(created.client_id)}` }, `Open ${created.name}: grant it scopes`))]
    : [];
  page("Apps", shown, h("p", { class: "muted" }, "Machine-to-machine clients (client credentials)."),
    table(["Name", "client_id", "Status", "Created", "Last used"], rows, "Apps"), form);
}
