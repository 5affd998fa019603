// Secrets created in this browser tab, for "Try it". Kept in memory only (never in
// storage): reloading the page forgets them, as the server does not keep them either.
export const recentSecrets = new Map();

// A message for the next page shown (after a navigation), shown once.
export const flash = {
  text: null,
  take() { const text = this.text; this.text = null; return text; },
};
