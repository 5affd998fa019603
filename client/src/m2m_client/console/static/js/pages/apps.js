import { api } from "../api.js";
import { flash, recentSecrets } from "../state.js";
import { h, field, page, loading, table, showError, clearErrors, secretPanel, announce, when } from "../ui.js";

export function statusBadge(app) {
  return app.enabled ? h("span", { class: "badge ok" }, "Active") : h("span", { class: "badge off" }, "Blocked");
}

const href = (clientId, tab) => `#/apps/${encodeURIComponent(clientId)}${tab ? "/" + tab : ""}`;

// The list: one request per 200 apps (each item carries its last use), never one per app.
export async function appsPage(created) {
  loading("Apps");
  const apps = await api.all("/apps");
  const rows = apps.map((a) => h("tr", {},
    h("td", {}, h("a", { href: href(a.client_id) }, a.name)),
    h("td", {}, h("code", {}, a.client_id)),
    h("td", {}, statusBadge(a)),
    h("td", {}, when(a.created_at)),
    h("td", {}, when(a.last_used, { relative: true, none: "never" }))));
  const form = h("form", { class: "panel", "aria-labelledby": "create-app-title", novalidate: true },
    h("h2", { id: "create-app-title" }, "Create an app"),
    h("div", { class: "row" },
      field({ label: "Name", name: "name", required: true, placeholder: "billing-worker" }),
      field({ label: "Description", name: "description", placeholder: "Nightly billing job" })),
    h("div", { class: "row" },
      field({ label: "Create a client secret", name: "secret", type: "checkbox", checked: true,
        hint: "Off: no secret; the app authenticates with a public key, an AWS role or a federated identity, added on its Credentials tab." })),
    h("div", { class: "actions" }, h("button", { type: "submit", class: "primary" }, "Create app")));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearErrors(form);
    const body = { name: form.elements.name.value.trim() };
    const description = form.elements.description.value.trim();
    if (description) body.description = description;
    if (!form.elements.secret.checked) body.secret = false;
    try {
      const app = await api.post("/apps", body);
      if (!app.client_secret) {  // secretless: straight to where its credential is added
        flash.text = `App ${app.name} created without a secret: add how it authenticates.`;
        location.hash = href(app.client_id, "credentials");
        return;
      }
      recentSecrets.set(app.client_id, app.client_secret);
      announce(`App ${app.name} created. Copy its secret now.`);
      await appsPage(app);
    } catch (err) {
      showError(form, err);
    }
  });
  const shown = created
    ? [secretPanel(`App “${created.name}” created`, created.client_id, created.client_secret || ""),
       h("p", {}, h("a", { href: href(created.client_id, "apis") }, `Open ${created.name}: grant it scopes`))]
    : [];
  page("Apps", shown, h("p", { class: "muted" }, "Machine-to-machine clients and how they authenticate."),
    table(["Name", "client_id", "Status", "Created", "Last used"], rows, "Apps"), form);
}
