// Federated identities (docs/federation.md): claim rules on a trusted issuer (EKS, GitHub
// Actions, AWS outbound federation, SPIFFE). A workload token matches when its `sub` is the
// exact subject or fits the subject pattern, and every required claim has its value; the
// rule then names this app, for client assertions and for the jwt-bearer grant
// (docs/jwt-bearer.md).
import { api, ApiError } from "../../../api.js";
import { h, field, clearErrors, showError, when } from "../../../ui.js";

// What each kind of issuer puts in `sub` (the server checks the same shapes).
export const SUBJECT_HINTS = {
  kubernetes: "system:serviceaccount:NAMESPACE:NAME",
  "github-actions": "repo:ORG/REPO:ref:refs/heads/main (or :environment:NAME)",
  "aws-outbound": "arn:aws:iam::ACCOUNT:role/NAME",
  spiffe: "spiffe://TRUST-DOMAIN/PATH",
  oidc: "the token's exact sub",
};
const PATTERN_HINT = "Each * stands for one or more characters other than ':' (at most 4, not first). A GitHub Actions pattern must require repository_owner_id or repository_id.";

// "NAME=VALUE" lines → {NAME: VALUE}; NAME may be a JSON Pointer (/kubernetes.io/namespace).
export function readRequiredClaims(text) {
  const claims = {};
  for (const line of text.split("\n").map((l) => l.trim()).filter(Boolean)) {
    const at = line.indexOf("=");
    if (at < 1) {
      const message = `one NAME=VALUE a line, not ${JSON.stringify(line.slice(0, 40))}`;
      throw new ApiError(0, { detail: message, errors: [{ field: "required_claims", message }] });
    }
    claims[line.slice(0, at).trim()] = line.slice(at + 1).trim();
  }
  return claims;
}

const claimList = (claims) => {
  const pairs = Object.entries(claims || {});
  return pairs.length ? h("ul", { class: "changes" }, pairs.map(([k, v]) => h("li", {}, h("code", {}, `${k}=${v}`)))) : h("span", { class: "muted" }, "none");
};

export const federatedIdentities = {
  id: "federated",
  title: "Federated identities",
  one: "federated identity",
  many: "federated identities",
  method: "jwt-bearer client assertion",
  intro: "A workload presents its platform's token (an EKS pod, a GitHub Actions job, an AWS role, a SPIFFE workload), as a client assertion or by the jwt-bearer grant; an issuer, its exact subject or a subject pattern, and required claim values name this app. At most 20.",
  async load(ctx) {
    const [items, issuers] = await Promise.all([api.all(`${ctx.path}/federated-identities`), api.all("/issuers")]);
    ctx.issuers = issuers;
    return items;
  },
  columns: [
    ["Issuer", (i) => h("code", {}, i.issuer)],
    ["Subject", (i) => (i.subject ? h("code", {}, i.subject) : h("span", {}, "pattern ", h("code", {}, i.subject_pattern)))],
    ["Required claims", (i) => claimList(i.required_claims)],
    ["Audience", (i) => (i.audience ? h("code", {}, i.audience) : h("span", { class: "muted" }, "our issuer"))],
    ["Added", (i) => when(i.created_at)],
  ],
  describe: (i) => `federated identity ${i.subject || i.subject_pattern}`,
  removeLabel: "Remove",
  removeEffect: "Its workload tokens are refused from then on.",
  removed: "Federated identity removed",
  remove: (ctx, i) => api.del(`${ctx.path}/federated-identities/${api.seg(i.id)}`),
  addForm(ctx) {
    const issuers = ctx.issuers || [];
    if (!issuers.length) {
      return h("p", {}, "No trusted issuer yet. ", h("a", { href: "#/issuers" }, "Trust an issuer first"), " (EKS, GitHub Actions, AWS, SPIFFE).");
    }
    const kindOf = new Map(issuers.map((i) => [i.issuer, i.kind]));
    const subject = field({ label: "Subject (sub)", name: "subject", spellcheck: "false", hint: SUBJECT_HINTS[issuers[0].kind] });
    const form = h("form", { novalidate: true, "aria-label": "Add a federated identity" },
      h("div", { class: "row" },
        field({ label: "Trusted issuer", name: "issuer", select: true, options: issuers.map((i) => [i.issuer, `${i.name} (${i.issuer})`]) }),
        subject),
      h("div", { class: "row" }, field({ label: "Match subjects by pattern", name: "pattern", type: "checkbox", hint: PATTERN_HINT })),
      h("div", { class: "row" }, field({ label: "Required claims (optional)", name: "required_claims", textarea: true, spellcheck: "false", rows: 2,
        placeholder: "/kubernetes.io/namespace=billing", hint: "One NAME=VALUE a line; the token's claim must have exactly that string value. NAME may be a JSON Pointer." })),
      h("div", { class: "row" }, field({ label: "Audience (optional)", name: "audience", spellcheck: "false", hint: "The aud its tokens must contain; empty: this server's issuer identifier (or, for the jwt-bearer grant, its token endpoint)." })),
      h("div", { class: "actions" }, h("button", { type: "submit" }, "Add identity")));
    const subjectHint = () => {
      const shape = SUBJECT_HINTS[kindOf.get(form.elements.issuer.value)] || SUBJECT_HINTS.oidc;
      subject.querySelector(".hint").textContent = form.elements.pattern.checked ? `${shape}, with * where any value fits` : shape;
    };
    form.elements.issuer.addEventListener("change", subjectHint);
    form.elements.pattern.addEventListener("change", subjectHint);
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      clearErrors(form);
      const el = form.elements;
      const pattern = el.pattern.checked;
      const body = { issuer: el.issuer.value, [pattern ? "subject_pattern" : "subject"]: el.subject.value.trim() };
      const audience = el.audience.value.trim();
      if (audience) body.audience = audience;
      try {
        const required = readRequiredClaims(el.required_claims.value);
        if (Object.keys(required).length) body.required_claims = required;
        await api.post(`${ctx.path}/federated-identities`, body);
        await ctx.done("Federated identity added.");
      } catch (err) {
        // the server names subject_pattern; its field here is the subject input
        if (err.problem?.errors) err.problem.errors = err.problem.errors.map((e) => (e.field === "subject_pattern" ? { ...e, field: "subject" } : e));
        showError(form, err, { near: err.status === 409 ? "subject" : undefined });
      }
    });
    return form;
  },
};
