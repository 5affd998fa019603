// Secrets created in this browser tab, for "Try it". Kept in memory only (never in
// storage): reloading the page forgets them, as the server does not keep them either.
export const recentSecrets = new Map();

// A message for the next page shown (after a navigation), shown once.
export const flash = {
  text: null,
  take() { const text = this.text; this.text = null; return text; },
};

// Which navigation the page belongs to: the router counts each one. A page drawn again
// after an action (an app tab's `done`) draws only if no navigation came in between, so a
// slow redraw of the page left behind never replaces the page navigated to.
export const navigation = { count: 0 };
