// Federated identities (docs/federation.md): a workload token from a trusted issuer
// (EKS, GitHub Actions, AWS outbound federation, SPIFFE) whose exact `sub` names this app.
import { api } from "../../../api.js";
import { h, field, clearErrors, showError, when } from "../../../ui.js";

// What each kind of issuer puts in `sub` (the server checks the same shapes).
export const SUBJECT_HINTS = {
  kubernetes: "system:serviceaccount:NAMESPACE:NAME",
  "github-actions": "repo:ORG/REPO:ref:refs/heads/main (or :environment:NAME)",
  "aws-outbound": "arn:aws:iam::ACCOUNT:role/NAME",
  spiffe: "spiffe://TRUST-DOMAIN/PATH",
  oidc: "the token's exact sub",
};

export const federatedIdentities = {
  id: "federated",
  title: "Federated identities",
  one: "federated identity",
  many: "federated identities",
  method: "jwt-bearer client assertion",
  intro: "A workload presents its platform's token (an EKS pod, a GitHub Actions job, an AWS role, a SPIFFE workload); an issuer and its exact subject name this app. At most 20.",
  async load(ctx) {
    const [items, issuers] = await Promise.all([api.all(`${ctx.path}/federated-identities`), api.all("/issuers")]);
    ctx.issuers = issuers;
    return items;
  },
  columns: [
    ["Issuer", (i) => h("code", {}, i.issuer)],
    ["Subject", (i) => h("code", {}, i.subject)],
    ["Audience", (i) => (i.audience ? h("code", {}, i.audience) : h("span", { class: "muted" }, "our issuer"))],
    ["Added", (i) => when(i.created_at)],
  ],
  describe: (i) => `federated identity ${i.subject}`,
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
      h("div", { class: "row" }, field({ label: "Audience (optional)", name: "audience", spellcheck: "false", hint: "The aud its tokens must contain; empty: this server's issuer identifier." })),
      h("div", { class: "actions" }, h("button", { type: "submit" }, "Add identity")));
    form.elements.issuer.addEventListener("change", () => {
      subject.querySelector(".hint").textContent = SUBJECT_HINTS[kindOf.get(form.elements.issuer.value)] || SUBJECT_HINTS.oidc;
    });
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      clearErrors(form);
      const body = { issuer: form.elements.issuer.value, subject: form.elements.subject.value.trim() };
      const audience = form.elements.audience.value.trim();
      if (audience) body.audience = audience;
      try {
        await api.post(`${ctx.path}/federated-identities`, body);
        await ctx.done("Federated identity added.");
      } catch (err) { showError(form, err, { near: err.status === 409 ? "subject" : undefined }); }
    });
    return form;
  },
};
