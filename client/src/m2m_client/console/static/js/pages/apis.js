import { api } from "../api.js";
import { h, field, page, loading, table, showError, clearErrors, confirmInline, announce, fmtSeconds, when, facts } from "../ui.js";
import { statusBadge } from "./apps.js";

function scopesEditor(scopes = []) {
  const list = h("div", { class: "scopes" });
  const add = (value = "", description = "") => {
    const index = list.children.length;
    const row = h("div", { class: "row scope-row" },
      field({ label: `Scope ${index + 1}`, name: `scopes[${index}].value`, value, placeholder: "orders:read", "data-role": "scope-value" }),
      field({ label: `Description of scope ${index + 1}`, name: `scopes[${index}].description`, value: description, placeholder: "Read orders", "data-role": "scope-description" }),
      h("div", { class: "field check" }, h("button", { type: "button", onclick: () => { row.remove(); renumber(); } }, `Remove scope ${index + 1}`)));
    list.append(row);
  };
  const renumber = () => {
    [...list.children].forEach((row, i) => {
      const [value, desc] = row.querySelectorAll("input");
      value.dataset.field = `scopes[${i}].value`;
      desc.dataset.field = `scopes[${i}].description`;
      const labels = row.querySelectorAll("label");
      labels[0].textContent = `Scope ${i + 1}`;
      labels[1].textContent = `Description of scope ${i + 1}`;
      row.querySelector("button").textContent = `Remove scope ${i + 1}`;
    });
  };
  scopes.forEach((s) => add(s.value, s.description));
  const wrapper = h("fieldset", { class: "scopes-editor" }, h("legend", {}, "Scopes"), list,
    h("button", { type: "button", onclick: () => { add(); list.lastElementChild.querySelector("input").focus(); } }, "Add scope"));
  wrapper.dataset.field = "scopes";
  wrapper.read = () => [...list.children].map((row) => {
    const [value, desc] = row.querySelectorAll("input");
    return { value: value.value.trim(), description: desc.value.trim() };
  }).filter((s) => s.value || s.description);
  return wrapper;
}

function numberOrNull(value) {
  return value.trim() === "" ? undefined : Number(value);
}

function reuseValue(form) {
  if (form.elements.no_reuse.checked) return null;
  return numberOrNull(form.elements.token_reuse.value);
}

function settingsFields(current = {}) {
  return [
    field({ label: "Token lifetime (seconds)", name: "token_lifetime", type: "number", min: 1, value: current.token_lifetime ?? "", hint: "Empty: the server's default." }),
    field({ label: "Token reuse threshold", name: "token_reuse", type: "number", step: "any", min: 0, max: 1, value: current.token_reuse ?? "", hint: "Reuse an issued token while this fraction of its lifetime is left (0–1, default 0.5)." }),
    field({ label: "No token reuse", name: "no_reuse", type: "checkbox", checked: current.token_reuse === null }),
    field({ label: "Require sender-constrained tokens", name: "sender_constrained_tokens_required", type: "checkbox", checked: Boolean(current.sender_constrained_tokens_required), hint: "Tokens must be bound to a key: a DPoP proof or a client certificate." }),
  ];
}

export async function apisPage() {
  loading("APIs");
  const apis = await api.all("/apis");
  const rows = apis.map((a) => h("tr", {},
    h("td", {}, h("a", { href: `#/apis/${encodeURIComponent(a.id)}` }, a.name)),
    h("td", {}, h("code", {}, a.identifier)),
    h("td", {}, a.scopes.length ? a.scopes.map((s) => h("code", { title: s.description }, s.value)).flatMap((c, i) => (i ? [", ", c] : [c])) : h("span", { class: "muted" }, "none")),
    h("td", {}, fmtSeconds(a.token_lifetime)),
    h("td", {}, a.token_reuse === null ? "off" : String(a.token_reuse))));
  const form = h("form", { class: "panel", "aria-labelledby": "create-api-title", novalidate: true },
    h("h2", { id: "create-api-title" }, "Create an API"),
    h("div", { class: "row" },
      field({ label: "Name", name: "name", required: true, placeholder: "Orders API" }),
      field({ label: "Identifier (audience)", name: "identifier", required: true, placeholder: "https://api.example.com/orders", hint: "The `aud` of its tokens; cannot be changed later." })),
    h("div", { class: "row" }, settingsFields({ token_reuse: undefined })),
    scopesEditor([{ value: "", description: "" }]),
    h("div", { class: "actions" }, h("button", { type: "submit", class: "primary" }, "Create API")));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearErrors(form);
    const body = { name: form.elements.name.value.trim(), identifier: form.elements.identifier.value.trim(), scopes: form.querySelector(".scopes-editor").read() };
    const lifetime = numberOrNull(form.elements.token_lifetime.value);
    if (lifetime !== undefined) body.token_lifetime = lifetime;
    const reuse = reuseValue(form);
    if (reuse !== undefined) body.token_reuse = reuse;
    if (form.elements.sender_constrained_tokens_required.checked) body.sender_constrained_tokens_required = true;
    try {
      const created = await api.post("/apis", body);
      announce(`API ${created.name} created.`);
      location.hash = `#/apis/${encodeURIComponent(created.id)}`;
    } catch (err) {
      showError(form, err, { near: err.status === 409 ? "identifier" : undefined });
    }
  });
  page("APIs", h("p", { class: "muted" }, "Resource servers: the audiences tokens are issued for, and their scopes."),
    table(["Name", "Identifier", "Scopes", "Token lifetime", "Reuse"], rows, "APIs"), form);
}

