// The Credentials tab: one section per way an app authenticates. Each kind is a module
// (kinds/*.js) describing its items, its table columns, how to add one and how to
// remove one; this file draws them all the same way. A new kind of credential is one
// more module and one more line in KINDS.
import { h, table, showError, confirmInline } from "../../ui.js";
import { secrets } from "./kinds/secrets.js";
import { publicKeys } from "./kinds/keys.js";
import { awsPrincipals } from "./kinds/aws.js";
import { federatedIdentities } from "./kinds/federated.js";
import { tlsClients } from "./kinds/tls.js";

export const KINDS = [secrets, publicKeys, awsPrincipals, federatedIdentities, tlsClients];

function section(kind, ctx, items) {
  const titleId = `${kind.id}-title`;
  const el = h("section", { class: "panel credential", "data-kind": kind.id, "aria-labelledby": titleId },
    h("h2", { id: titleId }, kind.title),
    h("p", { class: "muted" }, kind.intro, " ", h("span", { class: "method" }, `(${kind.method})`)));
  const rows = items.map((item) => {
    const what = kind.describe(item);
    const remove = h("button", { type: "button", class: "danger", "aria-label": `${kind.removeLabel} ${what}` }, kind.removeLabel);
    remove.addEventListener("click", async () => {
      if (!(await confirmInline(remove, `${kind.removeLabel} ${what}? ${kind.removeEffect}`, kind.removeLabel))) return;
      try {
        await kind.remove(ctx, item);
        await ctx.done(`${kind.removed}.`);
      } catch (err) { showError(el, err, { reload: ctx.reload }); }
    });
    return h("tr", {}, kind.columns.map(([, cell]) => h("td", {}, cell(item))), h("td", {}, remove));
  });
  el.append(table([...kind.columns.map(([name]) => name), "Remove"], rows, kind.title));
  el.append(kind.addForm(ctx, el));
  return el;
}

export async function render(ctx) {
  const loaded = await Promise.all(KINDS.map((kind) => kind.load(ctx)));
  const total = loaded.reduce((n, items) => n + items.length, 0);
  return [
    total ? null : h("div", { class: "alert warn", role: "status" }, "This app has no credential yet: add a secret, a public key, an AWS principal, a federated identity or a TLS client certificate below."),
    KINDS.map((kind, i) => section(kind, ctx, loaded[i])),
  ];
}
