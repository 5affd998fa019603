// The Usage tab: fresh tokens per hour and per day, against the app's quota.
import { api } from "../../api.js";
import { h } from "../../ui.js";
import { usageChart } from "../chart.js";

export async function render(ctx) {
  const usage = await api.get(`${ctx.path}/usage`);
  return h("section", { class: "panel", "aria-labelledby": "usage-title" }, h("h2", { id: "usage-title" }, "Usage"),
    usageChart(usage),
    h("p", {}, "Change the quota in ", h("a", { href: `#/apps/${encodeURIComponent(ctx.clientId)}/settings` }, "Settings"), "."));
}
