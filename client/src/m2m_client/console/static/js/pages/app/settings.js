// The Settings tab: the app's PATCHable fields, drawn from SETTINGS. Each entry names
// the field as the admin API does (so a problem's `errors[].field` lands beside it) and a
// widget that knows how to draw it, read it back and compare it. Only changed fields are
// sent, with If-Match. A new setting is one more entry; a new kind
// of value is one more widget.
import { api, ApiError } from "../../api.js";
import { h, field, showError, clearErrors, confirmInline } from "../../ui.js";

const same = (a, b) => JSON.stringify(a) === JSON.stringify(b);

// A widget: draw(entry, value) → element; read(form, entry) → value (or throws an
// ApiError naming the field).
const WIDGETS = {
  text: {
    draw: (s, value) => field({ label: s.label, name: s.name, value: value ?? "", hint: s.hint, required: s.required }),
    read: (form, s) => form.elements[s.name].value.trim(),
  },
  seconds: {  // an integer number of seconds, or null (empty)
    draw: (s, value) => field({ label: s.label, name: s.name, type: "number", min: s.min, max: s.max, value: value ?? "", hint: s.hint }),
    read: (form, s) => { const raw = form.elements[s.name].value.trim(); return raw === "" ? null : Number(raw); },
  },
  json: {
    draw: (s, value) => field({ label: s.label, name: s.name, textarea: true, spellcheck: "false", value: JSON.stringify(value ?? {}, null, 2), hint: s.hint }),
    read: (form, s) => {
      try { return JSON.parse(form.elements[s.name].value || "{}"); }
      catch (err) { throw new ApiError(400, { detail: "Not valid JSON.", errors: [{ field: s.name, message: `not JSON: ${err.message}` }] }); }
    },
  },
  checkbox: {
    draw: (s, value) => field({ label: s.label, name: s.name, type: "checkbox", checked: Boolean(value), hint: s.hint }),
    read: (form, s) => form.elements[s.name].checked,
  },
  choices: {  // a set of names (permissions): one checkbox each
    draw: (s, value) => {
      const set = h("fieldset", { class: "row choices" }, h("legend", {}, s.label),
        s.options.map(([name, label, hint]) => field({ label, name: `${s.name}:${name}`, type: "checkbox", checked: (value || []).includes(name), hint })));
      set.dataset.field = s.name;
      return set;
    },
    read: (form, s) => s.options.map(([name]) => name).filter((name) => form.elements[`${s.name}:${name}`].checked),
  },
  quota: {
    draw: (s, value) => h("fieldset", { class: "row" }, h("legend", {}, s.label),
      field({ label: "Per hour", name: "quota.per_hour", type: "number", min: 1, value: value?.per_hour ?? "" }),
      field({ label: "Per day", name: "quota.per_day", type: "number", min: 1, value: value?.per_day ?? "" }),
      field({ label: "Enforce (otherwise only log)", name: "quota.enforce", type: "checkbox", checked: value ? value.enforce !== false : true })),
    read: (form) => {
      const el = form.elements;
      const perHour = el["quota.per_hour"].value.trim();
      const perDay = el["quota.per_day"].value.trim();
      if (!perHour && !perDay) return null;
      return { per_hour: perHour ? Number(perHour) : null, per_day: perDay ? Number(perDay) : null, enforce: el["quota.enforce"].checked };
    },
    // the server answers a quota in full (both limits, enforce): compare that way
    normal: (q) => (q ? { per_hour: q.per_hour ?? null, per_day: q.per_day ?? null, enforce: q.enforce !== false } : null),
  },
};

export const SETTINGS = [
  { name: "name", label: "Name", widget: "text", required: true },
  { name: "description", label: "Description", widget: "text" },
  { name: "token_lifetime", label: "Token lifetime cap (seconds)", widget: "seconds", min: 60, max: 86400, hint: "Caps the API's lifetime for this app's tokens. Empty: no cap." },
  { name: "claims", label: "Custom claims (JSON object)", widget: "json", hint: "Added to every token of this app." },
  { name: "permissions", label: "Permissions", widget: "choices", options: [
    ["introspect", "introspect", "May introspect tokens issued to any client (a resource server's app)."],
  ] },
  { name: "dpop_bound_access_tokens", label: "Require DPoP", widget: "checkbox", hint: "Token requests without a DPoP proof are refused, so every token is bound to the app's key (RFC 9449)." },
  { name: "tls_client_certificate_bound_access_tokens", label: "Require certificate-bound tokens", widget: "checkbox", hint: "Token requests without a TLS client certificate are refused, so every token is bound to the app's certificate (RFC 8705 §3)." },
  { name: "quota", label: "Quota on fresh tokens", widget: "quota" },
];

export function settingsForm(app, ctx, settings = SETTINGS) {
  const form = h("form", { class: "panel", "aria-labelledby": "settings-title", novalidate: true },
    h("h2", { id: "settings-title" }, "Settings"),
    settings.map((s) => h("div", { class: "row" }, WIDGETS[s.widget].draw(s, app[s.name]))),
    h("div", { class: "actions" }, h("button", { type: "submit", class: "primary" }, "Save settings")));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearErrors(form);
    const body = {};
    try {
      for (const s of settings) {
        const widget = WIDGETS[s.widget];
        const value = widget.read(form, s);
        const normal = widget.normal || ((x) => x);
        if (!same(normal(value), normal(app[s.name] ?? (s.widget === "text" ? "" : null)))) body[s.name] = value;
      }
    } catch (err) { showError(form, err); return; }
    if (!Object.keys(body).length) { showError(form, new ApiError(0, { detail: "Nothing changed." })); return; }
    try {
      await api.patch(ctx.path, body, app.version);
      await ctx.done("Settings saved.");
    } catch (err) { showError(form, err, { reload: ctx.reload }); }
  });
  return form;
}

function deletePanel(ctx) {
  const { app } = ctx;
  const danger = h("section", { class: "panel", "aria-labelledby": "delete-title" }, h("h2", { id: "delete-title" }, "Delete this app"),
    h("p", {}, "Its secrets, keys, principals, identities and grants go with it; tokens already issued stay valid until they expire (revoke them first to end them now)."));
  const del = h("button", { type: "button", class: "danger" }, "Delete app");
  del.addEventListener("click", async () => {
    if (!(await confirmInline(del, `Delete ${app.name} (${app.client_id}) and all its credentials and grants?`))) return;
    try { await api.del(ctx.path, app.version); location.hash = "#/apps"; }
    catch (err) { showError(danger, err, { reload: ctx.reload }); }
  });
  danger.append(h("div", { class: "actions" }, del));
  return danger;
}

export async function render(ctx) {
  return [settingsForm(ctx.app, ctx), deletePanel(ctx)];
}
