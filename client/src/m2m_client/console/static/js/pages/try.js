import { api, ApiError } from "../api.js";
import { decode, verify } from "../jwt.js";
import { recentSecrets } from "../state.js";
import { h, field, page, loading, clearErrors, showError, announce, when } from "../ui.js";

export async function tryPage() {
  loading("Try it");
  const [apps, apis] = await Promise.all([api.all("/apps"), api.all("/apis")]);
  const result = h("div", { "aria-live": "polite" });
  const form = h("form", { class: "panel", "aria-labelledby": "try-title", novalidate: true },
    h("h2", { id: "try-title" }, "Get a token (client credentials)"),
    h("p", { class: "muted" }, "The request goes to /oauth/token through this console (same origin); the token is checked here, in the browser, against the server's JWKS."),
    h("div", { class: "row" },
      field({ label: "App", name: "client_id", select: true, options: apps.map((a) => [a.client_id, `${a.name} (${a.client_id})${a.enabled ? "" : " — blocked"}`]) }),
      field({ label: "API (audience)", name: "audience", select: true, options: apis.map((a) => [a.identifier, `${a.name} (${a.identifier})`]) })),
    h("div", { class: "row" },
      field({ label: "Client secret", name: "client_secret", type: "password", autocomplete: "off", hint: "Paste it, or use one created in this tab." }),
      field({ label: "Scopes (optional, space-separated)", name: "scope", hint: "Empty: every granted scope." })),
    h("div", { class: "actions" },
      h("button", { type: "button", "data-testid": "use-recent", onclick: () => useRecent() }, "Use the secret created in this tab"),
      h("button", { type: "submit", class: "primary" }, "Get token")));
  const useRecent = () => {
    clearErrors(form);
    const secret = recentSecrets.get(form.elements.client_id.value);
    if (secret) { form.elements.client_secret.value = secret; announce("Secret filled in."); }
    else showError(form, new ApiError(0, { detail: "No secret of this app was created in this tab.", errors: [{ field: "client_secret", message: "no secret of this app was created in this tab: paste it" }] }));
  };
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearErrors(form);
    result.replaceChildren();
    const el = form.elements;
    const body = { grant_type: "client_credentials", client_id: el.client_id.value, client_secret: el.client_secret.value, audience: el.audience.value };
    if (el.scope.value.trim()) body.scope = el.scope.value.trim();
    let answer;
    try {
      answer = await api.token(body);
    } catch (err) {
      const p = err.problem || {};
      result.append(h("div", { class: "alert", role: "alert", "data-testid": "token-error" },
        `Refused (HTTP ${err.status}): ${p.error || ""}${p.error_description ? " — " + p.error_description : p.detail ? " — " + p.detail : ""}`));
      return;
    }
    await showToken(result, answer);
  });
  page("Try it", form, result);
}

async function showToken(result, answer) {
  let decoded;
  try { decoded = decode(answer.access_token); }
  catch (err) { result.append(h("div", { class: "alert", role: "alert" }, `The answer is not a JWT: ${err.message}`)); return; }
  let check;
  try { check = await verify(answer.access_token, await api.jwks()); }
  catch (err) { check = { ok: false, reason: err.message || String(err) }; }
  const now = Math.floor(Date.now() / 1000);
  result.append(
    h("div", { class: `alert ${check.ok ? "ok" : ""}`, role: "status", "data-testid": "verify-result", "data-verified": String(check.ok) },
      check.ok ? `Signature verifies against the JWKS (kid ${check.kid}).` : `Does not verify: ${check.reason}.`),
    h("p", {}, `token_type ${answer.token_type}, expires_in ${answer.expires_in} s`, answer.scope ? `, scope “${answer.scope}”` : "",
      decoded.claims.exp ? ` (exp in ${decoded.claims.exp - now} s)` : ""),
    h("p", { "data-testid": "token-times" },
      Number.isInteger(decoded.claims.iat) ? ["issued (iat) ", when(new Date(decoded.claims.iat * 1000).toISOString())] : null,
      Number.isInteger(decoded.claims.exp) ? [", expires (exp) ", when(new Date(decoded.claims.exp * 1000).toISOString())] : null),
    h("div", { class: "grid2" },
      h("section", {}, h("h2", {}, "Header"), h("pre", { "data-testid": "jwt-header" }, JSON.stringify(decoded.header, null, 2))),
      h("section", {}, h("h2", {}, "Claims"), h("pre", { "data-testid": "jwt-claims" }, JSON.stringify(decoded.claims, null, 2)))),
    h("details", {}, h("summary", {}, "Access token"), h("pre", { class: "mono" }, answer.access_token)));
  announce(check.ok ? "Token received; it verifies." : "Token received; it does not verify.");
}
