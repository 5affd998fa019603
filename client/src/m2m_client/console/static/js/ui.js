// Small DOM helpers: elements are built with textContent, never from HTML strings.

import { ApiError } from "./api.js";

export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key.startsWith("on") && typeof value === "function") el.addEventListener(key.slice(2), value);
    else if (key === "class") el.className = value;
    else if (key in el && typeof value !== "string") el[key] = value;
    else el.setAttribute(key, value === true ? "" : String(value));
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

let ids = 0;
export const uid = (prefix = "f") => `${prefix}-${++ids}`;

export function announce(text) {
  const status = document.getElementById("status");
  if (status) status.textContent = text;
}

// A labelled field: {label, name, type, value, hint, required, ...input attributes}.
export function field({ label, name, type = "text", hint, textarea, select, options = [], ...rest }) {
  const id = uid(name);
  let input;
  if (select) {
    input = h("select", { id, name, ...rest }, options.map(([value, text]) => h("option", { value, selected: String(rest.value) === value }, text)));
  } else if (textarea) {
    input = h("textarea", { id, name, ...rest });
    if (rest.value !== undefined) input.value = rest.value;
  } else {
    input = h("input", { id, name, type, ...rest });
  }
  input.dataset.field = name;
  const hintId = hint ? `${id}-hint` : null;
  if (hintId) input.setAttribute("aria-describedby", hintId);
  if (type === "checkbox") {
    return h("div", { class: "field check" }, input, h("label", { for: id }, label), hint ? h("span", { class: "hint", id: hintId }, hint) : null);
  }
  return h("div", { class: "field" }, h("label", { for: id }, label), input, hint ? h("span", { class: "hint", id: hintId }, hint) : null);
}

export function clearErrors(container) {
  container.querySelectorAll(".field-error, .form-alert").forEach((el) => el.remove());
  container.querySelectorAll("[aria-invalid]").forEach((el) => {
    el.removeAttribute("aria-invalid");
    const described = (el.getAttribute("aria-describedby") || "").split(" ").filter((id) => !id.endsWith("-err"));
    if (described.length) el.setAttribute("aria-describedby", described.join(" "));
    else el.removeAttribute("aria-describedby");
  });
}

// Find the input a problem's `errors[].field` names: exact, then its first path part.
function inputFor(container, name) {
  if (!name) return null;
  const candidates = [name, name.replace(/\[\d+\].*$/, ""), name.split(".")[0]];
  for (const candidate of candidates) {
    const el = container.querySelector(`[data-field="${CSS.escape(candidate)}"]`);
    if (el) return el;
  }
  return null;
}

// Show an error next to the fields it concerns (RFC 9457 `errors`), or at the top of the
// form; a 412 says someone else changed the item and offers `reload`.
export function showError(container, err, { reload, near } = {}) {
  clearErrors(container);
  if (!(err instanceof ApiError)) {
    container.prepend(h("div", { class: "alert form-alert", role: "alert" }, String(err && err.message || err)));
    return;
  }
  if (err.status === 412 && reload) {
    container.prepend(h("div", { class: "alert warn form-alert", role: "alert" },
      "Someone else changed this item since you opened it; your change was not saved. ",
      h("button", { type: "button", onclick: reload }, "Reload the current version")));
    return;
  }
  const problem = err.problem || {};
  const listed = Array.isArray(problem.errors) ? problem.errors : [];
  let placed = 0;
  for (const item of listed) {
    const input = inputFor(container, item.field);
    if (!input) continue;
    const id = uid("e") + "-err";
    input.setAttribute("aria-invalid", "true");
    input.setAttribute("aria-describedby", `${input.getAttribute("aria-describedby") || ""} ${id}`.trim());
    const where = input.closest(".field") || input;
    where.append(h("p", { class: "field-error", id }, item.message));
    placed++;
  }
  const rest = listed.filter((item) => !inputFor(container, item.field)).map((item) => `${item.field ? item.field + ": " : ""}${item.message}`);
  let summary = `${err.status ? "HTTP " + err.status + " " : ""}${problem.title ? problem.title + ": " : ""}${err.message}`;
  if (err.status === 409) summary = `Conflict: ${err.message}`;
  const alert = h("div", { class: "alert form-alert", role: "alert" }, summary, rest.length ? h("ul", {}, rest.map((r) => h("li", {}, r))) : null);
  const nearEl = near ? container.querySelector(`[data-field="${CSS.escape(near)}"]`) : null;
  if (nearEl && !placed) {
    const id = uid("e") + "-err";
    nearEl.setAttribute("aria-invalid", "true");
    (nearEl.closest(".field") || nearEl).append(h("p", { class: "field-error", id }, summary));
    return;
  }
  container.prepend(alert);
}

// An inline confirmation: resolves true when the user confirms.
export function confirmInline(anchor, question, confirmLabel = "Delete") {
  return new Promise((resolve) => {
    anchor.parentElement.querySelectorAll(".confirm").forEach((el) => el.remove());
    const cancel = h("button", { type: "button", onclick: () => { box.remove(); anchor.focus(); resolve(false); } }, "Cancel");
    const ok = h("button", { type: "button", class: "danger", onclick: () => { box.remove(); resolve(true); } }, confirmLabel);
    const box = h("div", { class: "confirm", role: "alertdialog", "aria-label": question }, h("p", {}, question), h("div", { class: "actions" }, ok, cancel));
    anchor.after(box);
    ok.focus();
  });
}

