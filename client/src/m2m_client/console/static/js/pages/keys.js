import { api } from "../api.js";
import { h, field, page, loading, table, showError, clearErrors, announce, when } from "../ui.js";

const ORDER = { next: 0, current: 1, previous: 2, retired: 3 };

export async function keysPage(notice) {
  loading("Signing keys");
  const keys = (await api.all("/keys")).sort((a, b) => (ORDER[a.state] ?? 9) - (ORDER[b.state] ?? 9) || (b.created_at || "").localeCompare(a.created_at || ""));
  const rows = keys.map((k) => h("tr", {},
    h("td", {}, h("span", { class: `badge state-${k.state}` }, k.state)),
    h("td", {}, h("code", {}, k.kid)), h("td", {}, k.alg), h("td", {}, h("code", {}, k.kms_key_arn)),
    h("td", {}, when(k.created_at)), h("td", {}, when(k.activated_at)), h("td", {}, when(k.deactivated_at)), h("td", {}, when(k.retired_at))));
  const rotatePanel = h("section", { class: "panel", "aria-labelledby": "rotate-title" }, h("h2", { id: "rotate-title" }, "Rotate"),
    h("p", {}, "Promotes the next key to current and the current key to previous. Refused without a next key, or while the previous key may still have live tokens."));
  const rotate = h("button", { type: "button", class: "primary", "data-field": "rotate" }, "Rotate now");
  rotate.addEventListener("click", async () => {
    clearErrors(rotatePanel);
    try {
      await api.post("/keys/rotate");
      await keysPage("Rotated: the next key signs from now on.");
      announce("Rotated.");
    } catch (err) {
      showError(rotatePanel, err, { near: "rotate" });
    }
  });
  rotatePanel.append(h("div", { class: "field" }, h("div", { class: "actions" }, rotate)));
  const register = h("form", { class: "panel", "aria-labelledby": "register-title", novalidate: true },
    h("h2", { id: "register-title" }, "Register a key"),
    h("p", { class: "muted" }, "An asymmetric KMS key (SIGN_VERIFY) that the service may use; it becomes the next key and is published in the JWKS before it signs."),
    h("div", { class: "row" },
      field({ label: "KMS key id or ARN", name: "kms_key_id", placeholder: "arn:aws:kms:…:key/…" }),
      field({ label: "Algorithm", name: "alg", select: true, value: "RS256", options: [["RS256", "RS256 (RSA_2048…4096)"], ["ES256", "ES256 (ECC_NIST_P256)"]] })),
    h("div", { class: "actions" }, h("button", { type: "submit" }, "Register key")));
  register.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearErrors(register);
    try {
      await api.post("/keys", { kms_key_id: register.elements.kms_key_id.value.trim(), alg: register.elements.alg.value });
      await keysPage("Key registered as next.");
    } catch (err) { showError(register, err, { near: err.status === 409 ? "kms_key_id" : undefined }); }
  });
  page("Signing keys", notice ? h("div", { class: "alert ok", role: "status" }, notice) : null,
    table(["State", "kid", "Alg", "KMS key", "Created", "Activated", "Deactivated", "Retired"], rows, "Signing keys"),
    rotatePanel, register);
}
