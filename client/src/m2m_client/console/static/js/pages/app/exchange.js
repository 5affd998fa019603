// The Token exchange tab (RFC 8693, docs/token-exchange.md): which tokens this app may
// exchange for tokens of another API. A policy is its own resource per target API (PUT
// and DELETE .../exchange-policies/{api_id}, each with its version), not a field of the
// app, so it has a tab of its own rather than a widget in Settings.
import { api, ApiError } from "../../api.js";
import { h, field, table, showError, clearErrors, confirmInline, when } from "../../ui.js";

const MAX_ACT_DEPTH = 5;

export async function render(ctx) {
  const [policies, apis, issuers] = await Promise.all([
    api.all(`${ctx.path}/exchange-policies`), api.all("/apis"), api.all("/issuers"),
  ]);
  const nameOf = new Map(apis.map((a) => [a.identifier, a.name]));
  const list = h("section", { class: "panel", "aria-labelledby": "exchange-title", "data-testid": "exchange-policies" },
    h("h2", { id: "exchange-title" }, "Token exchange policies"),
    h("p", { class: "muted" }, "This app may trade a token it received (the subject token) for a token of a target API, for the subject. ",
      "The new token's scopes are the policy's, and never more than the subject's own grant for the target."));
  const rows = policies.map((p) => {
    const target = nameOf.get(p.target_audience) || p.target_audience;
    const remove = h("button", { type: "button", class: "danger", "aria-label": `Remove the exchange policy for ${target}` }, "Remove");
    remove.addEventListener("click", async () => {
      if (!(await confirmInline(remove, `Stop this app exchanging tokens for ${target}?`, "Remove"))) return;
      try {
        await api.del(`${ctx.path}/exchange-policies/${api.seg(p.target_api_id)}`, p.version);
        await ctx.done("Exchange policy removed.");
      } catch (err) { showError(list, err, { reload: ctx.reload }); }
    });
    return h("tr", {},
      h("td", {}, h("strong", {}, target), " ", h("code", { class: "muted" }, p.target_audience)),
      h("td", {}, p.scopes.join(" ")),
      h("td", {}, [...p.source_audiences.map((s) => nameOf.get(s) || s), ...p.source_issuers].join(", ")),
      h("td", {}, [p.delegation ? "delegation" : null, p.impersonation ? "impersonation" : null].filter(Boolean).join(" + ")),
      h("td", {}, String(p.max_act_depth)),
      h("td", {}, when(p.updated_at)),
      h("td", {}, remove));
  });
  list.append(table(["Target API", "Scopes", "Subject tokens from", "Mode", "Longest act chain", "Updated", "Remove"], rows, "Exchange policies"));
  if (!apis.length) {
    list.append(h("p", {}, "No APIs yet. ", h("a", { href: "#/apis" }, "Create one first.")));
    return list;
  }
  return [list, policyForm(ctx, apis, issuers, policies)];
}

// One form sets a policy: choosing a target that has one loads it for editing (saved
// with If-Match: its version), so a stale edit is refused, not silently overwritten.
function policyForm(ctx, apis, issuers, policies) {
  const byTarget = new Map(policies.map((p) => [p.target_api_id, p]));
  const scopes = h("fieldset", { class: "row choices" });
  scopes.dataset.field = "scopes";
  const form = h("form", { class: "panel", novalidate: true, "aria-labelledby": "policy-title" },
    h("h2", { id: "policy-title" }, "Set an exchange policy"),
    h("div", { class: "row" },
      field({ label: "Target API", name: "target", select: true, options: apis.map((a) => [a.id, a.name]),
        hint: "The API the exchanged token is for. Choosing one with a policy loads it." })),
    scopes,
    h("fieldset", { class: "row choices" }, h("legend", {}, "Source APIs: their access tokens may be exchanged"),
      apis.map((a) => field({ label: a.name, name: "source_apis", type: "checkbox", value: a.id }))),
    h("fieldset", { class: "row choices" }, h("legend", {}, "Source issuers: their workload JWTs may be exchanged"),
      issuers.length ? issuers.map((i) => field({ label: i.name || i.issuer, name: "source_issuers", type: "checkbox", value: i.issuer, hint: i.issuer }))
        : h("p", { class: "muted" }, "No trusted issuer. ", h("a", { href: "#/issuers" }, "Trust one"), " to exchange workload tokens.")),
    h("div", { class: "row" },
      field({ label: "Delegation", name: "delegation", type: "checkbox", hint: "The token names this app as the actor (act)." }),
      field({ label: "Impersonation", name: "impersonation", type: "checkbox", hint: "Without actor_token, the token carries no new act." }),
      field({ label: "Longest act chain", name: "max_act_depth", type: "number", min: 1, max: MAX_ACT_DEPTH, hint: `1 to ${MAX_ACT_DEPTH}: how many hops of actors a token may name.` })),
    h("div", { class: "actions" }, h("button", { type: "submit", class: "primary" }, "Save policy")));
  const el = form.elements;
  const load = () => {
    const target = apis.find((a) => a.id === el.target.value);
    const policy = byTarget.get(target.id);
    scopes.replaceChildren(h("legend", {}, `Scopes of ${target.name} the exchanged token may carry`),
      ...(target.scopes.length ? target.scopes.map((s) => field({ label: s.value, name: "scope", type: "checkbox", value: s.value, checked: Boolean(policy && policy.scopes.includes(s.value)), hint: s.description || undefined }))
        : [h("p", { class: "muted" }, "This API has no scopes.")]));
    for (const box of form.querySelectorAll("input[name=source_apis]")) box.checked = Boolean(policy && policy.source_apis.includes(box.value));
    for (const box of form.querySelectorAll("input[name=source_issuers]")) box.checked = Boolean(policy && policy.source_issuers.includes(box.value));
    el.delegation.checked = policy ? policy.delegation : true;
    el.impersonation.checked = policy ? policy.impersonation : false;
    el.max_act_depth.value = String(policy ? policy.max_act_depth : 1);
  };
  el.target.addEventListener("change", () => { clearErrors(form); load(); });
  load();
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearErrors(form);
    const checked = (name) => [...form.querySelectorAll(`input[name=${name}]:checked`)].map((i) => i.value);
    const body = {
      scopes: checked("scope"),
      source_apis: checked("source_apis"),
      source_issuers: checked("source_issuers"),
      delegation: el.delegation.checked,
      impersonation: el.impersonation.checked,
      max_act_depth: Number(el.max_act_depth.value || 1),
    };
    if (!body.scopes.length) {
      showError(form, new ApiError(0, { detail: "Choose at least one scope of the target.", errors: [{ field: "scopes", message: "choose at least one scope" }] }));
      return;
    }
    const existing = byTarget.get(el.target.value);
    try {
      await api.put(`${ctx.path}/exchange-policies/${api.seg(el.target.value)}`, body, existing ? existing.version : undefined);
      await ctx.done("Exchange policy saved.");
    } catch (err) { showError(form, err, { reload: ctx.reload }); }
  });
  return form;
}
