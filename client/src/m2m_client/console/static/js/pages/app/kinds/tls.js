// TLS client certificates (RFC 8705 §2, docs/mtls.md): over the mutual-TLS endpoint an
// app authenticates by the certificate it presents, matched either by one subject name
// a CA vouches for (tls_client_auth) or by the certificates themselves
// (self_signed_tls_client_auth: thumbprints, a PEM certificate or a JWK Set with x5c,
// kept as thumbprints). The private key never leaves the client. At most 5.
import { api, ApiError } from "../../../api.js";
import { h, field, clearErrors, showError, when } from "../../../ui.js";
import { PRIVATE_MEMBERS } from "./keys.js";

const THUMBPRINT = "x5t#S256";

// [field the admin API takes, label, placeholder]
export const MATCHES = [
  ["tls_client_auth_subject_dn", "Subject DN (tls_client_auth)", "CN=orders-worker,O=Example Corp,C=DE"],
  ["tls_client_auth_san_dns", "DNS name SAN (tls_client_auth)", "orders-worker.example.com"],
  ["tls_client_auth_san_uri", "URI SAN (tls_client_auth)", "spiffe://example.com/orders-worker"],
  ["tls_client_auth_san_ip", "IP address SAN (tls_client_auth)", "192.0.2.10"],
  ["tls_client_auth_san_email", "E-mail SAN (tls_client_auth)", "orders-worker@example.com"],
  [THUMBPRINT, "Certificate thumbprints (self-signed)", "base64url SHA-256 of the DER certificate; several: one per line"],
  ["certificate", "PEM certificate (self-signed)", "-----BEGIN CERTIFICATE-----\n…\n-----END CERTIFICATE-----"],
  ["jwks", "JWK Set with x5c (self-signed)", '{"keys":[{"kty":"EC","crv":"P-256","x":"…","y":"…","x5c":["MIIB…"]}]}'],
];
const SUBJECT_FIELDS = MATCHES.slice(0, 5).map(([name]) => name);

function fieldError(name, message) {
  return new ApiError(0, { detail: message, errors: [{ field: name, message }] });
}

// The admin API's body for the chosen match and the text typed; a JWK Set holding a
// private member is refused here, before anything is sent.
export function tlsClientBody(match, text) {
  const value = text.trim();
  if (!value) throw fieldError(match, "is required");
  if (match === THUMBPRINT) {
    const listed = value.split(/[\s,]+/).filter(Boolean);
    return { [THUMBPRINT]: listed.length === 1 ? listed[0] : listed };
  }
  if (match !== "jwks") return { [match]: value };
  let jwks;
  try { jwks = JSON.parse(value); } catch (err) { throw fieldError(match, `not JSON: ${err.message}`); }
  const keys = jwks && Array.isArray(jwks.keys) ? jwks.keys : [jwks];
  if (keys.some((k) => k && typeof k === "object" && PRIVATE_MEMBERS.some((m) => m in k))) {
    throw fieldError(match, "this holds a PRIVATE key: paste the public keys only; nothing was sent");
  }
  return { jwks: { keys } };
}

function matches(t) {
  const name = [...SUBJECT_FIELDS, THUMBPRINT].find((f) => f in t);
  const value = Array.isArray(t[name]) ? t[name].join(" ") : t[name];
  return h("span", {}, h("span", { class: "muted" }, `${name} `), h("code", {}, value));
}

export const tlsClients = {
  id: "tls-clients",
  title: "TLS client certificates",
  one: "TLS client certificate",
  many: "TLS client certificates",
  method: "tls_client_auth, self_signed_tls_client_auth",
  intro: "Over the mutual-TLS endpoint the app authenticates by its certificate: one subject name a trusted CA vouches for, or its own certificates (registered as thumbprints). At most 5: add the new certificate before removing the old one.",
  load: (ctx) => api.all(`${ctx.path}/tls-clients`),
  columns: [
    ["Method", (t) => h("code", {}, t.method)],
    ["Matches", matches],
    ["Expires", (t) => (t.expires_at ? when(t.expires_at) : h("span", { class: "muted" }, "—"))],
    ["Added", (t) => when(t.created_at)],
  ],
  describe: (t) => `certificate rule ${t.id}`,
  removeLabel: "Remove",
  removeEffect: "Certificates it matches no longer authenticate as this app.",
  removed: "TLS client certificate removed",
  remove: (ctx, t) => api.del(`${ctx.path}/tls-clients/${api.seg(t.id)}`),
  addForm(ctx) {
    const value = field({ label: "Value", name: "value", textarea: true, spellcheck: "false", placeholder: MATCHES[0][2],
      hint: "The CLI does the same: m2m apps tls-clients add CLIENT_ID --subject-dn … (or --certificate cert.pem)." });
    const form = h("form", { novalidate: true, "aria-label": "Add a TLS client certificate" },
      h("div", { class: "row" },
        field({ label: "Match by", name: "match", select: true, options: MATCHES.map(([name, label]) => [name, label]) })),
      h("div", { class: "row" }, value),
      h("div", { class: "actions" }, h("button", { type: "submit" }, "Add certificate")));
    const input = form.elements.value;
    const follow = () => {
      const match = form.elements.match.value;
      input.dataset.field = match;  // the server's errors name the field chosen
      input.placeholder = MATCHES.find(([name]) => name === match)[2];
    };
    follow();
    form.elements.match.addEventListener("change", follow);
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      clearErrors(form);
      try {
        await api.post(`${ctx.path}/tls-clients`, tlsClientBody(form.elements.match.value, input.value));
        await ctx.done("TLS client certificate added.");
      } catch (err) { showError(form, err, { near: err.status === 409 ? form.elements.match.value : undefined }); }
    });
    return form;
  },
};
