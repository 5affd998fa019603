import { api } from "../api.js";
import { h, field, page, table, when, fmtChange } from "../ui.js";

const PAGE = 25;
const SCAN_LIMIT = 40; // server pages read at most per console page while filtering

function changesList(changes) {
  const entries = Object.entries(changes || {});
  if (!entries.length) return h("span", { class: "muted" }, "—");
  return h("ul", { class: "changes" }, entries.map(([k, v]) => h("li", {}, h("code", {}, k), ": ", fmtChange(k, v))));
}

const START = () => ({ target: "", actor: "", cursors: [{ next: null, skip: 0 }], index: 0 });

// Newest first (the server's order). Filters match a substring of the target and of the
// actor; the server has no filter, so the browser reads pages until it has enough.
// `scope`: a target every record shown must contain (an app's audit tab).
export function auditBrowser({ scope = "" } = {}) {
  const container = h("div", { class: "audit" });
  async function show(state = START()) {
    container.replaceChildren(h("p", { class: "muted" }, "Loading…"));
    const wanted = (r) => (!scope || (r.target || "").includes(scope))
      && (!state.target || (r.target || "").includes(state.target)) && (!state.actor || (r.actor || "").includes(state.actor));
    const items = [];
    // A position is a server cursor plus how many records of that server page were shown.
    let { next: pageCursor, skip } = state.cursors[state.index];
    let resume = null;
    scan: for (let reads = 0; reads < SCAN_LIMIT; reads++) {
      const got = await api.get("/audit", { limit: 50, next: pageCursor });
      for (let i = skip; i < got.items.length; i++) {
        if (!wanted(got.items[i])) continue;
        items.push(got.items[i]);
        if (items.length === PAGE) {
          resume = i + 1 < got.items.length ? { next: pageCursor, skip: i + 1 } : got.next ? { next: got.next, skip: 0 } : null;
          break scan;
        }
      }
      skip = 0;
      if (!got.next) { resume = null; break; }
      pageCursor = got.next;
      resume = { next: pageCursor, skip: 0 };
    }
    const next = resume;
    const rows = items.map((r) => h("tr", {}, h("td", {}, when(r.time)), h("td", {}, h("code", {}, r.actor)), h("td", {}, r.action), h("td", {}, h("code", {}, r.target)), h("td", {}, changesList(r.changes))));
    const form = h("form", { class: "panel", role: "search", "aria-label": "Filter the audit log" },
      h("div", { class: "row" },
        field({ label: "Target contains", name: "target", value: state.target, placeholder: scope ? "grants, secrets, keys…" : "client id, API id, kid" }),
        field({ label: "Actor contains", name: "actor", value: state.actor, placeholder: "arn:aws:iam::…" })),
      h("div", { class: "actions" }, h("button", { type: "submit", class: "primary" }, "Filter"),
        h("button", { type: "button", onclick: () => show() }, "Clear")));
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      show({ ...START(), target: form.elements.target.value.trim(), actor: form.elements.actor.value.trim() });
    });
    const older = h("button", { type: "button", disabled: !next }, "Older");
    older.addEventListener("click", () => show({ ...state, cursors: [...state.cursors.slice(0, state.index + 1), next], index: state.index + 1 }));
    const newer = h("button", { type: "button", disabled: state.index === 0 }, "Newer");
    newer.addEventListener("click", () => show({ ...state, index: state.index - 1 }));
    container.replaceChildren(form,
      table(["Time", "Actor", "Action", "Target", "Changes"], rows, "Audit records, newest first"),
      h("nav", { class: "pager", "aria-label": "Audit pages" }, newer, h("span", {}, `Page ${state.index + 1}`), older));
  }
  return { container, show };
}

export async function auditPage() {
  const browser = auditBrowser();
  page("Audit", browser.container);
  await browser.show();
}