export function secretPanel(title, clientId, secret) {
  const id = uid("secret");
  const input = h("input", { id, type: "text", readonly: true, value: secret, "data-testid": "new-secret", autocomplete: "off", spellcheck: "false" });
  const copied = h("span", { class: "hint", role: "status" });
  const copy = h("button", {
    type: "button",
    onclick: async () => {
      try { await navigator.clipboard.writeText(secret); copied.textContent = "Copied."; }
      catch { input.select(); document.execCommand("copy"); copied.textContent = "Copied (selected)."; }
    },
  }, "Copy secret");
  return h("section", { class: "panel secret-panel", "aria-label": title },
    h("h2", {}, title),
    h("div", { class: "alert warn", role: "alert" }, "Copy this secret now: it is shown only once and cannot be retrieved again."),
    clientId ? h("p", {}, "client_id ", h("code", { "data-testid": "new-client-id" }, clientId)) : null,
    h("label", { for: id }, "client_secret"),
    h("div", { class: "secret-box" }, input, copy), copied);
}

// Dates: the admin API speaks RFC 3339 UTC ("2026-11-23T20:00:00Z"); people read
// "23 Nov 2026, 20:00 UTC", with the exact value in the element's title.
const DATE = new Intl.DateTimeFormat("en-GB", {
  timeZone: "UTC", year: "numeric", month: "short", day: "2-digit", hour: "2-digit", minute: "2-digit", hourCycle: "h23",
});
const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/;

export function fmtTime(t) {
  if (!t) return "—";
  const date = new Date(t);
  return Number.isNaN(date.getTime()) ? String(t) : `${DATE.format(date)} UTC`;
}

export function ago(t, now = Date.now()) {
  const seconds = Math.round((now - new Date(t).getTime()) / 1000);
  if (!Number.isFinite(seconds)) return "";
  const units = [[86400, "d"], [3600, "h"], [60, "min"]];
  for (const [size, unit] of units) if (Math.abs(seconds) >= size) return seconds > 0 ? `${Math.floor(seconds / size)} ${unit} ago` : `in ${Math.floor(-seconds / size)} ${unit}`;
  return seconds >= 0 ? "just now" : "in a moment";
}

// A <time> element: the formatted date, optionally how long ago; "—" (or `none`) when null.
export function when(t, { relative = false, none = "—" } = {}) {
  if (!t) return h("span", { class: "muted" }, none);
  return h("time", { datetime: t, title: t }, fmtTime(t), relative ? ` (${ago(t)})` : "");
}

// An audit change's value: epochs under time-like names and RFC 3339 strings as dates.
export function fmtChange(name, value) {
  if (Number.isInteger(value) && value > 1e9 && /(_at|_before|^time)$/.test(name)) return fmtTime(new Date(value * 1000).toISOString());
  if (typeof value === "string" && ISO.test(value)) return fmtTime(value);
  return typeof value === "string" ? value : JSON.stringify(value);
}

export const fmtSeconds = (s) => (s == null ? "default" : `${s} s`);

// A table; each cell carries its column's name, which the narrow layout shows beside it.
export function table(headers, rows, caption) {
  for (const row of rows) [...row.children].forEach((cell, i) => { if (headers[i]) cell.dataset.label = headers[i]; });
  return h("div", { class: "table-wrap" }, h("table", { class: "stack" },
    caption ? h("caption", { class: "visually-hidden" }, caption) : null,
    h("thead", {}, h("tr", {}, headers.map((x) => h("th", { scope: "col" }, x)))),
    h("tbody", {}, rows.length ? rows : h("tr", { class: "empty" }, h("td", { colspan: headers.length, class: "muted" }, "Nothing yet.")))));
}

// Section links drawn as tabs (each is its own location, so the back button and links work).
export function tabs(label, items, current) {
  return h("nav", { class: "tabs", "aria-label": label }, h("ul", {},
    items.map(([id, text, href]) => h("li", {}, h("a", { href, "aria-current": id === current ? "page" : undefined, "data-tab": id }, text)))));
}

// A labelled definition list of [term, value] pairs.
export function facts(pairs) {
  return h("dl", { class: "facts" }, pairs.filter(Boolean).map(([term, value]) => h("div", {}, h("dt", {}, term), h("dd", {}, value))));
}

export function notice(text) {
  return text ? h("div", { class: "alert ok", role: "status" }, text) : null;
}

export function page(title, ...children) {
  const main = document.getElementById("main");
  main.replaceChildren(h("h1", {}, title), ...children.flat(Infinity).filter((c) => c !== null && c !== undefined && c !== false));
  document.title = `${title} · m2m-auth console`;
  return main;
}

export function loading(title) {
  return page(title, h("p", { class: "muted" }, "Loading…"));
}
