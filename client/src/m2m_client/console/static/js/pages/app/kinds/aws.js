// AWS principals (aws_sigv4, docs/aws-iam-auth.md): an IAM role or user that
// authenticates as the app with a signed sts:GetCallerIdentity; no secret at all.
import { api } from "../../../api.js";
import { h, field, clearErrors, showError, when } from "../../../ui.js";

export const awsPrincipals = {
  id: "aws-principals",
  title: "AWS principals",
  one: "AWS principal",
  many: "AWS principals",
  method: "aws_sigv4",
  intro: "IAM roles or users that authenticate as this app by signing sts:GetCallerIdentity (a Lambda function with its role, m2m_client.AwsIam). A session of an assumed role authenticates as the role.",
  load: (ctx) => api.all(`${ctx.path}/aws-principals`),
  columns: [
    ["ARN", (p) => h("code", {}, p.arn)],
    ["Matches", (p) => h("code", {}, p.principal)],
    ["Added", (p) => when(p.created_at)],
  ],
  describe: (p) => `AWS principal ${p.arn}`,
  removeLabel: "Remove",
  removeEffect: "It can no longer authenticate as this app.",
  removed: "AWS principal removed",
  remove: (ctx, p) => api.del(`${ctx.path}/aws-principals/${api.seg(p.id)}`),
  addForm(ctx) {
    const form = h("form", { novalidate: true, "aria-label": "Add an AWS principal" },
      h("div", { class: "row" }, field({ label: "IAM role or user ARN", name: "arn", placeholder: "arn:aws:iam::123456789012:role/billing-worker", spellcheck: "false" })),
      h("div", { class: "actions" }, h("button", { type: "submit" }, "Add principal")));
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      clearErrors(form);
      try {
        await api.post(`${ctx.path}/aws-principals`, { arn: form.elements.arn.value.trim() });
        await ctx.done("AWS principal added.");
      } catch (err) { showError(form, err, { near: err.status === 409 ? "arn" : undefined }); }
    });
    return form;
  },
};
