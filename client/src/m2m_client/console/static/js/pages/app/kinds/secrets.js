// Client secrets (client_secret_basic / client_secret_post): at most 3 active; add one
// with an expiry to overlap during a rotation, then revoke the old one.
import { api } from "../../../api.js";
import { recentSecrets } from "../../../state.js";
import { h, field, clearErrors, showError, secretPanel, announce, when } from "../../../ui.js";

export const secrets = {
  id: "secrets",
  title: "Client secrets",
  one: "client secret",
  many: "client secrets",
  method: "client_secret_basic, client_secret_post",
  intro: "Shown once when created; only a hash is stored. Keep the old secret until callers switch (at most 3 at once), then revoke it.",
  load: async (ctx) => ctx.app.secrets || [],
  columns: [
    ["Secret id", (s) => h("code", {}, s.secret_id)],
    ["Created", (s) => when(s.created_at)],
    ["Expires", (s) => when(s.expires_at, { none: "never" })],
    ["Last used", (s) => when(s.last_used, { relative: true, none: "never" })],
  ],
  describe: (s) => `secret ${s.secret_id}`,
  removeLabel: "Revoke",
  removeEffect: "Callers using it fail at once.",
  removed: "Secret revoked",
  remove: (ctx, s) => api.del(`${ctx.path}/secrets/${api.seg(s.secret_id)}`),
  addForm(ctx) {
    const form = h("form", { novalidate: true, "aria-label": "Add a client secret" },
      h("div", { class: "row" }, field({ label: "Expires in (seconds)", name: "expires_in", type: "number", min: 60, hint: "Empty: never." })),
      h("div", { class: "actions" }, h("button", { type: "submit" }, "Add a secret")));
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      clearErrors(form);
      const raw = form.elements.expires_in.value.trim();
      try {
        const created = await api.post(`${ctx.path}/secrets`, raw ? { expires_in: Number(raw) } : {});
        recentSecrets.set(ctx.clientId, created.client_secret);
        if (!(await ctx.done())) return;  // moved on meanwhile: the Try page still has it
        document.querySelector("main nav.tabs").after(secretPanel("New secret", ctx.clientId, created.client_secret));
        announce("New secret created. Copy it now.");
      } catch (err) { showError(form, err); }
    });
    return form;
  },
};