// Auth0's "Machine to Machine Applications" tab: the apps authorized for this API, with
// their scopes (one request for the grants, one per 200 apps for their names).
async function authorizedApps(id) {
  const [grants, apps] = await Promise.all([api.all(`/apis/${api.seg(id)}/grants`), api.all("/apps")]);
  const byId = new Map(apps.map((a) => [a.client_id, a]));
  const rows = grants.map((g) => {
    const app = byId.get(g.client_id);
    const href = `#/apps/${encodeURIComponent(g.client_id)}/apis`;
    return h("tr", {},
      h("td", {}, h("a", { href }, app ? app.name : g.client_id)),
      h("td", {}, h("code", {}, g.client_id)),
      h("td", {}, app ? statusBadge(app) : "—"),
      h("td", {}, g.scopes.map((s) => h("code", {}, s)).flatMap((c, i) => (i ? [", ", c] : [c]))),
      h("td", {}, app ? when(app.last_used, { relative: true, none: "never" }) : "—"));
  });
  return h("section", { class: "panel", "aria-labelledby": "authorized-title" },
    h("h2", { id: "authorized-title" }, `Authorized apps (${grants.length})`),
    h("p", { class: "muted" }, "Apps that may get tokens for this API, and the scopes each may request. Authorize another app on that app's APIs tab."),
    table(["App", "client_id", "Status", "Scopes", "Last used"], rows, "Apps authorized for this API"));
}

export async function apiPage(id) {
  loading("API");
  const [current, authorized] = await Promise.all([api.get(`/apis/${api.seg(id)}`), authorizedApps(id)]);
  const reload = () => apiPage(id);
  const form = h("form", { class: "panel", "aria-labelledby": "edit-api-title", novalidate: true },
    h("h2", { id: "edit-api-title" }, "Settings and scopes"),
    h("div", { class: "row" }, field({ label: "Name", name: "name", value: current.name, required: true })),
    h("div", { class: "row" }, settingsFields(current)),
    scopesEditor(current.scopes),
    h("div", { class: "actions" }, h("button", { type: "submit", class: "primary" }, "Save changes")));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearErrors(form);
    const lifetime = numberOrNull(form.elements.token_lifetime.value);
    const body = { name: form.elements.name.value.trim(), scopes: form.querySelector(".scopes-editor").read() };
    const newLifetime = lifetime === undefined ? null : lifetime;
    if (newLifetime !== current.token_lifetime) body.token_lifetime = newLifetime;
    const reuse = reuseValue(form);
    if (reuse !== undefined && reuse !== current.token_reuse) body.token_reuse = reuse;
    const constrained = form.elements.sender_constrained_tokens_required.checked;
    if (constrained !== Boolean(current.sender_constrained_tokens_required)) body.sender_constrained_tokens_required = constrained;
    try {
      await api.patch(`/apis/${api.seg(id)}`, body, current.version);
      announce("Saved.");
      await apiPage(id);
      document.getElementById("main").prepend(h("div", { class: "alert ok", role: "status" }, "Saved."));
    } catch (err) {
      showError(form, err, { reload });
    }
  });
  const danger = h("section", { class: "panel" }, h("h2", {}, "Delete this API"),
    h("p", {}, "Apps lose their grants to it; tokens already issued stay valid until they expire."));
  const del = h("button", { type: "button", class: "danger" }, "Delete API");
  del.addEventListener("click", async () => {
    if (!(await confirmInline(del, `Delete the API “${current.name}” (${current.identifier})?`))) return;
    try {
      await api.del(`/apis/${api.seg(id)}`, current.version);
      location.hash = "#/apis";
    } catch (err) {
      showError(danger, err, { reload });
    }
  });
  danger.append(h("div", { class: "actions" }, del));
  page(current.name,
    h("p", {}, h("a", { href: "#/apis" }, "← All APIs")),
    facts([
      ["Identifier (audience)", h("code", {}, current.identifier)],
      ["Id", h("code", {}, current.id)],
      ["Created", when(current.created_at)],
      ["Updated", when(current.updated_at)],
    ]),
    authorized, form, danger);
}
