// Public keys for private_key_jwt (RFC 7523 §2.2): the app signs a fresh assertion per
// token request with its private key, which never leaves it. At most 5; rotate by adding
// the new key first.
import { api, ApiError } from "../../../api.js";
import { h, field, clearErrors, showError, when } from "../../../ui.js";

// Members only a private (or symmetric) JWK has: refused here, before anything is sent.
export const PRIVATE_MEMBERS = ["d", "p", "q", "dp", "dq", "qi", "oth", "k"];

function fieldError(message) {
  return new ApiError(0, { detail: message, errors: [{ field: "jwk", message }] });
}

// The JWK the textarea holds: a JWK, or a JWK Set with exactly one key.
export function readPublicJwk(text, kid) {
  let jwk;
  try { jwk = JSON.parse(text); } catch (err) { throw fieldError(`not JSON: ${err.message}`); }
  if (jwk && Array.isArray(jwk.keys)) {
    if (jwk.keys.length !== 1) throw fieldError("the JWK Set must hold exactly one key");
    jwk = jwk.keys[0];
  }
  if (!jwk || typeof jwk !== "object" || Array.isArray(jwk)) throw fieldError("must be a JWK (a JSON object)");
  if (PRIVATE_MEMBERS.some((m) => m in jwk)) {
    throw fieldError("this is a PRIVATE key: paste the public key only (keep the private key where the app runs); nothing was sent");
  }
  return kid ? { ...jwk, kid } : jwk;
}

const keyType = (k) => [k.jwk?.kty, k.jwk?.crv].filter(Boolean).join(" ");

export const publicKeys = {
  id: "keys",
  title: "Public keys",
  one: "public key",
  many: "public keys",
  method: "private_key_jwt",
  intro: "The app signs its client assertions with the private key; only the public JWK is registered here. At most 5: add the new key before removing the old one.",
  load: (ctx) => api.all(`${ctx.path}/keys`),
  columns: [
    ["Key id (kid)", (k) => h("code", {}, k.kid)],
    ["Algorithm", (k) => k.alg],
    ["Key type", keyType],
    ["Added", (k) => when(k.created_at)],
  ],
  describe: (k) => `key ${k.kid}`,
  removeLabel: "Remove",
  removeEffect: "Assertions signed with it are refused from then on.",
  removed: "Key removed",
  remove: (ctx, k) => api.del(`${ctx.path}/keys/${api.seg(k.kid)}`, k.version),
  addForm(ctx) {
    const form = h("form", { novalidate: true, "aria-label": "Add a public key" },
      h("div", { class: "row" },
        field({ label: "Public JWK (JSON)", name: "jwk", textarea: true, spellcheck: "false", placeholder: '{"kty":"EC","crv":"P-256","x":"…","y":"…","kid":"key-1"}',
          hint: "A JWK or a JWK Set with one key. From a PEM file: m2m apps keys add CLIENT_ID --jwk-file pub.json does the same." })),
      h("div", { class: "row" }, field({ label: "Key id (kid)", name: "jwk.kid", hint: "Empty: the JWK's own kid (one is required)." })),
      h("div", { class: "actions" }, h("button", { type: "submit" }, "Add key")));
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      clearErrors(form);
      try {
        const jwk = readPublicJwk(form.elements.jwk.value, form.elements["jwk.kid"].value.trim());
        await api.post(`${ctx.path}/keys`, { jwk });
        await ctx.done(jwk.kid ? `Key ${jwk.kid} added.` : "Key added.");
      } catch (err) { showError(form, err); }
    });
    return form;
  },
};
