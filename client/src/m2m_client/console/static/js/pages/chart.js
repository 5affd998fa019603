// An SVG bar chart of fresh tokens per window (GET /admin/apps/{id}/usage): a y axis with
// a scale, an x axis with dates, each bar's value above it (and in its tooltip), the
// quota as a dashed line, a text summary for screen readers and the numbers as a table.
import { h, table, fmtTime } from "../ui.js";

const NS = "http://www.w3.org/2000/svg";
const svg = (tag, attrs = {}, ...children) => {
  const el = document.createElementNS(NS, tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, String(v));
  el.append(...children);
  return el;
};

// A "nice" axis maximum and step (1, 2 or 5 times a power of ten) for values up to max.
export function scale(max, ticks = 4) {
  if (max <= 0) return { top: ticks, step: 1 };
  const raw = max / ticks;
  const power = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * power).find((s) => s >= raw);
  return { top: Math.max(step, Math.ceil(max / step) * step), step: Math.max(1, step) };
}

const HOUR = new Intl.DateTimeFormat("en-GB", { timeZone: "UTC", hour: "2-digit", minute: "2-digit", hourCycle: "h23" });
const DAY = new Intl.DateTimeFormat("en-GB", { timeZone: "UTC", day: "2-digit", month: "short" });

// windows: [{start, count}] oldest first; unit: "hour" | "day"; limit: the quota or null.
export function barChart({ windows, unit, limit, title }) {
  const W = 640, H = 220, left = 44, right = 24, top = 18, bottom = 34;
  const plotW = W - left - right, plotH = H - top - bottom;
  const counts = windows.map((w) => w.count);
  const { top: yMax, step } = scale(Math.max(0, ...counts, limit || 0));
  const y = (v) => top + plotH - (v / yMax) * plotH;
  const slot = windows.length ? plotW / windows.length : plotW;
  const label = (start) => (unit === "hour" ? HOUR : DAY).format(new Date(start));
  const every = unit === "hour" ? 6 : 5;  // an x label every 6 hours / 5 days
  const parts = [];
  for (let v = 0; v <= yMax; v += step) {
    parts.push(svg("line", { class: "grid", x1: left, x2: W - right, y1: y(v), y2: y(v) }),
      svg("text", { class: "tick", x: left - 6, y: y(v) + 4, "text-anchor": "end" }, String(v)));
  }
  windows.forEach((w, i) => {
    const x = left + i * slot;
    const height = (w.count / yMax) * plotH;
    const bar = svg("rect", { class: "bar", x: x + 1, width: Math.max(1, slot - 2), y: y(w.count), height });
    bar.append(svg("title", {}, `${fmtTime(w.start)}: ${w.count}`));
    parts.push(bar);
    if (w.count > 0 && slot >= 9) parts.push(svg("text", { class: "value", x: x + slot / 2, y: y(w.count) - 3, "text-anchor": "middle" }, String(w.count)));
    if ((windows.length - 1 - i) % every === 0) {
      parts.push(svg("line", { class: "axis", x1: x + slot / 2, x2: x + slot / 2, y1: top + plotH, y2: top + plotH + 4 }),
        svg("text", { class: "tick", x: x + slot / 2, y: H - bottom + 18, "text-anchor": "middle" }, label(w.start)));
    }
  });
  parts.push(svg("line", { class: "axis", x1: left, x2: W - right, y1: top + plotH, y2: top + plotH }),
    svg("line", { class: "axis", x1: left, x2: left, y1: top, y2: top + plotH }),
    svg("text", { class: "axis-title", x: left, y: 11 }, "tokens"),
    svg("text", { class: "axis-title", x: W - right, y: H - 2, "text-anchor": "end" }, unit === "hour" ? "hour (UTC)" : "day (UTC)"));
  if (limit) {
    parts.push(svg("line", { class: "quota", x1: left, x2: W - right, y1: y(limit), y2: y(limit) }),
      svg("text", { class: "quota-label", x: W - right, y: y(limit) - 4, "text-anchor": "end" }, `quota ${limit}`));
  }
  const total = counts.reduce((a, b) => a + b, 0);
  const peak = Math.max(0, ...counts);
  const summary = `${title}: ${total} fresh tokens in ${windows.length} ${unit}s, at most ${peak} in one ${unit}${limit ? `; quota ${limit} per ${unit}` : ""}.`;
  return h("figure", { class: "chart-figure" },
    svg("svg", { class: "chart", viewBox: `0 0 ${W} ${H}`, role: "img", "aria-label": summary }, ...parts),
    h("figcaption", { class: "hint" }, summary),
    h("details", {}, h("summary", {}, `The numbers (${unit}s with tokens)`),
      table([unit === "hour" ? "Hour (UTC)" : "Day (UTC)", "Fresh tokens"],
        windows.filter((w) => w.count > 0).map((w) => h("tr", {}, h("td", {}, fmtTime(w.start)), h("td", {}, String(w.count)))),
        `Fresh tokens per ${unit}`)));
}

export function usageChart(usage) {
  const quota = usage.quota || null;
  const hourly = usage.hourly || [];
  const current = hourly.length ? hourly[hourly.length - 1].count : 0;
  const total24 = hourly.slice(-24).reduce((a, w) => a + w.count, 0);
  const limitHour = quota && quota.per_hour ? quota.per_hour : null;
  const summary = `${total24} fresh tokens in the last 24 hours; ${current} this hour` +
    (limitHour ? ` (quota ${limitHour} per hour${quota.enforce === false ? ", monitor only" : ""})` : "") + ".";
  const quotaText = quota
    ? `Quota: ${quota.per_hour ?? "—"} per hour, ${quota.per_day ?? "—"} per day, ${quota.enforce === false ? "monitor only" : "enforced"}.`
    : "No quota.";
  return h("div", {},
    h("p", {}, quotaText), h("p", { "data-testid": "usage-summary" }, summary),
    h("h3", {}, "Per hour, last 48 hours"),
    barChart({ windows: hourly, unit: "hour", limit: limitHour, title: "Fresh tokens per hour" }),
    h("h3", {}, "Per day, last 30 days"),
    barChart({ windows: usage.daily || [], unit: "day", limit: quota && quota.per_day ? quota.per_day : null, title: "Fresh tokens per day" }),
    h("p", { class: "hint" }, "Fresh (newly signed) tokens per UTC window, oldest left; reused tokens are not counted."));
}
