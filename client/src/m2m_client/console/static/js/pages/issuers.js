// Trusted issuers of workload tokens (docs/federation.md): the list with each issuer's
// key set as the server fetches it, a form per preset, and deletion.
import { api } from "../api.js";
import { h, field, page, loading, table, showError, clearErrors, confirmInline, announce, when, notice as noticeBox } from "../ui.js";

// The server's presets (chalicelib/federation/issuers.py): what each needs, its defaults.
export const PRESETS = [
  { id: "eks", name: "Amazon EKS service accounts", singleUse: false, issuer: "https://oidc.eks.REGION.amazonaws.com/id/CLUSTER-ID",
    hint: "aws eks describe-cluster --name NAME --query cluster.identity.oidc.issuer --output text" },
  { id: "kubernetes", name: "Kubernetes service accounts", singleUse: false, issuer: "https://kubernetes.example.com",
    hint: "The cluster's service-account issuer (the iss of a projected token)." },
  { id: "github-actions", name: "GitHub Actions", singleUse: true, fixed: "https://token.actions.githubusercontent.com" },
  { id: "aws-outbound", name: "AWS outbound identity federation", singleUse: true, issuer: "https://ID.tokens.sts.global.api.aws",
    hint: "aws iam get-outbound-web-identity-federation-info (the account's issuer)." },
  { id: "spiffe", name: "SPIFFE trust domain", singleUse: false, spiffe: true },
  { id: "oidc", name: "Any OpenID provider", singleUse: true, issuer: "https://issuer.example.com" },
];

const STATES = {
  ok: ["ok", "Keys fetched"],
  stale: ["warn", "Stale: the last refresh failed; the last good keys are used"],
  unavailable: ["off", "Unavailable: the issuer did not answer"],
  refused: ["off", "Refused: its URL or address breaks the fetch rules"],
};

function keySetCell(issuer) {
  const cell = h("div", { class: "key-set", "data-testid": `key-set-${issuer.id}`, "aria-live": "polite" }, h("span", { class: "muted" }, "Checking…"));
  const check = async () => {
    try {
      const status = await api.get(`/issuers/${api.seg(issuer.id)}/keys`);
      const [tone, text] = STATES[status.state] || ["off", status.state];
      const again = h("button", { type: "button", class: "small", "aria-label": `Check again the keys of ${issuer.name}` }, "Check again");
      again.addEventListener("click", () => { cell.replaceChildren(h("span", { class: "muted" }, "Checking…")); check(); });
      cell.replaceChildren(
        h("span", { class: `badge ${tone}`, "data-state": status.state }, text),
        h("p", { class: "kids" }, status.keys.length ? `${status.keys.length} key${status.keys.length === 1 ? "" : "s"}: ` : "No keys",
          status.keys.map((k) => h("code", { title: [k.kty, k.crv, k.alg].filter(Boolean).join(" ") }, k.kid)).flatMap((c, i) => (i ? [", ", c] : [c]))),
        status.jwks_uri ? h("p", { class: "hint" }, "From ", h("code", {}, status.jwks_uri)) : null,
        h("p", { class: "hint" }, "Fetched ", when(status.fetched_at, { relative: true, none: "never" }),
          status.expires_at ? [", refreshed after ", when(status.expires_at)] : null),
        again);
    } catch (err) {
      cell.replaceChildren(h("span", { class: "badge off" }, `Not checked: ${err.message}`));
    }
  };
  check();
  return cell;
}

function presetFields(preset) {
  if (preset.spiffe) {
    return [
      field({ label: "Trust domain", name: "trust_domain", placeholder: "prod.example.com", spellcheck: "false" }),
      field({ label: "Bundle endpoint", name: "bundle_endpoint", placeholder: "https://spire.example.com/bundle", spellcheck: "false", hint: "Where the trust bundle (a JWKS) is fetched." }),
    ];
  }
  return [
    preset.fixed
      ? h("div", { class: "field" }, h("span", { class: "label" }, "Issuer"), h("code", {}, preset.fixed))
      : field({ label: "Issuer URL", name: "issuer", placeholder: preset.issuer, spellcheck: "false", hint: preset.hint }),
    field({ label: "Key set URL (optional)", name: "jwks_uri", spellcheck: "false", hint: "Empty: discovered from the issuer's /.well-known/openid-configuration." }),
  ];
}

