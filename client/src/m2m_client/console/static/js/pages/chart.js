// A small SVG bar chart of fresh tokens per hour (GET /admin/apps/{id}/usage), with a
// text summary for screen readers and a table fallback.
import { h } from "../ui.js";

const NS = "http://www.w3.org/2000/svg";
const svg = (tag, attrs = {}, ...children) => {
  const el = document.createElementNS(NS, tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, String(v));
  el.append(...children);
  return el;
};

export function usageChart(usage) {
  const hours = usage.hourly || [];
  const counts = hours.map((x) => x.count);
  const quota = usage.quota || null;
  const limit = quota && quota.per_hour ? quota.per_hour : null;
  const max = Math.max(1, ...counts, limit || 0);
  const width = 480, height = 100, gap = 1;
  const barWidth = hours.length ? width / hours.length : width;
  const total24 = counts.slice(-24).reduce((a, b) => a + b, 0);
  const current = counts.length ? counts[counts.length - 1] : 0;
  const summary = `${total24} fresh tokens in the last 24 hours; ${current} this hour` + (limit ? ` (quota ${limit} per hour${quota.enforce === false ? ", monitor only" : ""})` : "") + ".";
  const chart = svg("svg", { class: "chart", viewBox: `0 0 ${width} ${height + 2}`, role: "img", "aria-label": `Fresh tokens per hour, last ${hours.length} hours. ${summary}`, preserveAspectRatio: "none" },
    svg("line", { x1: 0, y1: height, x2: width, y2: height }),
    ...hours.map((x, i) => {
      const bar = svg("rect", { class: "bar", x: i * barWidth + gap / 2, width: Math.max(1, barWidth - gap), y: height - (x.count / max) * height, height: (x.count / max) * height });
      bar.append(svg("title", {}, `${x.start}: ${x.count}`));
      return bar;
    }),
    ...(limit ? [svg("line", { class: "quota", x1: 0, x2: width, y1: height - (limit / max) * height, y2: height - (limit / max) * height })] : []));
  const quotaText = quota
    ? `Quota: ${quota.per_hour ?? "—"} per hour, ${quota.per_day ?? "—"} per day, ${quota.enforce === false ? "monitor only" : "enforced"}.`
    : "No quota.";
  return h("div", {}, h("p", {}, quotaText), h("p", { "data-testid": "usage-summary" }, summary), chart,
    h("p", { class: "hint" }, "Fresh (newly signed) tokens per UTC hour, oldest left; reused tokens are not counted."));
}
