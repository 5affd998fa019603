import { api, ApiError } from "../api.js";
import { recentSecrets } from "../state.js";
import { h, field, page, loading, table, showError, clearErrors, confirmInline, secretPanel, announce, fmtTime, uid } from "../ui.js";
import { statusBadge } from "./apps.js";
import { usageChart } from "./chart.js";
import { exchangePanel, identitiesPanel } from "./exchange.js";

export async function appPage(clientId, notice) {
  loading("App");
  const path = `/apps/${api.seg(clientId)}`;
  const [app, grants, apis, usage, policies, identities] = await Promise.all([
    api.get(path),
    api.all(`${path}/grants`),
    api.all("/apis"),
    api.get(`${path}/usage`).catch(() => null),
    api.all(`${path}/exchange-policies`).catch(() => []),
    api.all(`${path}/federated-identities`).catch(() => []),
  ]);
  const reload = () => appPage(clientId);
  const done = (message) => appPage(clientId, message).then(() => announce(message));

  // --- status ---------------------------------------------------------------------------
  const status = h("section", { class: "panel", "aria-labelledby": "status-title" }, h("h2", { id: "status-title" }, "Status"));
  const block = h("button", { type: "button", class: app.enabled ? "danger" : "primary" }, app.enabled ? "Block app" : "Unblock app");
  block.addEventListener("click", async () => {
    if (app.enabled && !(await confirmInline(block, `Block ${app.name}? Its token requests fail until it is unblocked.`, "Block"))) return;
    try {
      await api.patch(path, { enabled: !app.enabled }, app.version);
      await done(app.enabled ? "App blocked." : "App unblocked.");
    } catch (err) { showError(status, err, { reload }); }
  });
  const revoke = h("button", { type: "button" }, "Revoke all tokens");
  revoke.addEventListener("click", async () => {
    if (!(await confirmInline(revoke, "Revoke every token issued to this app so far? (Introspection reports them inactive.)", "Revoke all"))) return;
    try {
      await api.post(`${path}/revoke-tokens`);
      await done("All tokens issued so far are revoked.");
    } catch (err) { showError(status, err, { reload }); }
  });
  status.append(
    h("p", {}, statusBadge(app), " ", app.enabled ? "Token requests are served." : "Token requests are refused."),
    app.revoked_before ? h("p", { class: "muted" }, `Tokens issued before ${fmtTime(app.revoked_before)} are revoked.`) : "",
    h("div", { class: "actions" }, block, revoke));

  // --- authorization (Auth0's "APIs" tab) -------------------------------------------------
  const byApi = new Map(grants.map((g) => [g.api_id, g]));
  const authz = h("section", { class: "panel", "aria-labelledby": "authz-title" }, h("h2", { id: "authz-title" }, "Authorized APIs"),
    h("p", { class: "muted" }, "Turn an API on to authorize this app for it, then choose the scopes it may request."));
  if (!apis.length) authz.append(h("p", {}, "No APIs yet. ", h("a", { href: "#/apis" }, "Create one first.")));
  for (const a of apis) authz.append(grantBox(path, a, byApi.get(a.id), done));

  // --- settings ------------------------------------------------------------------------------
  const quota = app.quota || {};
  const settings = h("form", { class: "panel", "aria-labelledby": "settings-title", novalidate: true },
    h("h2", { id: "settings-title" }, "Settings"),
    h("div", { class: "row" },
      field({ label: "Name", name: "name", value: app.name }),
      field({ label: "Description", name: "description", value: app.description || "" })),
    h("div", { class: "row" },
      field({ label: "Token lifetime (seconds)", name: "token_lifetime", type: "number", min: 1, value: app.token_lifetime ?? "", hint: "Empty: the API's lifetime." })),
    h("div", { class: "row" },
      field({ label: "Custom claims (JSON object)", name: "claims", textarea: true, value: JSON.stringify(app.claims || {}, null, 2), hint: "Added to every token of this app." })),
    h("fieldset", { class: "row" }, h("legend", {}, "Quota on fresh tokens"),
      field({ label: "Per hour", name: "quota.per_hour", type: "number", min: 1, value: quota.per_hour ?? "" }),
      field({ label: "Per day", name: "quota.per_day", type: "number", min: 1, value: quota.per_day ?? "" }),
      field({ label: "Enforce (otherwise only log)", name: "quota.enforce", type: "checkbox", checked: app.quota ? quota.enforce !== false : true })),
    h("div", { class: "actions" }, h("button", { type: "submit", class: "primary" }, "Save settings")));
  settings.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearErrors(settings);
    const el = settings.elements;
    let claims;
    try { claims = JSON.parse(el.claims.value || "{}"); }
    catch (err) { showError(settings, new ApiError(400, { detail: "Not valid JSON.", errors: [{ field: "claims", message: `not JSON: ${err.message}` }] })); return; }
    const lifetime = el.token_lifetime.value.trim();
    const perHour = el["quota.per_hour"].value.trim();
    const perDay = el["quota.per_day"].value.trim();
    const body = { name: el.name.value.trim(), description: el.description.value.trim(), claims, token_lifetime: lifetime ? Number(lifetime) : null };
    body.quota = perHour || perDay
      ? { per_hour: perHour ? Number(perHour) : null, per_day: perDay ? Number(perDay) : null, enforce: el["quota.enforce"].checked }
      : null;
    try {
      await api.patch(path, body, app.version);
      await done("Settings saved.");
    } catch (err) { showError(settings, err, { reload }); }
  });

  // --- secrets ---------------------------------------------------------------------------------
  const secrets = h("section", { class: "panel", "aria-labelledby": "secrets-title" }, h("h2", { id: "secrets-title" }, "Client secrets"));
  const secretRows = (app.secrets || []).map((s) => {
    const button = h("button", { type: "button", class: "danger" }, "Revoke");
    button.setAttribute("aria-label", `Revoke secret ${s.secret_id}`);
    button.addEventListener("click", async () => {
      if (!(await confirmInline(button, `Revoke secret ${s.secret_id}? Callers using it fail at once.`, "Revoke"))) return;
      try {
        await api.del(`${path}/secrets/${api.seg(s.secret_id)}`);
        await done("Secret revoked.");
      } catch (err) { showError(secrets, err); }
    });
    return h("tr", {}, h("td", {}, h("code", {}, s.secret_id)), h("td", {}, fmtTime(s.created_at)), h("td", {}, fmtTime(s.expires_at)), h("td", {}, fmtTime(s.last_used)), h("td", {}, button));
  });
  const addSecret = h("form", { novalidate: true },
    h("div", { class: "row" }, field({ label: "Expires in (seconds)", name: "expires_in", type: "number", min: 60, hint: "Empty: never. Keep the old secret until callers switch (at most 3 at once), then revoke it." })),
    h("div", { class: "actions" }, h("button", { type: "submit" }, "Add a secret")));
  addSecret.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearErrors(addSecret);
    const raw = addSecret.elements.expires_in.value.trim();
    try {
      const created = await api.post(`${path}/secrets`, raw ? { expires_in: Number(raw) } : {});
      recentSecrets.set(clientId, created.client_secret);
      await appPage(clientId);
      document.getElementById("main").querySelector("h1").after(secretPanel("New secret", clientId, created.client_secret));
      announce("New secret created. Copy it now.");
    } catch (err) { showError(addSecret, err); }
  });
  secrets.append(table(["Secret id", "Created", "Expires", "Last used", "Revoke"], secretRows, "Client secrets"), addSecret);

  // --- usage ---------------------------------------------------------------------------------
  const usagePanel = h("section", { class: "panel", "aria-labelledby": "usage-title" }, h("h2", { id: "usage-title" }, "Usage"));
  if (usage) usagePanel.append(usageChart(usage));
  else usagePanel.append(h("p", { class: "muted" }, "This server has no usage endpoint."));

  // --- delete ------------------------------------------------------------------------------------
  const danger = h("section", { class: "panel", "aria-labelledby": "delete-title" }, h("h2", { id: "delete-title" }, "Delete this app"));
  const del = h("button", { type: "button", class: "danger" }, "Delete app");
  del.addEventListener("click", async () => {
    if (!(await confirmInline(del, `Delete ${app.name} (${app.client_id}) and its secrets and grants?`))) return;
    try { await api.del(path, app.version); location.hash = "#/apps"; }
    catch (err) { showError(danger, err, { reload }); }
  });
  danger.append(h("div", { class: "actions" }, del));

  page(app.name,
    h("p", {}, h("a", { href: "#/apps" }, "← All apps")),
    notice ? h("div", { class: "alert ok", role: "status" }, notice) : null,
    h("p", {}, "client_id ", h("code", { "data-testid": "client-id" }, app.client_id), app.description ? ` — ${app.description}` : ""),
    status, authz, exchangePanel(path, policies, apis, done), identitiesPanel(path, identities, done),
    settings, secrets, usagePanel, danger);
}