function addForm() {
  const dependent = h("div", { class: "row" });
  const singleUse = field({ label: "Accept each token once (jti)", name: "single_use_jti", select: true, options: [] });
  const form = h("form", { class: "panel", "aria-labelledby": "add-issuer-title", novalidate: true },
    h("h2", { id: "add-issuer-title" }, "Trust an issuer"),
    h("div", { class: "row" },
      field({ label: "Preset", name: "preset", select: true, value: "eks", options: PRESETS.map((p) => [p.id, p.name]) }),
      field({ label: "Name (optional)", name: "name", hint: "Empty: the preset's name." })),
    dependent,
    h("div", { class: "row" },
      field({ label: "Longest token lifetime accepted (seconds)", name: "max_token_lifetime", type: "number", min: 60, max: 86400, hint: "Empty: 3600." }),
      singleUse),
    h("div", { class: "actions" }, h("button", { type: "submit", class: "primary" }, "Trust issuer")));
  const choose = () => {
    const preset = PRESETS.find((p) => p.id === form.elements.preset.value);
    clearErrors(form);
    dependent.replaceChildren(...presetFields(preset));
    form.elements.single_use_jti.replaceChildren(
      h("option", { value: "" }, `Preset default (${preset.singleUse ? "on" : "off"})`),
      h("option", { value: "true" }, "On: refuse a token seen before"),
      h("option", { value: "false" }, "Off: the platform reuses its tokens"));
  };
  form.elements.preset.addEventListener("change", choose);
  choose();
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearErrors(form);
    const el = form.elements;
    const body = { preset: el.preset.value };
    for (const name of ["name", "issuer", "jwks_uri", "trust_domain", "bundle_endpoint"]) {
      const value = el[name] ? el[name].value.trim() : "";
      if (value) body[name] = value;
    }
    if (el.max_token_lifetime.value.trim()) body.max_token_lifetime = Number(el.max_token_lifetime.value);
    if (el.single_use_jti.value) body.single_use_jti = el.single_use_jti.value === "true";
    try {
      const created = await api.post("/issuers", body);
      await issuersPage(`Trusted ${created.name} (${created.issuer}).`);
      announce(`Issuer ${created.name} trusted.`);
    } catch (err) { showError(form, err, { near: err.status === 409 ? (body.issuer ? "issuer" : "preset") : undefined }); }
  });
  return form;
}

export async function issuersPage(notice) {
  loading("Trusted issuers");
  const issuers = await api.all("/issuers");
  const list = h("section", { class: "panel", "aria-labelledby": "issuers-title" }, h("h2", { id: "issuers-title" }, "Issuers"));
  const rows = issuers.map((i) => {
    const del = h("button", { type: "button", class: "danger", "aria-label": `Delete issuer ${i.name}` }, "Delete");
    del.addEventListener("click", async () => {
      if (!(await confirmInline(del, `Stop trusting ${i.issuer}? Its workload tokens are refused at once.`))) return;
      try { await api.del(`/issuers/${api.seg(i.id)}`, i.version); await issuersPage(`${i.name} is no longer trusted.`); }
      catch (err) { showError(list, err, { reload: () => issuersPage() }); }
    });
    return h("tr", { "data-issuer": i.issuer },
      h("td", {}, h("strong", {}, i.name), h("br"), h("span", { class: "muted" }, i.kind)),
      h("td", {}, h("code", {}, i.issuer)),
      h("td", {}, i.single_use_jti ? "once" : "reusable"),
      h("td", {}, `${i.max_token_lifetime} s`),
      h("td", {}, keySetCell(i)),
      h("td", {}, when(i.created_at)),
      h("td", {}, del));
  });
  list.append(table(["Name", "Issuer", "Tokens", "Longest lifetime", "Key set", "Added", "Delete"], rows, "Trusted issuers"));
  page("Trusted issuers", noticeBox(notice),
    h("p", { class: "muted" }, "Platforms whose workload tokens apps may authenticate with, instead of a secret: EKS and Kubernetes service accounts, GitHub Actions, AWS roles, SPIFFE. An app names the exact subject it accepts on its Credentials tab."),
    list, addForm());
}
