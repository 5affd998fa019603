// The APIs tab (Auth0's "APIs" tab of an application): per API a switch authorizing the
// app, and a checkbox per scope. A grant needs at least one scope, so turning an API on
// opens its checkboxes and Update saves.
import { api, ApiError } from "../../api.js";
import { h, field, showError, clearErrors, uid } from "../../ui.js";

export async function render(ctx) {
  const [grants, apis] = await Promise.all([api.all(`${ctx.path}/grants`), api.all("/apis")]);
  const byApi = new Map(grants.map((g) => [g.api_id, g]));
  const panel = h("section", { class: "panel", "aria-labelledby": "authz-title" }, h("h2", { id: "authz-title" }, "Authorized APIs"),
    h("p", { class: "muted" }, "Turn an API on to authorize this app for it, then choose the scopes it may request."));
  if (!apis.length) panel.append(h("p", {}, "No APIs yet. ", h("a", { href: "#/apis" }, "Create one first.")));
  for (const a of apis) panel.append(grantBox(ctx, a, byApi.get(a.id)));
  return panel;
}

function grantBox(ctx, apiItem, grant) {
  const box = h("div", { class: "grant", "data-api": apiItem.identifier });
  const switchId = uid("grant");
  const toggle = h("input", { type: "checkbox", id: switchId, role: "switch", checked: Boolean(grant) });
  toggle.setAttribute("aria-checked", String(Boolean(grant)));
  const scopes = h("fieldset", { disabled: !grant }, h("legend", { class: "visually-hidden" }, `Scopes of ${apiItem.name}`),
    apiItem.scopes.length ? apiItem.scopes.map((s) => field({ label: s.value, name: "scope", type: "checkbox", value: s.value, checked: Boolean(grant && grant.scopes.includes(s.value)), hint: s.description || undefined }))
      : h("p", { class: "muted" }, "This API has no scopes."));
  const update = h("button", { type: "button", class: "primary", disabled: !grant, "aria-label": `Update scopes of ${apiItem.name}` }, "Update");
  const grantPath = `${ctx.path}/grants/${api.seg(apiItem.id)}`;
  const note = h("p", { class: "hint", role: "status" });
  toggle.addEventListener("change", async () => {
    clearErrors(box);
    toggle.setAttribute("aria-checked", String(toggle.checked));
    if (!grant) {
      scopes.disabled = update.disabled = !toggle.checked;
      note.textContent = toggle.checked ? "Choose at least one scope, then Update." : "";
      if (toggle.checked) scopes.querySelector("input")?.focus();
      return;
    }
    if (toggle.checked) return;
    try {
      await api.del(grantPath);
      await ctx.done(`${apiItem.name} no longer authorized.`);
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
      await ctx.done(`Scopes of ${apiItem.name} updated.`);
    } catch (err) { showError(box, err); }
  });
  box.append(
    h("div", { class: "grant-head" },
      h("div", {}, h("a", { href: `#/apis/${encodeURIComponent(apiItem.id)}` }, h("strong", {}, apiItem.name)), " ", h("code", { class: "muted" }, apiItem.identifier)),
      h("label", { class: "switch", for: switchId }, toggle, "Authorized")),
    scopes, note, h("div", { class: "actions" }, update));
  return box;
}
