// One app: a header, section tabs (#/apps/ID/TAB), and the tab's content. Each tab is a
// module exporting `render(ctx)`; ctx carries the app as loaded and helpers to reload.
import { api } from "../../api.js";
import { flash, navigation } from "../../state.js";
import { h, page, loading, tabs, notice as noticeBox, announce } from "../../ui.js";
import { statusBadge } from "../apps.js";
import * as overview from "./overview.js";
import * as credentials from "./credentials.js";
import * as grants from "./grants.js";
import * as exchange from "./exchange.js";
import * as settings from "./settings.js";
import * as usage from "./usage.js";
import * as audit from "./audit.js";

export const TABS = [
  ["overview", "Overview", overview],
  ["credentials", "Credentials", credentials],
  ["apis", "APIs", grants],
  ["exchange", "Token exchange", exchange],
  ["settings", "Settings", settings],
  ["usage", "Usage", usage],
  ["audit", "Audit", audit],
];

export const appHref = (clientId, tab = "overview") =>
  `#/apps/${encodeURIComponent(clientId)}${tab === "overview" ? "" : "/" + tab}`;

export async function appPage(clientId, tab = "overview", notice = flash.take()) {
  const entry = TABS.find(([id]) => id === tab);
  if (!entry) return page("Not found", h("p", {}, h("a", { href: appHref(clientId) }, "Back to the app")));
  const drawn = navigation.count;
  const current = () => navigation.count === drawn;
  loading("App");
  const path = `/apps/${api.seg(clientId)}`;
  const app = await api.get(path);
  const ctx = {
    app,
    clientId,
    path,
    // Show this tab again with the app as it is now, and a message (announced too);
    // false when the user has moved on meanwhile (nothing is drawn or announced then).
    done: async (message) => {
      if (!current()) return false;
      await appPage(clientId, tab, message);
      if (!current()) return false;
      if (message) announce(message);
      return true;
    },
    reload: () => appPage(clientId, tab),
  };
  const content = await entry[2].render(ctx);
  if (!current()) return;  // navigated elsewhere while this loaded
  page(app.name,
    h("p", {}, h("a", { href: "#/apps" }, "← All apps")),
    h("p", { class: "app-id" }, statusBadge(app), " client_id ", h("code", { "data-testid": "client-id" }, app.client_id),
      app.description ? h("span", { class: "muted" }, ` — ${app.description}`) : null),
    tabs(`Sections of ${app.name}`, TABS.map(([id, text]) => [id, text, appHref(clientId, id)]), tab),
    noticeBox(notice),
    content);
}
