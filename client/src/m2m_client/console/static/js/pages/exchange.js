// The app page's token-exchange policies (RFC 8693) and workload identities (claim rules
// for federated client authentication and the jwt-bearer grant): list, add, remove.
import { api, ApiError } from "../api.js";
import { h, field, table, showError, clearErrors, confirmInline } from "../ui.js";

const words = (text) => text.split(/[\s,]+/).filter(Boolean);

function removeButton(label, question, onConfirm, panel) {
  const button = h("button", { type: "button", class: "danger" }, "Remove");
  button.setAttribute("aria-label", label);
  button.addEventListener("click", async () => {
    if (!(await confirmInline(button, question, "Remove"))) return;
    try { await onConfirm(); } catch (err) { showError(panel, err); }
  });
  return button;
}

export function exchangePanel(path, policies, apis, done) {
  const panel = h("section", { class: "panel", "aria-labelledby": "exchange-title", "data-testid": "exchange-policies" },
    h("h2", { id: "exchange-title" }, "Token exchange"),
    h("p", { class: "muted" }, "Which tokens this app may exchange for tokens of another API (RFC 8693). Never more than the subject's own grant for the target."));
  const nameOf = new Map(apis.map((a) => [a.identifier, a.name]));
  const rows = policies.map((p) => h("tr", {},
    h("td", {}, nameOf.get(p.target_audience) || p.target_audience),
    h("td", {}, p.scopes.join(" ")),
    h("td", {}, [...p.source_audiences.map((s) => nameOf.get(s) || s), ...p.source_issuers].join(", ")),
    h("td", {}, [p.delegation ? "delegation" : null, p.impersonation ? "impersonation" : null].filter(Boolean).join(" + ")),
    h("td", {}, String(p.max_act_depth)),
    h("td", {}, removeButton(`Remove the exchange policy for ${p.target_audience}`,
      `Stop this app exchanging tokens for ${p.target_audience}?`,
      async () => { await api.del(`${path}/exchange-policies/${api.seg(p.target_api_id)}`); await done("Exchange policy removed."); }, panel))));
  const form = h("form", { novalidate: true, "aria-label": "Set an exchange policy" },
    h("div", { class: "row" },
      field({ label: "Target API", name: "target", select: true, options: apis.map((a) => [a.id, a.name]) }),
      field({ label: "Scopes of the target", name: "scopes", hint: "Space-separated, e.g. inventory:read" })),
    h("fieldset", { class: "row" }, h("legend", {}, "Source APIs (their access tokens may be exchanged)"),
      apis.map((a) => field({ label: a.name, name: "source_apis", type: "checkbox", value: a.id }))),
    h("div", { class: "row" },
      field({ label: "Source issuers", name: "source_issuers", hint: "Trusted issuers whose workload JWTs may be exchanged (space-separated)." })),
    h("div", { class: "row" },
      field({ label: "Delegation (the token names this app in act)", name: "delegation", type: "checkbox", checked: true }),
      field({ label: "Impersonation (no act without actor_token)", name: "impersonation", type: "checkbox" }),
      field({ label: "Longest act chain", name: "max_act_depth", type: "number", min: 1, max: 5, value: 1 })),
    h("div", { class: "actions" }, h("button", { type: "submit", class: "primary" }, "Save policy")));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearErrors(form);
    const el = form.elements;
    const body = {
      scopes: words(el.scopes.value),
      source_apis: [...form.querySelectorAll("input[name=source_apis]:checked")].map((i) => i.value),
      source_issuers: words(el.source_issuers.value),
      delegation: el.delegation.checked,
      impersonation: el.impersonation.checked,
      max_act_depth: Number(el.max_act_depth.value || 1),
    };
    try {
      await api.put(`${path}/exchange-policies/${api.seg(el.target.value)}`, body);
      await done("Exchange policy saved.");
    } catch (err) { showError(form, err); }
  });
  panel.append(table(["Target", "Scopes", "Sources", "Mode", "Act depth", "Remove"], rows, "Exchange policies"));
  if (apis.length) panel.append(form);
  return panel;
}

export function identitiesPanel(path, identities, done) {
  const panel = h("section", { class: "panel", "aria-labelledby": "identities-title", "data-testid": "workload-identities" },
    h("h2", { id: "identities-title" }, "Workload identities"),
    h("p", { class: "muted" }, "Tokens of a trusted issuer this app accepts instead of a secret, and by the jwt-bearer grant: an exact subject or a pattern (each * is characters other than ':'), plus claims that must have exactly these values."));
  const rows = identities.map((i) => h("tr", {},
    h("td", {}, i.issuer),
    h("td", {}, i.subject ? h("code", {}, i.subject) : h("span", {}, "pattern ", h("code", {}, i.subject_pattern))),
    h("td", {}, Object.entries(i.required_claims || {}).map(([k, v]) => `${k}=${v}`).join(" ")),
    h("td", {}, i.audience || "our issuer"),
    h("td", {}, removeButton(`Remove the workload identity ${i.id}`, "Stop accepting this workload identity?",
      async () => { await api.del(`${path}/federated-identities/${api.seg(i.id)}`); await done("Workload identity removed."); }, panel))));
  const form = h("form", { novalidate: true, "aria-label": "Add a workload identity" },
    h("div", { class: "row" },
      field({ label: "Issuer", name: "issuer", hint: "A trusted issuer's URL (see m2m issuers list)." }),
      field({ label: "Subject", name: "subject", hint: "Exact sub, or a pattern with *." }),
      field({ label: "Subject is a pattern", name: "pattern", type: "checkbox" })),
    h("div", { class: "row" },
      field({ label: "Required claims", name: "required_claims", hint: "NAME=VALUE, space-separated; NAME may be a JSON Pointer such as /kubernetes.io/namespace." }),
      field({ label: "Audience", name: "audience", hint: "Empty: our issuer (or token endpoint, for the grants)." })),
    h("div", { class: "actions" }, h("button", { type: "submit" }, "Add identity")));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearErrors(form);
    const el = form.elements;
    const body = { issuer: el.issuer.value.trim() };
    body[el.pattern.checked ? "subject_pattern" : "subject"] = el.subject.value.trim();
    const required = {};
    for (const pair of words(el.required_claims.value)) {
      const at = pair.indexOf("=");
      if (at < 1) { showError(form, new ApiError(0, { detail: `Required claims are NAME=VALUE, not ${pair}.` })); return; }
      required[pair.slice(0, at)] = pair.slice(at + 1);
    }
    if (Object.keys(required).length) body.required_claims = required;
    if (el.audience.value.trim()) body.audience = el.audience.value.trim();
    try {
      await api.post(`${path}/federated-identities`, body);
      await done("Workload identity added.");
    } catch (err) { showError(form, err); }
  });
  panel.append(table(["Issuer", "Subject", "Required claims", "Audience", "Remove"], rows, "Workload identities"), form);
  return panel;
}