function grantBox(path, apiItem, grant, done) {
  const box = h("div", { class: "grant", "data-api": apiItem.identifier });
  const switchId = uid("grant");
  const toggle = h("input", { type: "checkbox", id: switchId, role: "switch", checked: Boolean(grant) });
  toggle.setAttribute("aria-checked", String(Boolean(grant)));
  const scopes = h("fieldset", { disabled: !grant }, h("legend", { class: "visually-hidden" }, `Scopes of ${apiItem.name}`),
    apiItem.scopes.length ? apiItem.scopes.map((s) => field({ label: s.value, name: "scope", type: "checkbox", value: s.value, checked: Boolean(grant && grant.scopes.includes(s.value)), hint: s.description || undefined }))
      : h("p", { class: "muted" }, "This API has no scopes."));
  const update = h("button", { type: "button", class: "primary", disabled: !grant }, "Update");
  update.setAttribute("aria-label", `Update scopes of ${apiItem.name}`);
  const grantPath = `${path}/grants/${api.seg(apiItem.id)}`;
  const note = h("p", { class: "hint", role: "status" });
  toggle.addEventListener("change", async () => {
    clearErrors(box);
    toggle.setAttribute("aria-checked", String(toggle.checked));
    if (!grant) {
      // A grant needs at least one scope: the switch opens the checkboxes, Update saves.
      scopes.disabled = update.disabled = !toggle.checked;
      note.textContent = toggle.checked ? "Choose at least one scope, then Update." : "";
      if (toggle.checked) scopes.querySelector("input")?.focus();
      return;
    }
    if (toggle.checked) return;
    try {
      await api.del(grantPath);
      await done(`${apiItem.name} no longer authorized.`);
    } catch (err) { toggle.checked = true; showError(box, err); }
  });
  update.addEventListener("click", async () => {
    clearErrors(box);
    const chosen = [...scopes.querySelectorAll("input:checked")].map((i) => i.value);
    if (!chosen.length) {
      showError(box, new ApiError(0, { detail: grant ? "Choose at least one scope, or turn the API off to remove the grant." : "Choose at least one scope." }));
      return;
    }
    try {
      await api.put(grantPath, { scopes: chosen });
      await done(`Scopes of ${apiItem.name} updated.`);
    } catch (err) { showError(box, err); }
  });
  box.append(
    h("div", { class: "grant-head" },
      h("div", {}, h("strong", {}, apiItem.name), " ", h("code", { class: "muted" }, apiItem.identifier)),
      h("label", { class: "switch", for: switchId }, toggle, "Authorized")),
    scopes, note, h("div", { class: "actions" }, update));
  return box;
}
